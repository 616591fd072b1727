# facescore — top-level build.
#   make            library + CLI into build/
#   make test       builds and runs the whole test suite (last line: "N passed, N failed, N skipped")
#   make asan       the same suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   make run        builds, then runs the main job on samples/face.jpg
#   make clean
#
# Every .c under src/ (except src/cli/) goes into libfacescore.a; every .c under tests/ into one
# test binary. Files under a folder named avx2/ or avx512/ are compiled with those ISA flags and only
# on x86-64; files under neon/ only on aarch64. Nothing else needs listing here.

# build in parallel by default (2 cores here)
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif

CC      ?= cc
BUILD   ?= build
OPT     ?= -O2
PKGS    := libjpeg libpng libwebp jansson libmicrohttpd sqlite3 libpq
PKG_CONFIG ?= pkg-config

ARCH := $(shell $(CC) -dumpmachine | cut -d- -f1)

WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS  ?=
CFLAGS  += -std=c11 $(OPT) -g $(WARN) -D_GNU_SOURCE -pthread -Iinclude -Isrc \
           -ffp-contract=off $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(EXTRA_CFLAGS)
LDLIBS  += $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm -pthread $(EXTRA_LDLIBS)

AVX2_FLAGS   := -mavx2 -mfma -mf16c
AVX512_FLAGS := -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma -mf16c

ALL_LIB_SRC := $(shell find src -name '*.c' ! -path 'src/cli/*' | sort)
# drop files of folders whose ISA this target lacks (filter-out takes one % only, hence findstring)
without = $(foreach f,$(1),$(if $(strip $(foreach d,$(2),$(findstring /$(d)/,$(f)))),,$(f)))
ifeq ($(ARCH),x86_64)
LIB_SRC := $(call without,$(ALL_LIB_SRC),neon)
else ifeq ($(ARCH),aarch64)
LIB_SRC := $(call without,$(ALL_LIB_SRC),avx2 avx512)
else
LIB_SRC := $(call without,$(ALL_LIB_SRC),avx2 avx512 neon)
endif
CLI_SRC  := $(shell find src/cli -name '*.c' | sort)
TEST_SRC := $(shell find tests -name '*.c' | sort)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
DEPS     := $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

LIB  := $(BUILD)/libfacescore.a
BIN  := $(BUILD)/facescore
TBIN := $(BUILD)/facescore_tests

.PHONY: all test asan clean run onnx-coverage test-browser
all: $(BIN)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(TBIN): $(TEST_OBJ) $(LIB)
	$(CC) $(CFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(if $(findstring /avx512/,$<),$(AVX512_FLAGS),$(if $(findstring /avx2/,$<),$(AVX2_FLAGS))) -MMD -MP -c $< -o $@

# The suite runs from the repository root; tests find ../shared (golden files, SCUT data) through
# FS_SHARED_DIR, default ../shared, and skip what is not there.
test: $(TBIN) $(BIN)
	FS_BIN=$(BIN) ./$(TBIN) $(TESTS)

# The main job on the shipped sample photo: find every face, score it, draw the boxes.
run: $(BIN)
	@mkdir -p out
	./$(BIN) score --draw out/face_scored.jpg samples/face.jpg
	@echo "annotated image: out/face_scored.jpg"

# Real-browser end-to-end test of the `serve` page: Debian /usr/bin/chromium + playwright-core (npm, pinned
# in tests/browser/package-lock.json; no browser download). Screenshot: out/browser/page.png.
test-browser: $(BIN)
	cd tests/browser && npm ci --silent && FS_BIN=$(abspath $(BIN)) node page.test.mjs

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow -fno-omit-frame-pointer" \
	  EXTRA_LDLIBS="-fsanitize=address,undefined,float-cast-overflow" test

# docs/onnx-coverage.md from a run of `facescore model check` over libonnx-testdata (tools/onnx_coverage.py)
onnx-coverage: $(BIN)
	/usr/bin/python3 tools/onnx_coverage.py $(BIN) > docs/onnx-coverage.md.tmp && mv docs/onnx-coverage.md.tmp docs/onnx-coverage.md

clean:
	rm -rf build build-asan

# more targets, one file per concern (cross build, install/packaging, fuzzing, ...)
-include $(sort $(wildcard mk/*.mk))

-include $(DEPS)

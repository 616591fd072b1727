# mk/fuzz.mk — libFuzzer targets for every parser of outside data (fuzz/fuzz_<name>.c).
#   make fuzz-build              library with -fsanitize=fuzzer-no-link,address,undefined (clang, build-fuzz/)
#                                and one binary per target: build-fuzz/fuzz_<name>
#   make fuzz [FUZZ_TIME=30] [FUZZ_TARGETS="image onnx"]
#                                runs each target for FUZZ_TIME seconds on a copy of its seed corpus
#                                (build-fuzz/corpus/<name>/, grows across runs; fuzz/corpus/ stays small);
#                                fails if any target crashes, times out (10 s per input) or passes 2 GiB.
#                                Crashing inputs land in build-fuzz/artifacts/<name>/; once fixed, commit them
#                                under fuzz/regress/<name>/ (replayed by tests/fuzz/test_fuzz_regress.c).
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_TIME    ?= 30
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_NAMES   := $(patsubst fuzz/fuzz_%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_CFLAGS  := -std=c11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -pthread -Iinclude -Isrc \
                -ffp-contract=off $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(FUZZ_SAN)

.PHONY: fuzz fuzz-build fuzz-lib
fuzz-lib:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) OPT=-O1 \
	  EXTRA_CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_BUILD)/libfacescore.a

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(wildcard fuzz/*.h) fuzz-lib
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libfacescore.a \
	  $(shell $(PKG_CONFIG) --libs $(PKGS)) -lm -pthread

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) fuzz/run.sh $(FUZZ_TIME) $(FUZZ_TARGETS)

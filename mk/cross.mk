# mk/cross.mk — aarch64 (Raspberry Pi 3/4/5, 64-bit OS) cross build with Debian's cross toolchain.
#   make cross-aarch64        library, CLI and test binary into build-aarch64/
#                             (build-aarch64/facescore, build-aarch64/facescore_tests)
#   scripts/test-qemu.sh      runs them under qemu-aarch64 (tests + parity with the x86 build)
#   make cross-aarch64-clean
# Needs gcc-aarch64-linux-gnu and the :arm64 -dev packages through multiarch (scripts/setup-debian.sh,
# last block). The Makefile takes ARCH from `$(CC) -dumpmachine`, so the neon/ folders are compiled
# and the avx2/avx512 ones left out. pkg-config reads only the arm64 .pc files (PKG_CONFIG_LIBDIR).

CROSS_AARCH64    ?= aarch64-linux-gnu-
CROSS_BUILD      ?= build-aarch64
CROSS_PKG_CONFIG ?= env PKG_CONFIG_LIBDIR=$(abspath $(CROSS_BUILD))/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig PKG_CONFIG_PATH= pkg-config

# libpq-dev cannot be installed for amd64 and arm64 at once (scripts/setup-debian.sh): a libpq.pc
# for the arm64 runtime library libpq5:arm64 with the (architecture-independent) amd64 headers.
$(CROSS_BUILD)/pkgconfig/libpq.pc:
	@mkdir -p $(dir $@)
	printf 'Name: libpq\nDescription: PostgreSQL client (arm64 runtime, shared headers)\nVersion: 15\nCflags: -I/usr/include/postgresql\nLibs: -L/usr/lib/aarch64-linux-gnu -l:libpq.so.5\n' > $@

.PHONY: cross-aarch64 cross-aarch64-clean
cross-aarch64: $(CROSS_BUILD)/pkgconfig/libpq.pc
	@command -v $(CROSS_AARCH64)gcc >/dev/null || { echo "cross-aarch64: $(CROSS_AARCH64)gcc missing (scripts/setup-debian.sh)"; exit 1; }
	@$(CROSS_PKG_CONFIG) --exists $(PKGS) || { echo "cross-aarch64: arm64 -dev packages missing (scripts/setup-debian.sh installs them)"; exit 1; }
	$(MAKE) CC=$(CROSS_AARCH64)gcc AR=$(CROSS_AARCH64)ar BUILD=$(CROSS_BUILD) \
	  PKG_CONFIG="$(CROSS_PKG_CONFIG)" $(CROSS_BUILD)/facescore $(CROSS_BUILD)/facescore_tests

cross-aarch64-clean:
	rm -rf $(CROSS_BUILD)

# Debian 12's gcc-aarch64-linux-gnu 12.2.0 hits an internal compiler error (vect_transform_reduction,
# tree-vect-loop.cc:7457) when it vectorizes a double fmax reduction over floats, a pattern the tests
# use for "max abs difference" (m = fmax(m, fabs(a[i] - b[i]))): no auto-vectorizing of the test
# objects in the aarch64 build. The library and CLI keep the normal flags; the x86 build is unchanged.
ifeq ($(ARCH),aarch64)
$(BUILD)/tests/%.o: EXTRA_CFLAGS += -fno-tree-vectorize
endif

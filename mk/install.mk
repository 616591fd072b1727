# mk/install.mk — install, uninstall and Debian packages (issue 7).
#   make install [PREFIX=/usr/local] [DESTDIR=]  bin/facescore, lib/libfacescore.a, include/facescore.h,
#                       lib/pkgconfig/facescore.pc, share/facescore/models/..., share/man/man1/facescore.1
#   make uninstall [PREFIX=...] [DESTDIR=]
#   make deb            out/facescore_<version>_<arch>.deb for this machine (amd64 here; arm64 on a Pi), hardened
#                       native build in build-deb-<arch>/, Depends from dpkg-shlibdeps
#   make deb-arm64      out/facescore_<version>_arm64.deb  (hardened cross build in build-deb-arm64/ with
#                       mk/cross.mk's compiler and arm64 pkg-config)
#   make deb-clean      removes build-deb-*/ and out/facescore_*.deb
# Tests: scripts/test-install.sh (install + a program built with pkg-config), scripts/test-deb.sh (the .deb
# on a clean Debian 12 debootstrap chroot, service started as its unit says, /healthz, score).
# The installed binary finds its models in <exe>/../share/facescore/models (src/score/paths.c,
# src/detect/detector.c, src/detect/haar_cascade.c); $FACESCORE_MODELS overrides.

PREFIX       ?= /usr/local
DESTDIR      ?=
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
FS_MODELSDIR  = $(DATADIR)/facescore/models
INSTALL      ?= install

FS_VERSION  := $(shell sed -n 's/^\#define FS_VERSION_STRING "\(.*\)"/\1/p' include/facescore.h)
# every file under models/ (weights, SOURCES.md, LICENSE, README), paths relative to models/
FS_MODEL_FILES = $(patsubst models/%,%,$(shell find models -type f | LC_ALL=C sort))

# .pc paths under PREFIX are written as ${prefix}/... (pkg-config --define-prefix / --define-variable work)
fs_pc_rel = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

# $(call fs_install_models,DEST_MODELS_DIR)
define fs_install_models
	$(INSTALL) -d -m 0755 $(1)
	set -e; for f in $(FS_MODEL_FILES); do $(INSTALL) -D -m 0644 models/$$f $(1)/$$f; done
endef

.PHONY: install uninstall deb deb-arm64 deb-clean
install: $(BIN) $(LIB)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	  $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/facescore
	$(INSTALL) -m 0644 $(LIB) $(DESTDIR)$(LIBDIR)/libfacescore.a
	$(INSTALL) -m 0644 include/facescore.h $(DESTDIR)$(INCLUDEDIR)/facescore.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(call fs_pc_rel,$(LIBDIR))|g' \
	  -e 's|@INCLUDEDIR@|$(call fs_pc_rel,$(INCLUDEDIR))|g' -e 's|@MODELSDIR@|$(call fs_pc_rel,$(FS_MODELSDIR))|g' \
	  -e 's|@VERSION@|$(FS_VERSION)|g' packaging/facescore.pc.in \
	  > $(DESTDIR)$(PKGCONFIGDIR)/facescore.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/facescore.pc
	$(call fs_install_models,$(DESTDIR)$(FS_MODELSDIR))
	$(INSTALL) -m 0644 docs/facescore.1 $(DESTDIR)$(MANDIR)/man1/facescore.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/facescore $(DESTDIR)$(LIBDIR)/libfacescore.a $(DESTDIR)$(INCLUDEDIR)/facescore.h \
	  $(DESTDIR)$(PKGCONFIGDIR)/facescore.pc $(DESTDIR)$(MANDIR)/man1/facescore.1
	rm -rf $(DESTDIR)$(DATADIR)/facescore

# ------------------------------------------------------------------ Debian packages
# One binary package "facescore" installing to /usr: the CLI, the models, the sample photo
# (/usr/share/facescore/samples), the man page, the systemd unit (/lib/systemd/system), copyright (every
# model's licence) and changelog. Built with dpkg-deb under fakeroot.
# The binaries get Debian's hardening flags (dpkg-buildflags: stack protector, _FORTIFY_SOURCE, relro, now);
# warnings stay warnings there (the normal build keeps -Werror).
DEB_REVISION ?= 1
DEB_VERSION  := $(FS_VERSION)-$(DEB_REVISION)
DEB_OUT      ?= out
DEB_HARDEN_CFLAGS := -fstack-protector-strong -Wformat -Werror=format-security -D_FORTIFY_SOURCE=2
DEB_HARDEN_LDLIBS := -Wl,-z,relro -Wl,-z,now
DEB_WARN          := -Wall -Wextra -Wno-unused-parameter
# arm64: the runtime libraries of build-deb-arm64/facescore (checked against its NEEDED entries below)
DEB_DEPENDS_ARM64 := libc6 (>= 2.34), libjansson4 (>= 2.14), libjpeg62-turbo (>= 1.3.1), \
  libmicrohttpd12 (>= 0.9.50), libpng16-16 (>= 1.6.2-1), libpq5, libsqlite3-0 (>= 3.8.7), libwebp7 (>= 1.2.4)

DEB_NATIVE_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
deb:
	@test -n "$(DEB_NATIVE_ARCH)" || { echo "deb: dpkg --print-architecture failed (needs dpkg-dev)"; exit 1; }
	$(MAKE) BUILD=build-deb-$(DEB_NATIVE_ARCH) WARN="$(DEB_WARN)" EXTRA_CFLAGS="$(DEB_HARDEN_CFLAGS)" \
	  EXTRA_LDLIBS="$(DEB_HARDEN_LDLIBS)" build-deb-$(DEB_NATIVE_ARCH)/facescore
	$(MAKE) --no-print-directory deb-package DEB_ARCH=$(DEB_NATIVE_ARCH) DEB_BIN=build-deb-$(DEB_NATIVE_ARCH)/facescore \
	  DEB_STRIP=strip DEB_SHLIBDEPS=1

# the CLI only (not the tests), with mk/cross.mk's cross compiler and arm64 pkg-config
# (mk/cross.mk generates the arm64 libpq.pc: libpq-dev is not co-installable for two architectures)
deb-arm64: $(CROSS_BUILD)/pkgconfig/libpq.pc
	@command -v $(CROSS_AARCH64)gcc >/dev/null || { echo "deb-arm64: $(CROSS_AARCH64)gcc missing (scripts/setup-debian.sh)"; exit 1; }
	$(MAKE) CC=$(CROSS_AARCH64)gcc AR=$(CROSS_AARCH64)ar BUILD=build-deb-arm64 PKG_CONFIG="$(CROSS_PKG_CONFIG)" \
	  WARN="$(DEB_WARN)" EXTRA_CFLAGS="$(DEB_HARDEN_CFLAGS)" EXTRA_LDLIBS="$(DEB_HARDEN_LDLIBS)" build-deb-arm64/facescore
	$(MAKE) --no-print-directory deb-package DEB_ARCH=arm64 DEB_BIN=build-deb-arm64/facescore \
	  DEB_STRIP=$(CROSS_AARCH64)strip

deb-clean:
	rm -rf build-deb-amd64 build-deb-arm64 $(DEB_OUT)/facescore_*.deb

# deb-package DEB_ARCH=... DEB_BIN=... DEB_STRIP=...: stage build-deb-$(DEB_ARCH)/pkg, then dpkg-deb.
DEB_STAGE = build-deb-$(DEB_ARCH)/pkg
DEB_FILE  = $(DEB_OUT)/facescore_$(DEB_VERSION)_$(DEB_ARCH).deb
.PHONY: deb-package
deb-package:
	@test -n "$(DEB_ARCH)" -a -x "$(DEB_BIN)" || { echo "deb-package: use make deb / make deb-arm64"; exit 1; }
	rm -rf $(DEB_STAGE) && mkdir -p $(DEB_STAGE)/DEBIAN $(DEB_OUT)
	$(INSTALL) -d -m 0755 $(DEB_STAGE)/usr/bin $(DEB_STAGE)/usr/share/man/man1 $(DEB_STAGE)/lib/systemd/system \
	  $(DEB_STAGE)/usr/share/doc/facescore
	$(INSTALL) -m 0755 $(DEB_BIN) $(DEB_STAGE)/usr/bin/facescore
	$(DEB_STRIP) --strip-unneeded --remove-section=.comment --remove-section=.note $(DEB_STAGE)/usr/bin/facescore
	$(call fs_install_models,$(DEB_STAGE)/usr/share/facescore/models)
	$(INSTALL) -D -m 0644 -t $(DEB_STAGE)/usr/share/facescore/samples samples/face.jpg samples/README.md \
	  samples/LICENSE-Apache-2.0.txt
	gzip -9n < docs/facescore.1 > $(DEB_STAGE)/usr/share/man/man1/facescore.1.gz
	$(INSTALL) -m 0644 deploy/facescore.service $(DEB_STAGE)/lib/systemd/system/facescore.service
	$(INSTALL) -m 0644 packaging/debian/copyright $(DEB_STAGE)/usr/share/doc/facescore/copyright
	gzip -9n < packaging/debian/changelog > $(DEB_STAGE)/usr/share/doc/facescore/changelog.Debian.gz
	chmod 0644 $(DEB_STAGE)/usr/share/man/man1/facescore.1.gz $(DEB_STAGE)/usr/share/doc/facescore/changelog.Debian.gz
	$(INSTALL) -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm $(DEB_STAGE)/DEBIAN/
	@# Depends: native builds computed by dpkg-shlibdeps; the arm64 cross build the list above, checked against
	@# the binary's NEEDED libraries (each must belong, per dpkg -S of the multiarch arm64 library, to a
	@# package in the list)
	set -e; \
	if [ -n "$(DEB_SHLIBDEPS)" ]; then \
	  mkdir -p build-deb-$(DEB_ARCH)/debian && printf 'Source: facescore\n\nPackage: facescore\nArchitecture: any\n' \
	    > build-deb-$(DEB_ARCH)/debian/control; \
	  deps=$$(cd build-deb-$(DEB_ARCH) && dpkg-shlibdeps -O pkg/usr/bin/facescore | sed -n 's/^shlibs:Depends=//p'); \
	else \
	  deps='$(strip $(DEB_DEPENDS_ARM64))'; \
	  for lib in $$($(CROSS_AARCH64)readelf -d $(DEB_BIN) | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do \
	    p=$$(dpkg -S "/usr/lib/aarch64-linux-gnu/$$lib" "/lib/aarch64-linux-gnu/$$lib" 2>/dev/null | head -n1 | cut -d: -f1); \
	    case "$$lib" in ld-linux-aarch64.so.*) p=libc6;; esac; \
	    [ -n "$$p" ] || { echo "deb-arm64: no arm64 package owns $$lib"; exit 1; }; \
	    echo "$$deps" | tr ',' '\n' | sed 's/ *(.*//; s/^ *//' | grep -qx "$$p" || \
	      { echo "deb-arm64: $$lib is in $$p, missing from DEB_DEPENDS_ARM64"; exit 1; }; \
	  done; \
	fi; \
	[ -n "$$deps" ] || { echo "deb: empty Depends"; exit 1; }; \
	size=$$(du -sk --exclude=DEBIAN $(DEB_STAGE) | cut -f1); \
	sed -e 's|@VERSION@|$(DEB_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' -e "s|@DEPENDS@|$$deps|" -e "s|@SIZE@|$$size|" \
	  packaging/debian/control.in > $(DEB_STAGE)/DEBIAN/control
	cd $(DEB_STAGE) && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums
	chmod 0644 $(DEB_STAGE)/DEBIAN/control $(DEB_STAGE)/DEBIAN/md5sums
	fakeroot dpkg-deb --build -Zxz $(DEB_STAGE) $(DEB_FILE)
	@dpkg-deb --info $(DEB_FILE) | sed -n '/Package:/,$$p'
	@echo "deb: $(DEB_FILE)"

#!/bin/sh
# Installs the Debian 12 packages facescore needs to build and test. Idempotent; uses sudo when not root.
set -e
PKGS="build-essential pkg-config libjpeg62-turbo-dev libpng-dev libwebp-dev libjansson-dev libmicrohttpd-dev libsqlite3-dev libpq-dev"
# PostgreSQL server for the store tests against the PostgreSQL backend (scripts/ci-postgres.sh)
PKGS="$PKGS postgresql"
# scale-out test (scripts/test-scaleout.sh): two serve instances behind nginx, driven by curl
PKGS="$PKGS nginx curl"
# optional: clang + its sanitizer runtime for `make asan` / gcc-vs-clang builds
PKGS="$PKGS clang libclang-rt-14-dev"
# ONNX backend test cases (tests/nn/test_onnx_conformance.c skips without them)
PKGS="$PKGS libonnx-testdata"
# tests: Debian's extra cascades (tilted / tree Haar) for the OpenCV parity tests
PKGS="$PKGS opencv-data"
# browser test (make test-browser): Debian chromium driven by playwright-core from npm; node/npm only
# when missing (some machines have a nodejs that bundles npm, which Debian's npm package would conflict with)
PKGS="$PKGS chromium"
# load tests (bench/load, scripts/test-overload.sh): wrk, sqlite3 (integrity check after kill -9); valgrind for the valgrind-clean score check
PKGS="$PKGS wrk valgrind sqlite3"
# Raspberry Pi: cross compiler + qemu user emulation (make cross-aarch64, qemu tests); packaging (.deb, debootstrap test)
PKGS="$PKGS gcc-aarch64-linux-gnu qemu-user dpkg-dev fakeroot debootstrap"
# packaging test (scripts/test-deb.sh): systemd-nspawn boots systemd in the Debian 12 chroot to run the packaged unit
PKGS="$PKGS systemd-container"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup-debian: installing$missing"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

# --- Raspberry Pi cross build (make cross-aarch64, scripts/test-qemu.sh): the arm64 -dev libraries
# through multiarch, next to the amd64 ones. Adds the arm64 architecture (and runs apt-get update)
# only when it is missing; installs only the :arm64 packages not yet installed.
# libpq-dev is not co-installable across architectures (installing :arm64 removes the amd64 one the
# native build needs): take libpq5:arm64 only; mk/cross.mk points pkg-config at the amd64 headers
# (architecture-independent) and the arm64 libpq.so.5.
ARM64_PKGS="libjpeg62-turbo-dev:arm64 libpng-dev:arm64 libwebp-dev:arm64 libjansson-dev:arm64 libmicrohttpd-dev:arm64 libsqlite3-dev:arm64 libpq5:arm64"
if [ "$(dpkg --print-architecture)" != arm64 ]; then
  arm64_missing=""
  for p in $ARM64_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || arm64_missing="$arm64_missing $p"
  done
  if [ -n "$arm64_missing" ]; then
    echo "setup-debian: installing (arm64 multiarch)$arm64_missing"
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
      $SUDO dpkg --add-architecture arm64
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $arm64_missing
  fi
fi

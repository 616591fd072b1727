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
# load tests (bench/load, scripts/test-overload.sh): wrk; valgrind for the valgrind-clean score check
PKGS="$PKGS wrk valgrind"
# Raspberry Pi: cross compiler + qemu user emulation (make cross-aarch64, qemu tests); packaging (.deb, debootstrap test)
PKGS="$PKGS gcc-aarch64-linux-gnu qemu-user dpkg-dev fakeroot debootstrap"
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

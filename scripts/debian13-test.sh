#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# mpdecor on Debian 13 (trixie), in a chroot made with debootstrap from Debian's archive:
# GCC 14 and Boost 1.88, whose Debian packages have Boost.Process's headers but not its
# compiled library (lib/boost_process.cpp fills in). In the chroot it builds the library
# and the test suites with CMake's `tsan` preset and runs them all under ThreadSanitizer
# (ctest --preset tsan), so the newer compiler and Boost get the whole suite and its
# strictest check (the examples, as in the ASan build, are left to the other builds). Then
# it swaps in Boost 1.83 (Debian 13's default libboost-dev, header-only Process) and builds
# and runs the library and the examples.
# Exits non-zero when anything fails.
#
# --prepare only makes the chroot (and fetches the packages the Boost 1.83 step installs),
# so that scripts/run-tests.sh can do it while its earlier stages build.
#
# Environment: MPDECOR_CHROOT (the chroot's folder; default /var/tmp/mpdecor-trixie, reused
# when it is already there), MPDECOR_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
chroot_dir="${MPDECOR_CHROOT:-/var/tmp/mpdecor-trixie}"
mirror="${MPDECOR_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
packages=g++,cmake,ninja-build,libboost1.88-dev,libcereal-dev,pkgconf

step() { echo; echo "=== $*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "debian13-test: debootstrap and chroot need root" >&2
  exit 2
fi
scripts/setup.sh debootstrap

# The processes under test need /proc (their own executable, pid files), /dev/shm (shared
# memory) and /dev/null; the mounts go away however this ends.
unmount() {
  for mount in dev proc; do
    if mountpoint -q "$chroot_dir/$mount"; then
      umount -R "$chroot_dir/$mount" || umount -lR "$chroot_dir/$mount" || true
    fi
  done
}
if [ ! -x "$chroot_dir/usr/bin/g++-14" ] || [ ! -f "$chroot_dir/usr/include/boost/version.hpp" ]; then
  step "debootstrap trixie into $chroot_dir"
  unmount # a run killed earlier may have left /dev bound inside: never delete through it
  rm -rf --one-file-system "$chroot_dir"
  debootstrap --variant=minbase --include="$packages" trixie "$chroot_dir" "$mirror"
fi

trap unmount EXIT
mountpoint -q "$chroot_dir/proc" || mount -t proc proc "$chroot_dir/proc"
mountpoint -q "$chroot_dir/dev" || mount --rbind /dev "$chroot_dir/dev"

in_chroot() { chroot "$chroot_dir" /usr/bin/env -i PATH=/usr/bin:/usr/sbin:/bin:/sbin HOME=/root LANG=C.UTF-8 "$@"; }
apt_in_chroot() {
  cp /etc/resolv.conf "$chroot_dir/etc/resolv.conf"
  in_chroot sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $*"
}

if [ "${1:-}" = "--prepare" ]; then
  step "fetching Boost 1.83's packages for later"
  apt_in_chroot --download-only libboost1.83-dev
  exit 0
fi

step "source tree"
rm -rf "$chroot_dir/src"
mkdir -p "$chroot_dir/src"
git ls-files -z --cached --others --exclude-standard | tar --null -cf - -T - |
  tar -xf - -C "$chroot_dir/src"

# Installs libboost<version>-dev in the chroot unless it is there (the two conflict, so apt
# takes the other one out).
use_boost() {
  if ! in_chroot dpkg-query -W -f='${Status}' "libboost$1-dev" 2>/dev/null | grep -q "install ok installed"; then
    apt_in_chroot "libboost$1-dev"
  fi
  in_chroot sh -c 'grep "define BOOST_LIB_VERSION" /usr/include/boost/version.hpp'
}
in_chroot g++ --version | head -1
use_boost 1.88

step "build (preset tsan, GCC 14, Boost 1.88)"
in_chroot sh -c 'cd /src && cmake --preset tsan && cmake --build --preset tsan'

step "test suites under ThreadSanitizer"
in_chroot sh -c 'cd /src && ctest --preset tsan'

# For the run's time, three examples rather than all eight: a call's value, a pool's map
# and Asio calls, which between them use every part of Boost mpdecor builds on.
step "Boost 1.83 (Debian 13's libboost-dev): the library and three examples"
use_boost 1.83
in_chroot sh -c 'cd /src && cmake -S . -B build/boost-1.83 -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMPDECOR_BUILD_TESTS=OFF -DMPDECOR_BUILD_BENCHMARKS=OFF &&
  cmake --build build/boost-1.83 --target return_value pool_map async_calls &&
  ctest --test-dir build/boost-1.83 --output-on-failure -R "^example\.(return_value|pool_map|async_calls)\$"'

#!/bin/sh
# Runs a Windows program under Wine without a display, in a Wine prefix of its own inside
# the build tree, so that the user's ~/.wine is never touched. CMake's
# CMAKE_CROSSCOMPILING_EMULATOR (cmake/toolchain-mingw64.cmake) puts this in front of
# every test and example. Usage: wine-run.sh PROGRAM.exe [ARGUMENT...]
#
# WINEPREFIX: default <folder of the program's build tree>/wine-prefix (found by walking up
# to CMakeCache.txt), or set it yourself. Stop the prefix's server afterwards with
# WINEPREFIX=... wineserver -k.
set -eu

if [ $# -lt 1 ]; then
  echo "usage: $0 PROGRAM.exe [ARGUMENT...]" >&2
  exit 2
fi

if [ -z "${WINEPREFIX:-}" ]; then
  dir=$(cd "$(dirname "$1")" && pwd)
  while [ "$dir" != / ] && [ ! -f "$dir/CMakeCache.txt" ]; do
    dir=$(dirname "$dir")
  done
  if [ "$dir" = / ]; then
    dir=$(pwd)
  fi
  WINEPREFIX="$dir/wine-prefix"
fi
export WINEPREFIX
# Quiet: Wine's own diagnostics would mix with the program's output that tests compare.
export WINEDEBUG="${WINEDEBUG:--all}"
# No window may open (a crash dialog, a message box): there is no display to show it.
unset DISPLAY WAYLAND_DISPLAY
# Wine prints a notice on stderr while it creates a prefix; create it once, quietly, and
# under a lock, since CTest may start several programs at once in a new prefix.
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  mkdir -p "$WINEPREFIX"
  (
    flock 9
    if [ ! -f "$WINEPREFIX/system.reg" ]; then
      wine wineboot --init >/dev/null 2>&1 || true
      wineserver --wait
    fi
  ) 9>"$WINEPREFIX.lock"
fi
exec wine "$@"

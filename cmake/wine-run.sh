#!/bin/sh
# SPDX-License-Identifier: BSL-1.0
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
# Wine's server and the system processes it starts (services.exe, explorer.exe...) outlive
# the program that started them and keep its standard output and error open: CTest, which
# waits for a test's output to close, would wait for them as well. So they are started
# here, attached to nothing of the program's, and the prefix is made the same way (Wine
# prints notices while it does). Under a lock: CTest may start several programs at once.
mkdir -p "$WINEPREFIX"
(
  flock 9
  if [ ! -f "$WINEPREFIX/system.reg" ]; then
    # No dialogs offering to install Mono and Gecko: there is nobody to answer them.
    WINEDLLOVERRIDES="mscoree,mshtml=" wine wineboot --init </dev/null >/dev/null 2>&1 9>&- || true
    wineserver --wait 9>&-
  fi
  # Succeeds only when no server ran yet; it then stays 30 s after its last program. The
  # lock's descriptor stays here: a server that held it would hold the lock.
  if wineserver -p30 </dev/null >/dev/null 2>&1 9>&-; then
    wine cmd /c exit </dev/null >/dev/null 2>&1 9>&- || true
  fi
) 9>"$WINEPREFIX.lock"
exec wine "$@"

// SPDX-License-Identifier: BSL-1.0
// Boost 1.81 includes <Windows.h>, spelled as on Windows' case-insensitive file systems;
// MinGW-w64's header is windows.h, which a case-sensitive build machine does not find
// under the other spelling. Only the MinGW toolchain file puts this folder on the path.
#include <windows.h>

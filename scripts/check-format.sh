#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Checks that mpdecor's C++ sources are laid out as .clang-format says (clang-format 14,
# Debian 12's; other versions lay some lines out differently). With --fix, rewrites them.
# The programs under examples/ and test/snippets/ are left out: the documents quote them
# line for line.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/setup.sh clang-format-14
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' | grep -v -e '^examples/' -e '^test/snippets/')
if [ "${1:-}" = "--fix" ]; then
  clang-format-14 -i "${files[@]}"
  exit 0
fi
if ! clang-format-14 --dry-run --Werror "${files[@]}"; then
  echo "check-format: the files above differ from .clang-format; scripts/check-format.sh --fix rewrites them" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files follow .clang-format"

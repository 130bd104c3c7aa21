#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Installs what mpdecor needs to build and test on Debian 12, from Debian's archive.
# Usage: scripts/setup.sh [extra package ...]
set -euo pipefail

packages=(g++ cmake ninja-build make pkgconf libboost1.81-dev libboost1.81-tools-dev libcereal-dev "$@")

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Installs what the ARM cross builds need (tests/cross/run.sh): Debian's cross
# compilers for AArch64 and 32-bit ARM (hard float, and armel for the ARMv6
# build), their C libraries, and
# qemu-user to run the results. Checks with dpkg first, so on a machine that has
# them all it prints nothing and touches no network. Needs root (or sudo) on
# Debian 12 or a derivative. Packages given as arguments are installed too
# (tests/android/run.sh adds clang, lld and a JDK).
set -euo pipefail

packages=(
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
  gcc-arm-linux-gnueabihf binutils-arm-linux-gnueabihf libc6-dev-armhf-cross
  gcc-arm-linux-gnueabi binutils-arm-linux-gnueabi libc6-dev-armel-cross
  qemu-user
  "$@"
)

missing=()
for package in "${packages[@]}"; do
  # dpkg -s succeeds for removed-but-configured packages too; the Status line says which.
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  echo "setup-cross.sh: need root to install: ${missing[*]}" >&2
  exit 1
fi

echo "setup-cross.sh: installing ${missing[*]}" >&2
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# A Debian bookworm userland like Raspberry Pi OS (arm64: Pi OS 64-bit; armhf: Pi OS
# 32-bit), with what the README's Raspberry Pi section tells a user to `apt install`:
# python3-venv, and on armhf python3-numpy and python3-cffi (PyPI has no armv7
# wheels of numpy). Made once and reused:
#
#   bash tests/pi/rootfs.sh arm64|armhf      # -> build/pi/<arch>/rootfs
#
# debootstrap --foreign (stage 1: resolves the packages' dependencies and downloads
# them) and `dpkg-deb -x` of every .deb: stage 2 would run ARM maintainer scripts,
# which needs binfmt on the host. The few maintainer-script effects Python needs
# are made by hand below.
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${1:?usage: rootfs.sh arm64|armhf}
root=build/pi/$arch/rootfs
mirror=${PI_MIRROR:-http://deb.debian.org/debian}

packages=python3.11,python3,python3-venv,ca-certificates
# python3-ply: python3-pycparser depends on the virtual python3-ply-lex-3.10, which
# debootstrap's resolver does not follow (apt would pick python3-ply).
[ "$arch" = armhf ] && packages=$packages,python3-numpy,python3-cffi,python3-ply

# The package list is stored with the userland: a changed list makes a new one.
if [ -f "$root/.pyibert-packages" ] && [ "$(cat "$root/.pyibert-packages")" = "$packages" ]; then
  exit 0
fi
rm -rf "$root"
mkdir -p "$root"
echo "rootfs.sh: debootstrap bookworm $arch into $root" >&2
debootstrap --foreign --arch="$arch" --variant=minbase --include="$packages" bookworm "$root" "$mirror" >/dev/null
for deb in "$root"/var/cache/apt/archives/*.deb; do dpkg-deb -x "$deb" "$root"; done
rm -f "$root"/var/cache/apt/archives/*.deb

# update-alternatives of libblas3 and liblapack3 (numpy loads libblas.so.3)
for lib in "$root"/usr/lib/*-linux-gnu*/blas/libblas.so.3 "$root"/usr/lib/*-linux-gnu*/lapack/liblapack.so.3; do
  [ -e "$lib" ] || continue
  ln -sfn "${lib#"$root"}" "$(dirname "$(dirname "$lib")")/$(basename "$lib")"
done
# update-ca-certificates: the bundle pip reads. The host's, since a network that
# re-signs TLS (as some CI networks do) has its root there; a real Pi has its own.
mkdir -p "$root/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
# what an installed system has: a user's home, a resolver, hosts
mkdir -p "$root/home/pi" "$root/tmp"
chmod 1777 "$root/tmp"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' > "$root/etc/hosts"
echo "$packages" > "$root/.pyibert-packages"

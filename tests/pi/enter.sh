#!/usr/bin/env bash
# Runs a shell command in a Pi userland (tests/pi/rootfs.sh) on an emulated CPU, as
# a Pi user at a shell would: every program it starts (python3, pip, the venv's
# python) is run by qemu-user with that CPU model.
#
#   bash tests/pi/enter.sh arm64 cortex-a76 'python3 -m venv ~/venv && ...'
#
# How, without changing the host: a user and mount namespace of its own, with its
# own binfmt_misc instance (Linux 6.7 and later give each user namespace one) in
# which the static qemu is registered with the F flag (the kernel opens it now, so
# it still runs inside the chroot); /dev, /proc, /sys and the host's resolver bound
# into the userland; chroot. QEMU_CPU, inherited by every program, picks the CPU.
set -euo pipefail
cd "$(dirname "$0")/../.."
arch=${1:?usage: enter.sh arm64|armhf CPU COMMAND}
cpu=${2:?cpu}
shift 2
root=$PWD/build/pi/$arch/rootfs
[ -x "$root/usr/bin/python3" ] || { echo "enter.sh: no userland at $root (tests/pi/rootfs.sh $arch)" >&2; exit 2; }

# Debian's static qemu, unpacked (not installed: its package would register binfmt
# handlers on the host).
qemu_dir=$PWD/build/pi/qemu-user-static
if [ ! -x "$qemu_dir/usr/bin/qemu-aarch64-static" ]; then
  rm -rf "$qemu_dir"
  mkdir -p "$qemu_dir"
  # (a machine whose package lists were never fetched needs an apt-get update first)
  (cd "$qemu_dir" && { apt-get download qemu-user-static >/dev/null 2>&1 \
                       || { apt-get update -qq && apt-get download qemu-user-static >/dev/null; }; } \
     && dpkg-deb -x qemu-user-static_*.deb . && rm qemu-user-static_*.deb)
fi
# binfmt_misc entries: ELF header bytes (class, data, type, machine) and their mask
elf_mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
case $arch in
  arm64) handler=":qemu-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:$elf_mask:$qemu_dir/usr/bin/qemu-aarch64-static:F" ;;
  armhf) handler=":qemu-arm:M::\x7f\x45\x4c\x46\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x28\x00:$elf_mask:$qemu_dir/usr/bin/qemu-arm-static:F" ;;
  *) echo "enter.sh: arch must be arm64 or armhf, not $arch" >&2; exit 2 ;;
esac

[ -e "$root/etc/resolv.conf" ] || : > "$root/etc/resolv.conf"
export PI_ROOT=$root PI_HANDLER=$handler PI_CPU=$cpu PI_COMMAND="$*"
exec unshare --user --map-root-user --mount --fork bash -c '
  set -e
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  echo "$PI_HANDLER" > /proc/sys/fs/binfmt_misc/register
  for dir in dev proc sys; do mount --rbind "/$dir" "$PI_ROOT/$dir"; done
  mount --bind /etc/resolv.conf "$PI_ROOT/etc/resolv.conf"
  exec chroot "$PI_ROOT" /usr/bin/env -i HOME=/home/pi USER=pi LANG=C.UTF-8 TERM=dumb QEMU_CPU="$PI_CPU" \
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin /bin/bash -c "cd ~ && $PI_COMMAND"'

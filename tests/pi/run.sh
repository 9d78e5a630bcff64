#!/usr/bin/env bash
# Raspberry Pi OS as a user meets it, emulated (the README's "Raspberry Pi" section,
# command for command):
#
#   1. tests/pi/cmake_check.sh: a source build's CMake on Pi OS 32-bit under a 64-bit
#      kernel (uname -m = aarch64) takes the 32-bit kernels; Raspbian's ARMv6 build.
#   2. tools/build-wheels.sh: the linux_aarch64 and linux_armv7l wheels, cross-built.
#   3. Debian bookworm userlands (tests/pi/rootfs.sh, kept in build/pi/ and reused):
#      arm64 = Pi OS 64-bit, armhf = Pi OS 32-bit (with apt's numpy and cffi).
#   4. In each, under qemu-user (tests/pi/enter.sh), no compiler in the userland:
#      python3 -m venv, pip install of the wheel (arm64: numpy and cffi from PyPI),
#      then `pyibert classify` of the shipped model on two sentences (labels must be
#      positive, negative) and `pyibert inspect` (the kernel set each CPU must get):
#      arm64 on cortex-a72 (Pi 4: neon), cortex-a76 (Pi 5: dotprod) and cortex-a53
#      (Pi 3: neon); armhf on
#      cortex-a7 (Pi 2: neon), and its wheel installed again with uname reporting
#      aarch64 (Pi OS 32-bit on a Pi 4 or 5).
# Prints the wall and CPU seconds of each step (under emulation) and exits non-zero
# on any failure.
# Needs root on Debian 12 (apt-get installs debootstrap, the cross compilers and
# qemu-user when missing), Linux 6.7 or later (enter.sh), network to a Debian mirror
# and to PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
bash tools/setup-cross.sh

bash tests/pi/cmake_check.sh
bash tools/build-wheels.sh aarch64 armv7l
bash tests/pi/rootfs.sh arm64
bash tests/pi/rootfs.sh armhf

positive="a gripping, funny and moving film"
negative="a tedious, lifeless mess"
tab=$'\t'
log=build/pi/logs
mkdir -p "$log"
rm -f "$log"/*.log
results=()
failed=0

step() {  # step ARCH CPU NAME COMMAND: run COMMAND in the userland, log and time it
  local arch=$1 cpu=$2 name=$3 command=$4 status=0 wall user system
  local TIMEFORMAT='%R %U %S'  # bash's `time`: wall, user and system seconds of the step's processes
  echo "== pi $arch $cpu: $name"
  { time bash tests/pi/enter.sh "$arch" "$cpu" "$command" > "$log/$arch-$cpu-$name.log" 2>&1 || status=$?; } \
    2> "$log/$arch-$cpu-$name.time"
  read -r wall user system < "$log/$arch-$cpu-$name.time"
  # CPU seconds (user + system) say what the step costs; wall seconds also what else the machine ran
  results+=("$arch $cpu $name ${wall%.*} $(awk "BEGIN { printf \"%d\", $user + $system }") $([ $status = 0 ] && echo ok || echo FAILED)")
  if [ $status != 0 ]; then
    tail -n 20 "$log/$arch-$cpu-$name.log"
    failed=1
  fi
}
expect() {  # expect ARCH CPU STEP CHECK PATTERN: the step's log must have a line matching PATTERN
  if grep -qE "$5" "$log/$1-$2-$3.log"; then
    results+=("$1 $2 $4 - - ok")
  else
    echo "== pi $1 $2: $4: no line matches '$5' in $log/$1-$2-$3.log"
    results+=("$1 $2 $4 - - FAILED")
    failed=1
  fi
}
classify() {  # classify ARCH CPU KERNELS
  step "$1" "$2" classify ". ~/pyibert-venv/bin/activate
    pyibert classify minilm-sst2.ibert \"$positive\" \"$negative\"
    pyibert inspect minilm-sst2.ibert"
  expect "$1" "$2" classify positive "^positive${tab}[0-9.]+${tab}$positive\$"
  expect "$1" "$2" classify negative "^negative${tab}[0-9.]+${tab}$negative\$"
  expect "$1" "$2" classify "kernels=$3" "^kernels +$3\$"
}
install() {  # install ARCH CPU WHEEL [VENV OPTIONS]: a fresh venv and the wheel, as the README says
  local arch=$1 cpu=$2 wheel=$3 venv_options=${4:-} home
  home=build/pi/$arch/rootfs/home/pi
  rm -rf "$home"  # a new user: no venv, no pip cache
  mkdir -p "$home"
  cp "$wheel" models/minilm-sst2.ibert "$home/"
  step "$arch" "$cpu" venv "python3 -m venv $venv_options ~/pyibert-venv"
  step "$arch" "$cpu" pip-install ". ~/pyibert-venv/bin/activate
    pip install --disable-pip-version-check $(basename "$wheel")"
}

# Pi OS 64-bit
install arm64 cortex-a72 "$(ls dist/pyibert-*-py3-none-linux_aarch64.whl)"
classify arm64 cortex-a72 neon      # Pi 4
classify arm64 cortex-a76 dotprod   # Pi 5
classify arm64 cortex-a53 neon      # Pi 3, Zero 2

# Pi OS 32-bit: numpy and cffi from apt (PyPI has no armv7 numpy)
armv7_wheel=$(ls dist/pyibert-*-py3-none-linux_armv7l.whl)
install armhf cortex-a7 "$armv7_wheel" --system-site-packages
classify armhf cortex-a7 neon
# ... on a Pi 4 or 5 with its default 64-bit kernel: pip must still take the armv7l
# wheel (it maps a 32-bit Python's linux_aarch64 to linux_armv7l)
mkdir -p build/pi/armhf/rootfs/usr/local/lib
arm-linux-gnueabihf-gcc -shared -fPIC -O2 -o build/pi/armhf/rootfs/usr/local/lib/uname_aarch64.so tests/pi/uname_aarch64.c
step armhf cortex-a7 pip-install-64bit-kernel "export LD_PRELOAD=/usr/local/lib/uname_aarch64.so
  echo \"uname -m: \$(uname -m)\"
  . ~/pyibert-venv/bin/activate
  pip install --disable-pip-version-check --force-reinstall --no-deps $(basename "$armv7_wheel")
  pyibert classify minilm-sst2.ibert \"$positive\" \"$negative\""
expect armhf cortex-a7 pip-install-64bit-kernel uname=aarch64 "^uname -m: aarch64\$"
expect armhf cortex-a7 pip-install-64bit-kernel installed "^Successfully installed pyibert"
expect armhf cortex-a7 pip-install-64bit-kernel negative "^negative${tab}[0-9.]+${tab}$negative\$"

echo
printf '%-6s %-11s %-26s %7s %7s  %s\n' arch cpu step wall_s cpu_s result
for result in "${results[@]}"; do
  # shellcheck disable=SC2086  # six words
  printf '%-6s %-11s %-26s %7s %7s  %s\n' $result
done
exit "$failed"

#!/usr/bin/env bash
# Makes the sysroot of an Android-targeted build without the NDK (tests/android):
#   sysroot.sh ABI OUT ZIG_INCLUDE JNI_H
# ABI is arm64-v8a or armeabi-v7a, OUT the sysroot to make, ZIG_INCLUDE the libc
# headers folder of the ziglang wheel (lib/libc/include), JNI_H AOSP's jni.h.
#
# Headers: musl's and the Linux UAPI's from the ziglang wheel (bionic's are not
# packaged anywhere but the NDK), with errno mapped to bionic's __errno(). Libraries:
# the project's crtbegin_so/crtend_so and emulated-TLS helper (sysroot/*.c), and stub
# libc.so/libdl.so that export exactly the bionic API-24 functions listed in
# sysroot/bionic-api24/, so linking with --no-undefined fails on anything else.
# armeabi-v7a also gets the integer division helpers (__aeabi_uldivmod, ...) from
# Debian's armel libgcc: the NDK takes them from compiler-rt; armel shares
# armeabi-v7a's base procedure call standard (softfp: floats in core registers).
set -euo pipefail
abi=$1 out=$2 zig_include=$3 jni_h=$4
here=$(cd "$(dirname "$0")" && pwd)
api=24

case $abi in
  arm64-v8a) triple=aarch64-linux-android zig_arch=aarch64 ;;
  armeabi-v7a) triple=arm-linux-androideabi zig_arch=arm ;;
  *) echo "sysroot.sh: unknown ABI $abi" >&2; exit 2 ;;
esac
target=${triple/#arm-/armv7a-}$api # clang's spelling: armv7a-linux-androideabi24
cc=(clang-16 --target="$target" --sysroot="$out" -O2 -fPIC)

rm -rf "$out"
include=$out/usr/include lib=$out/usr/lib/$triple/$api
mkdir -p "$include" "$lib"
for part in generic-musl "$zig_arch-linux-musl" any-linux-any "$zig_arch-linux-any"; do
  cp -r "$zig_include/$part/." "$include/"
done
sed -i 's/__errno_location/__errno/g' "$include/errno.h"
# musl's 32-bit headers redirect time-related calls (fstat, ...) to 64-bit-time
# variants that bionic does not have; bionic's 32-bit ABI has the plain names.
if [ "$abi" = armeabi-v7a ]; then
  sed -i 's/^#define _REDIR_TIME64 1$/#define _REDIR_TIME64 0/' "$include/bits/alltypes.h"
fi
cp "$jni_h" "$include/jni.h"

"${cc[@]}" -c "$here/sysroot/crtbegin_so.c" -o "$lib/crtbegin_so.o"
"${cc[@]}" -x c -c /dev/null -o "$lib/crtend_so.o"
"${cc[@]}" -Wall -Wextra -c "$here/sysroot/emutls.c" -o "$out/emutls.o"
if [ "$abi" = armeabi-v7a ]; then
  cp /usr/lib/gcc-cross/arm-linux-gnueabi/12/libgcc.a "$lib/libgcc.a" # libgcc-12-dev-armel-cross
  llvm-ar-16 d "$lib/libgcc.a" _emutls.o 2>/dev/null || true # ours, not glibc's (see emutls.c)
fi
llvm-ar-16 rcs "$lib/libgcc.a" "$out/emutls.o"
rm "$out/emutls.o"

# stub NAME LIST...: lib NAME.so exporting the functions of the lists
stub() {
  local name=$1; shift
  grep -hv '^#' "$@" | tr -s ' \n' '\n' | sed '/^$/d' | sed 's/.*/void &(void) {}/' >"$out/$name.c"
  "${cc[@]}" -w -shared -nostdlib -fuse-ld=lld -Wl,-soname,"$name.so" "$out/$name.c" -o "$lib/$name.so"
  rm "$out/$name.c"
}
lists=$here/sysroot/bionic-api24
if [ "$abi" = armeabi-v7a ]; then stub libc "$lists/libc.txt" "$lists/libc-arm.txt"; else stub libc "$lists/libc.txt"; fi
stub libdl "$lists/libdl.txt"

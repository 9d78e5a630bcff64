#!/usr/bin/env bash
# The Android check: Android-targeted, NOT NDK-built, NOT run on bionic.
#
# No Android NDK or bionic can be installed on these machines, so this builds
# libibert.so and libibert_jni.so as an NDK build would link them (Debian's clang-16
# and lld-16 with the Android triple for API 24, -Wl,--no-undefined, 16 KB pages)
# against a sysroot the project makes (sysroot.sh: musl/UAPI headers from the
# ziglang wheel, its own crtbegin_so and emulated-TLS helper, stub libc/libdl that
# export only the bionic API-24 functions listed in sysroot/bionic-api24/), then:
#   - checks the ELF files as Android's loader sees them: NEEDED only libc, libdl,
#     libm, liblog (and libibert for the glue), no glibc symbol versions, the
#     Android note, 16 KB segment alignment, no text relocations;
#   - runs the C tests that use the library (every kernel path on the shipped model,
#     1 ... 7 threads), built for glibc, against the Android-built arm64 library
#     under qemu-aarch64 on Cortex-A72 and A76, through shim/ (a glibc-backed
#     libc.so: this is NOT bionic);
#   - runs the Java API's test (android/test) with the host JDK against a host build,
#     and in Debian's arm64 JVM under qemu against the Android-built libraries;
#   - builds and links armeabi-v7a (compile and link only: musl's 32-bit headers are
#     not bionic's).
# What it proves: the code compiles for Android, links against nothing bionic lacks
# at API 24 (as far as the lists are right), has the ELF shape Android wants, and
# computes the right integers with Android code generation (emulated TLS, x18
# reserved). Not proven: bionic's behaviour, ART, loading from an APK; release
# builds use the NDK (README, "Android") and are tried on a device or emulator.
#
# Leaves build/android-arm64-v8a/libibert.so. Installs what it needs (apt-get, pip).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
work=$repo/build/android
mkdir -p "$work"

# --- tools: clang/lld, the cross gcc and qemu, a JDK; headers; an arm64 JVM --------
bash tools/setup-cross.sh clang-16 lld-16 llvm-16 libgcc-12-dev-armel-cross openjdk-17-jdk-headless
# the ziglang wheel's musl and Linux UAPI headers (the parts sysroot.sh copies)
zig_include=$work/zig-include
if [ ! -d "$zig_include" ]; then
  rm -rf "$work/wheel"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest "$work/wheel" ziglang==0.17.1
  python3 - "$work"/wheel/ziglang-*.whl "$zig_include" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1:3]
prefix = "ziglang/lib/libc/include/"
parts = ("generic-musl", "aarch64-linux-musl", "arm-linux-musl", "any-linux-any", "aarch64-linux-any", "arm-linux-any")
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and name[len(prefix):].split("/")[0] in parts:
            z.extract(name, out + ".tmp")
PY
  mv "$zig_include.tmp/ziglang/lib/libc/include" "$zig_include" && rm -rf "$zig_include.tmp" "$work/wheel"
fi

# Debian packages unpacked, not installed: AOSP's jni.h, and the arm64 JVM with the
# libraries it loads (arm64 package lists kept in $work/apt, apart from the system's).
apt_dir=$work/apt
apt_opts=(-qq -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists="$apt_dir/lists"
          -o Dir::Cache="$apt_dir/cache" -o Dir::State::status="$apt_dir/status" -o APT::Sandbox::User=root)
jni_h=$work/aosp/usr/include/android/nativehelper/jni.h
jvm_root=$work/arm64-root
java_arm64=$jvm_root/usr/lib/jvm/java-17-openjdk-arm64/bin/java
if [ ! -f "$jni_h" ] || [ ! -x "$java_arm64" ]; then
  rm -rf "$apt_dir" "$work/aosp" "$jvm_root"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs"
  touch "$apt_dir/status"
  apt-get "${apt_opts[@]}" update
  (cd "$apt_dir/debs" && apt-get "${apt_opts[@]}" download android-libnativehelper-dev \
     openjdk-17-jre-headless libc6 libgcc-s1 libstdc++6 zlib1g)
  for deb in "$apt_dir"/debs/*.deb; do
    case $deb in
      */android-libnativehelper-dev_*) dpkg-deb -x "$deb" "$work/aosp" ;;
      *) dpkg-deb -x "$deb" "$jvm_root" ;;
    esac
  done
  rm -rf "$apt_dir/debs" "$apt_dir/cache"
fi

results=()
record() { results+=("$(printf '%-48s %s' "$1" "$2")"); }

# musl's headers stand in for bionic's: numbers a libc defines for itself (not the
# kernel) differ, e.g. sysconf's _SC_ names, so the library must not use them.
if grep -rn '_SC_[A-Z]' runtime/src android/jni; then # (a comment naming them counts too)
  echo "run.sh: sysconf _SC_ constants differ between musl and bionic; the compat build cannot check them" >&2
  exit 1
fi

# --- the Android-targeted builds ---------------------------------------------------
for abi in arm64-v8a armeabi-v7a; do
  sysroot=$work/sysroot-$abi build=$repo/build/android-$abi
  bash tests/android/sysroot.sh "$abi" "$sysroot" "$zig_include" "$jni_h"
  cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$repo/tests/android/compat.toolchain.cmake" \
        -DIBERT_ANDROID_ABI="$abi" -DIBERT_ANDROID_SYSROOT="$sysroot" -DCMAKE_BUILD_TYPE=Release \
        -DIBERT_BUILD_CLI=OFF >"$work/build-$abi.log"
  cmake --build "$build" -j2 >>"$work/build-$abi.log" 2>&1 || { tail -n 30 "$work/build-$abi.log"; exit 1; }
  record "$abi: build, link --no-undefined (API 24)" passed
done

# check_elf LIB ALLOWED_NEEDED...: the ELF checks above; prints what fails
check_elf() {
  local lib=$1 ok=1 needed; shift
  local allowed=" libc.so libdl.so libm.so liblog.so $* "
  for needed in $(llvm-readelf-16 -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [[ $allowed == *" $needed "* ]] || { echo "$lib: NEEDED $needed"; ok=0; }
  done
  if llvm-readelf-16 -V --dyn-syms "$lib" | grep -q GLIBC_; then echo "$lib: glibc symbol versions"; ok=0; fi
  llvm-readelf-16 -n "$lib" | grep -q NT_ANDROID_TYPE_IDENT || { echo "$lib: no Android note"; ok=0; }
  if llvm-readelf-16 -lW "$lib" | awk '$1 == "LOAD" && $NF != "0x4000"' | grep -q .; then
    echo "$lib: a LOAD segment not aligned to 16 KB"; ok=0
  fi
  if llvm-readelf-16 -d "$lib" | grep -qE 'TEXTREL'; then echo "$lib: text relocations"; ok=0; fi
  [ "$ok" = 1 ]
}
elf_failed=0
for abi in arm64-v8a armeabi-v7a; do
  check_elf "build/android-$abi/libibert.so" || elf_failed=1
  check_elf "build/android-$abi/android/libibert_jni.so" libibert.so || elf_failed=1
done
[ "$elf_failed" = 0 ] && record "ELF checks (both ABIs, both libraries)" passed || record "ELF checks" FAILED

# --- the Java API with the host JDK against a host build ---------------------------
host=$work/host
cmake -S . -B "$host" -DCMAKE_BUILD_TYPE=Release -DIBERT_BUILD_JNI=ON -DIBERT_BUILD_TESTS=ON \
      -DIBERT_BUILD_CLI=OFF >"$work/build-host.log"
cmake --build "$host" -j2 --target ibert_jni >>"$work/build-host.log" 2>&1
if ctest --test-dir "$host" -R '^jni$' --output-on-failure; then
  record "Java API, host JDK, host build" passed
else
  record "Java API, host JDK, host build" FAILED
fi

# --- the arm64 library under qemu, through the glibc shims -------------------------
shim=$work/shim
mkdir -p "$shim"
aarch64-linux-gnu-gcc -shared -fPIC -O2 -Wall -Wextra -Wl,-soname,libc.so tests/android/shim/libc.c -o "$shim/libc.so"
# glibc 2.34+ has dlopen & co. in libc.so.6: an empty libdl.so satisfies the NEEDED
aarch64-linux-gnu-gcc -shared -x c /dev/null -Wl,-soname,libdl.so -o "$shim/libdl.so"
android_lib=$repo/build/android-arm64-v8a
# the guest's library path only (qemu-user's own libraries are the host's)
export QEMU_SET_ENV=LD_LIBRARY_PATH=$shim:$android_lib

# The test programs, for glibc, without a build RPATH: the only libibert.so the
# loader can find is the Android one (checked below).
tests=$work/tests-arm64
cmake -S . -B "$tests" -DCMAKE_TOOLCHAIN_FILE="$repo/cmake/toolchains/aarch64-linux-gnu.cmake" \
      -DCMAKE_BUILD_TYPE=Release -DIBERT_BUILD_TESTS=ON -DCMAKE_SKIP_BUILD_RPATH=ON >"$work/build-tests.log"
cmake --build "$tests" -j2 --target test_threads test_kernel_paths >>"$work/build-tests.log" 2>&1
loaded=$(QEMU_SET_ENV=$QEMU_SET_ENV,LD_TRACE_LOADED_OBJECTS=1 qemu-aarch64 -L /usr/aarch64-linux-gnu \
         "$tests/tests/c/test_threads")
if ! grep -q "libibert.so => $android_lib/libibert.so" <<<"$loaded" || ! grep -q "libc.so => $shim/libc.so" <<<"$loaded"; then
  echo "$loaded"
  echo "run.sh: the test programs did not load the Android-built libibert.so through the shims" >&2
  exit 1
fi
# Every kernel path on the shipped model on both CPUs (A72: ref, neon; A76: also
# dotprod); 1 ... 7 threads (pthreads and emulated TLS) on the shipped model and on
# random models of awkward sizes, one CPU each, to keep the time down.
for run in "cortex-a72 kernel_paths|threads_random" "cortex-a76 kernel_paths|threads"; do
  read -r cpu names <<<"$run"
  if QEMU_CPU=$cpu ctest --test-dir "$tests" -R "^($names)\$" --output-on-failure; then
    record "arm64-v8a C tests under qemu $cpu" "passed ($names)"
  else
    record "arm64-v8a C tests under qemu $cpu" "FAILED ($names)"
  fi
done

# --- the Java API in the arm64 JVM against the Android-built libraries -------------
if QEMU_CPU=cortex-a76 bash android/test/jni_test.sh "$work/jni-arm64" "$android_lib/android" \
     "$host/libibert.so" qemu-aarch64 -L "$jvm_root" "$java_arm64" -Xshare:off -XX:TieredStopAtLevel=1; then
  record "Java API, arm64 JVM under qemu cortex-a76" passed
else
  record "Java API, arm64 JVM under qemu cortex-a76" FAILED
fi

echo
echo "Android-targeted (clang-16, API 24), not NDK-built, not run on bionic:"
printf '%s\n' "${results[@]}"
! printf '%s\n' "${results[@]}" | grep -q FAILED

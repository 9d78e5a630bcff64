# Android-targeted builds WITHOUT the NDK (tests/android/run.sh): Debian's clang-16
# and lld-16 with an Android triple, against the sysroot tests/android/sysroot.sh
# makes. Not an NDK build and not bionic: see run.sh. Real builds use the NDK's own
# toolchain file (README, "Android").
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=tests/android/compat.toolchain.cmake
#         -DIBERT_ANDROID_ABI=arm64-v8a|armeabi-v7a -DIBERT_ANDROID_SYSROOT=<sysroot.sh's OUT>
#
# CMake's own "Android" platform insists on a real NDK, so this is a Linux target
# that sets ANDROID as the NDK's toolchain file does: CMakeLists.txt's Android
# settings (link flags, the JNI library) are the same for both.

# CMake reads this file again for its compiler checks; these come along.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES IBERT_ANDROID_ABI IBERT_ANDROID_SYSROOT)

set(CMAKE_SYSTEM_NAME Linux)
set(ANDROID TRUE)
set(ANDROID_ABI ${IBERT_ANDROID_ABI})
set(ANDROID_PLATFORM android-24)
if(IBERT_ANDROID_ABI STREQUAL "arm64-v8a")
  set(CMAKE_SYSTEM_PROCESSOR aarch64)
  set(CMAKE_C_COMPILER_TARGET aarch64-linux-android24)
elseif(IBERT_ANDROID_ABI STREQUAL "armeabi-v7a")
  set(CMAKE_SYSTEM_PROCESSOR armv7-a)
  set(CMAKE_C_COMPILER_TARGET armv7a-linux-androideabi24)
  # the NDK's armeabi-v7a code: ARMv7-A, Thumb-2, softfp; NEON only where neon/ asks
  set(CMAKE_C_FLAGS_INIT "-march=armv7-a -mthumb -mfpu=vfpv3-d16 -mfloat-abi=softfp")
else()
  message(FATAL_ERROR "IBERT_ANDROID_ABI must be arm64-v8a or armeabi-v7a, not '${IBERT_ANDROID_ABI}'")
endif()

set(CMAKE_C_COMPILER clang-16)
set(CMAKE_SYSROOT ${IBERT_ANDROID_SYSROOT})
set(CMAKE_EXE_LINKER_FLAGS_INIT -fuse-ld=lld)
set(CMAKE_SHARED_LINKER_FLAGS_INIT -fuse-ld=lld)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY) # no crtbegin_dynamic: no executables
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

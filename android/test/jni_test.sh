#!/usr/bin/env bash
# The Java API's test: compiles android/java and the test with javac, runs
# IbertModelTest on the shipped model in the given JVM, and compares what it prints
# with the Python package's results (android/test/expected.py) on the same library
# integers. Used by ctest on the host (android/CMakeLists.txt) and by
# tests/android/run.sh in an arm64 JVM under qemu.
#   jni_test.sh WORK JNI_DIR IBERT_LIBRARY JAVA [JAVA ARGS...]
# WORK: scratch folder; JNI_DIR: the folder of libibert_jni.so (java.library.path);
# IBERT_LIBRARY: a host libibert for expected.py. JAVAC (default javac) compiles.
set -euo pipefail
work=$1 jni_dir=$2 ibert_library=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
model=$repo/models/minilm-sst2.ibert sentences=$here/sentences.txt

rm -rf "$work" && mkdir -p "$work/classes"
"${JAVAC:-javac}" --release 8 -Xlint:-options -d "$work/classes" "$repo"/android/java/org/pyibert/*.java \
  "$here/org/pyibert/IbertModelTest.java"
PYTHONPATH=$repo PYIBERT_LIBRARY=$ibert_library python3 "$here/expected.py" "$model" "$sentences" >"$work/expected.txt"
"$@" -Djava.library.path="$jni_dir" -cp "$work/classes" org.pyibert.IbertModelTest "$model" "$sentences" \
  >"$work/got.txt"
if ! diff -u "$work/expected.txt" "$work/got.txt"; then
  echo "jni_test.sh: the Java API's results differ from the Python package's (above)" >&2
  exit 1
fi
echo "jni_test.sh: $(wc -l <"$work/got.txt") sentences identical to the Python package's"

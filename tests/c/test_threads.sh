#!/usr/bin/env bash
# test_threads on small random models (tests/fixtures/random_model.py) whose sizes
# do not divide evenly into column blocks or heads: one with spec-extreme values
# and no head (all hidden states compared), one with a head.
# Usage: test_threads.sh PATH/TO/test_threads. IBERT_TEST_EMULATOR runs a
# cross-compiled binary (CTest sets it from CMAKE_CROSSCOMPILING_EMULATOR).
set -euo pipefail
test_binary=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

PYTHONPATH=$repo python3 -c "
import sys
sys.path.insert(0, '$repo/tests/fixtures')
from random_model import write_random_model
write_random_model(sys.argv[1], seed=11, hidden_size=36, num_heads=3, intermediate_size=70, max_positions=33,
                   num_labels=0, extreme=True)
write_random_model(sys.argv[2], seed=12, hidden_size=20, num_heads=5, intermediate_size=52, max_positions=65,
                   num_labels=3)
" "$scratch/extreme.ibert" "$scratch/small.ibert"

# shellcheck disable=SC2086  # the emulator is a command with arguments
${IBERT_TEST_EMULATOR:-} "$test_binary" "$scratch/extreme.ibert" "$scratch/small.ibert"

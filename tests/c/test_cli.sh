#!/usr/bin/env bash
# ibert-cli end to end on a small random model (tests/fixtures/random_model.py):
# output lines and their shape, stdin, padding/cutting with --seq-len, --repeat,
# and errors with exit status 2. Usage: test_cli.sh PATH/TO/ibert-cli
# IBERT_CLI_EMULATOR (e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu") runs a
# cross-compiled ibert-cli; CTest sets it from CMAKE_CROSSCOMPILING_EMULATOR.
set -euo pipefail
cli_binary=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# shellcheck disable=SC2086  # the emulator is a command with arguments
cli() { ${IBERT_CLI_EMULATOR:-} "$cli_binary" "$@"; }

failures=0
check() {   # check DESCRIPTION EXPECTED ACTUAL
  if [ "$2" != "$3" ]; then
    printf 'FAIL: %s\n  expected: %q\n  actual:   %q\n' "$1" "$2" "$3" >&2
    failures=$((failures + 1))
  fi
}

model=$scratch/model.ibert
long_words=$(printf 'word %.0s' $(seq 40))
PYTHONPATH=$repo python3 -c "
import sys
sys.path.insert(0, '$repo/tests/fixtures')
from random_model import write_random_model
write_random_model(sys.argv[1], seed=3, num_labels=4, max_positions=24)
write_random_model(sys.argv[2], seed=4, num_labels=0)
write_random_model(sys.argv[3], seed=5, num_labels=0, pooling=('mean', True))
" "$model" "$scratch/no_head.ibert" "$scratch/embedding.ibert"

# One line per text: a label of the model, a probability with four decimals, the text.
out=$(cli "$model" --text "the film was great" --text "" --text "tabs	inside")
check "three --text give three lines" 3 "$(printf '%s\n' "$out" | wc -l)"
bad_lines=$(printf '%s\n' "$out" | grep -Ecv $'^LABEL_[0-3]\t(0\\.[0-9]{4}|1\\.0000)\t' || true)
check "every line is label<TAB>score<TAB>text" 0 "$bad_lines"
check "texts are echoed in order" $'the film was great\n\ntabs\tinside' "$(printf '%s\n' "$out" | cut -f3-)"

# The top label of four has probability at least 1/4.
low_scores=$(printf '%s\n' "$out" | awk -F'\t' '$2 < 0.25' | wc -l)
check "top-label probabilities are at least 1/num_labels" 0 "$low_scores"

# --stdin: blank lines skipped, line endings (LF or CRLF) removed; --text ones first.
stdin_out=$(printf 'first line\n\n   \nsecond line\r\n' | cli "$model" --stdin --text "the film was great")
check "--stdin texts" $'the film was great\nfirst line\nsecond line' "$(printf '%s\n' "$stdin_out" | cut -f3-)"
check "--stdin classifies like --text" "$(printf '%s\n' "$out" | head -1)" "$(printf '%s\n' "$stdin_out" | head -1)"

# Padding to the model's maximum (24 tokens) with masked positions, or running
# the forward pass again, must not change the result.
text="a few words of text"
plain=$(cli "$model" --text "$text")
check "--seq-len 24 (padded) and --repeat 3" "$plain" "$(cli "$model" --text "$text" --seq-len 24 --repeat 3)"

# Threads share each forward pass and change nothing in the output (the scores
# have four decimals, so a different logit would likely show).
texts=(--text "the film was great" --text "" --text "$text" --text "$long_words")
one_thread=$(cli "$model" "${texts[@]}" --threads 1 2>/dev/null)
check "--threads 2 prints what --threads 1 does" "$one_thread" "$(cli "$model" "${texts[@]}" --threads 2 2>/dev/null)"
check "--threads=3 prints what --threads 1 does" "$one_thread" "$(cli "$model" "${texts[@]}" --threads=3 2>/dev/null)"
check "--threads 2 with padding" "$plain" "$(cli "$model" --text "$text" --seq-len 24 --threads 2)"
check "--seq-len=N form" "$plain" "$(cli "$model" --text="$text" --seq-len=24)"

# Cutting: 2 tokens leaves only the opening and closing special tokens, which is
# what the empty text tokenizes to.
check "--seq-len 2 cuts to [CLS] [SEP]" "$(cli "$model" --text "" | cut -f1,2)" \
  "$(cli "$model" --text "$text" --seq-len 2 | cut -f1,2)"

# A text longer than the model takes is cut with a warning.
warning=$(cli "$model" --text "$long_words" 2>&1 >/dev/null)
check "long text warns" 1 "$(printf '%s\n' "$warning" | grep -c 'so it was cut')"

# Errors: exit status 2 and a message.
expect_error() {   # expect_error DESCRIPTION MESSAGE_PART ARGS...
  local description=$1 message=$2 status=0 err
  shift 2
  err=$(cli "$@" 2>&1 >/dev/null) || status=$?
  check "$description: exit status" 2 "$status"
  check "$description: message" 1 "$(printf '%s\n' "$err" | grep -c -- "$message")"
}
expect_error "missing model file" "cannot open" "$scratch/missing.ibert" --text x
expect_error "no text" "no text" "$model"
expect_error "no model" "no MODEL" --text x
expect_error "unknown option" "unknown option: --colour" "$model" --text x --colour
expect_error "bad --repeat" "--repeat needs an integer" "$model" --text x --repeat 0
expect_error "--threads 0" "--threads needs an integer from 1 to 64" "$model" --text x --threads 0
expect_error "--threads beyond the cap" "--threads needs an integer from 1 to 64" "$model" --text x --threads 65
expect_error "--seq-len beyond the model" "more than the 24 tokens" "$model" --text x --seq-len 25
expect_error "invalid UTF-8" "text 2: .*UTF-8" "$model" --text ok --text $'\xff'
expect_error "model without a head" "no classification head" "$scratch/no_head.ibert" --text x

# A sentence-embedding model: a line naming the scale, then per text 32 integers<TAB>text.
out=$(cli "$scratch/embedding.ibert" --text "one text" --text "two")
check "scale line first" "# sentence embeddings: 32 integers per text, each times 1 * 2^-15 (unit length)" \
  "$(printf '%s\n' "$out" | head -1)"
bad_lines=$(printf '%s\n' "$out" | tail -n +2 | grep -Ecv $'^-?[0-9]+( -?[0-9]+){31}\t(one text|two)$' || true)
check "every embedding line is 32 integers<TAB>text" 0 "$bad_lines"

help=$(cli --help)
check "--help mentions every option" 6 "$(printf '%s\n' "$help" | grep -Ec -- '^  --(text|stdin|threads|seq-len|repeat|help)')"

if [ "$failures" -ne 0 ]; then
  echo "test_cli.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "test_cli.sh: all checks passed"

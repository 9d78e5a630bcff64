#!/usr/bin/env python3
"""Generate runtime/src/tokenizer/unicode_tables.c, the Unicode data the C tokenizers use.

Usage (from the repository root; the output is committed):

    python3 runtime/tools/gen_unicode_tables.py > runtime/src/tokenizer/unicode_tables.c

The data comes from Python's `unicodedata` (the Unicode version is written into the
output). The output depends only on that version and on the constants below, so running
the script twice gives the same file.

What the tables are for, and which Hugging Face `tokenizers` behaviour each reproduces:

* white_space: Unicode White_Space = Zs + Zl + Zp + U+0009..U+000D + U+0085. This is
  Rust's `char::is_whitespace`, the regex crates' `\\s` and Oniguruma's Unicode `\\s`.
* letter / number: general categories L* and N*, for the GPT-2 split regex (\\p{L}, \\p{N}).
  HF runs that regex with Oniguruma, whose tables in tokenizers 0.23 are Unicode 16.0, newer
  than this Python's; ONIGURUMA_UNICODE_16_ADDITIONS adds the letters and numbers Unicode
  15.0-16.0 assigned. They were found by asking tokenizers' ByteLevel pre-tokenizer, for every
  code point whose L/N membership differs between `unicodedata` 14.0 and the `regex` module
  (Unicode 17.0), whether it joins a run of letters ("a" + c) or digits ("0" + c): it did for
  exactly these, and for none of the Unicode 17.0 additions.
* word: the regex crate's Unicode `\\w` (Alphabetic + Mark + Nd + Pc + Join_Control), used
  by the single_word option of added tokens. `unicodedata` has no Other_Alphabetic
  property; the non-mark Other_Alphabetic characters (circled and squared Latin letters)
  are listed in OTHER_ALPHABETIC_NON_MARKS.
* bert_control, bert_punctuation, bert_nonspacing_mark: BertNormalizer and
  BertPreTokenizer test "other" (Cc+Cf+Co), punctuation (P*) and non-spacing mark (Mn)
  with the Rust crate unicode_categories 0.1.1, whose tables are Unicode 8.0. Characters
  assigned or re-categorized after 8.0 therefore behave differently in HF than the current
  categories say (HF does not split on U+2E45, does not strip U+1AC1). CRATE_UNICODE_8_0
  lists, per property, the code points where Unicode 8.0 (the crate) and the Unicode
  version of this Python differ; they were found by comparing the crate's published
  tables with `unicodedata` 14.0.0, and the script checks they still hold.
  ASCII punctuation (33-47, 58-64, 91-96, 123-126) is added to bert_punctuation because
  BertPreTokenizer also splits on `char::is_ascii_punctuation`.
* lowercase: Rust's `char::to_lowercase`, the full mapping without context (so U+03A3
  always becomes U+03C3, and U+0130 becomes U+0069 U+0307). `str.lower()` of a single
  character gives exactly that. The Rust standard library tokenizers 0.23 is built with has
  Unicode 17.0 case mappings; RUST_LOWERCASE_ADDITIONS has the 55 that Unicode 15.0-17.0 added
  (found by comparing tokenizers' Lowercase normalizer with `str.lower()` on every code point).
* decomposition / combining class: canonical decomposition (NFD) of each character, fully
  recursive, and canonical combining classes for the canonical ordering. Hangul syllables
  are decomposed algorithmically in unicode.c and are not in the table. HF's NFD is the
  crate unicode-normalization-alignments, whose tables are Unicode 9.0: to it the combining
  marks assigned later are starters (class 0), which changes the canonical order and so the
  offsets of the characters around them, and U+11938 (Unicode 13.0) has no decomposition.
  NFD_CRATE_UNICODE_9_0 lists them; they were found by asking tokenizers' NFD normalizer,
  for every code point with a class in `unicodedata` 14.0, whether it moves past a mark of
  a lower class, and comparing its decomposition of every code point with `unicodedata`'s.
"""

import sys
import unicodedata

MAX_CODE_POINT = 0x10FFFF

# Code points whose category differs between the unicode_categories crate (Unicode 8.0)
# and Unicode 14.0: "remove" = in the current category but not in the crate's table
# (assigned after 8.0, or moved into the category later); "add" = in the crate's table
# but in another category now.
CRATE_UNICODE_8_0 = {
    "bert_control": {
        "remove": [(0x0890, 0x0891), (0x08E2, 0x08E2), (0x110CD, 0x110CD), (0x13430, 0x13438)],
        "add": [],
    },
    "bert_punctuation": {
        "remove": [
            (0x061D, 0x061D), (0x09FD, 0x09FD), (0x0A76, 0x0A76), (0x0C77, 0x0C77),
            (0x0C84, 0x0C84), (0x1B7D, 0x1B7E), (0x2E43, 0x2E4F), (0x2E52, 0x2E5D),
            (0x10EAD, 0x10EAD), (0x10F55, 0x10F59), (0x10F86, 0x10F89), (0x1144B, 0x1144F),
            (0x1145A, 0x1145B), (0x1145D, 0x1145D), (0x11660, 0x1166C), (0x116B9, 0x116B9),
            (0x1183B, 0x1183B), (0x11944, 0x11946), (0x119E2, 0x119E2), (0x11A3F, 0x11A46),
            (0x11A9A, 0x11A9C), (0x11A9E, 0x11AA2), (0x11C41, 0x11C45), (0x11C70, 0x11C71),
            (0x11EF7, 0x11EF8), (0x11FFF, 0x11FFF), (0x12FF1, 0x12FF2), (0x16E97, 0x16E9A),
            (0x16FE2, 0x16FE2), (0x1E95E, 0x1E95F),
        ],
        "add": [(0x166D, 0x166D), (0x111C9, 0x111C9)],
    },
    "bert_nonspacing_mark": {
        "remove": [
            (0x07FD, 0x07FD), (0x0898, 0x089F), (0x08CA, 0x08E1), (0x09FE, 0x09FE),
            (0x0AFA, 0x0AFF), (0x0B55, 0x0B55), (0x0C04, 0x0C04), (0x0C3C, 0x0C3C),
            (0x0D00, 0x0D00), (0x0D3B, 0x0D3C), (0x0D81, 0x0D81), (0x0EBA, 0x0EBA),
            (0x180F, 0x180F), (0x1885, 0x1886), (0x1ABF, 0x1ACE), (0x1DF6, 0x1DFB),
            (0xA82C, 0xA82C), (0xA8C5, 0xA8C5), (0xA8FF, 0xA8FF), (0xA9BD, 0xA9BD),
            (0x10D24, 0x10D27), (0x10EAB, 0x10EAC), (0x10F46, 0x10F50), (0x10F82, 0x10F85),
            (0x11070, 0x11070), (0x11073, 0x11074), (0x110C2, 0x110C2), (0x111C9, 0x111C9),
            (0x111CF, 0x111CF), (0x1123E, 0x1123E), (0x1133B, 0x1133B), (0x11438, 0x1143F),
            (0x11442, 0x11444), (0x11446, 0x11446), (0x1145E, 0x1145E), (0x1182F, 0x11837),
            (0x11839, 0x1183A), (0x1193B, 0x1193C), (0x1193E, 0x1193E), (0x11943, 0x11943),
            (0x119D4, 0x119D7), (0x119DA, 0x119DB), (0x119E0, 0x119E0), (0x11A01, 0x11A0A),
            (0x11A33, 0x11A38), (0x11A3B, 0x11A3E), (0x11A47, 0x11A47), (0x11A51, 0x11A56),
            (0x11A59, 0x11A5B), (0x11A8A, 0x11A96), (0x11A98, 0x11A99), (0x11C30, 0x11C36),
            (0x11C38, 0x11C3D), (0x11C3F, 0x11C3F), (0x11C92, 0x11CA7), (0x11CAA, 0x11CB0),
            (0x11CB2, 0x11CB3), (0x11CB5, 0x11CB6), (0x11D31, 0x11D36), (0x11D3A, 0x11D3A),
            (0x11D3C, 0x11D3D), (0x11D3F, 0x11D45), (0x11D47, 0x11D47), (0x11D90, 0x11D91),
            (0x11D95, 0x11D95), (0x11D97, 0x11D97), (0x11EF3, 0x11EF4), (0x16F4F, 0x16F4F),
            (0x16FE4, 0x16FE4), (0x1CF00, 0x1CF2D), (0x1CF30, 0x1CF46), (0x1E000, 0x1E006),
            (0x1E008, 0x1E018), (0x1E01B, 0x1E021), (0x1E023, 0x1E024), (0x1E026, 0x1E02A),
            (0x1E130, 0x1E136), (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF), (0x1E944, 0x1E94A),
        ],
        "add": [(0x1734, 0x1734)],
    },
}
CRATE_DIFFERENCES_CHECKED_AGAINST = "14.0.0"

# Letters and numbers Unicode 15.0-16.0 added (Oniguruma's \p{L} / \p{N} in tokenizers 0.23).
ONIGURUMA_UNICODE_16_ADDITIONS = {
    "letter": [
        (0x1C89, 0x1C8A), (0xA7CB, 0xA7CD), (0xA7DA, 0xA7DC), (0x105C0, 0x105F3), (0x10D4A, 0x10D65),
        (0x10D6F, 0x10D85), (0x10EC2, 0x10EC4), (0x1123F, 0x11240), (0x11380, 0x11389),
        (0x1138B, 0x1138B), (0x1138E, 0x1138E), (0x11390, 0x113B5), (0x113B7, 0x113B7),
        (0x113D1, 0x113D1), (0x113D3, 0x113D3), (0x11BC0, 0x11BE0), (0x11F02, 0x11F02),
        (0x11F04, 0x11F10), (0x11F12, 0x11F33), (0x1342F, 0x1342F), (0x13441, 0x13446),
        (0x13460, 0x143FA), (0x16100, 0x1611D), (0x16D40, 0x16D6C), (0x18CFF, 0x18CFF),
        (0x1B132, 0x1B132), (0x1B155, 0x1B155), (0x1DF25, 0x1DF2A), (0x1E030, 0x1E06D),
        (0x1E4D0, 0x1E4EB), (0x1E5D0, 0x1E5ED), (0x1E5F0, 0x1E5F0), (0x2B739, 0x2B739),
        (0x2EBF0, 0x2EE5D), (0x31350, 0x323AF),
    ],
    "number": [
        (0x10D40, 0x10D49), (0x116D0, 0x116E3), (0x11BF0, 0x11BF9), (0x11F50, 0x11F59),
        (0x16130, 0x16139), (0x16D70, 0x16D79), (0x1CCF0, 0x1CCF9), (0x1D2C0, 0x1D2D3),
        (0x1E4F0, 0x1E4F9), (0x1E5F1, 0x1E5FA),
    ],
}

# Case pairs Unicode 15.0-17.0 added (Rust's char::to_lowercase in tokenizers 0.23):
# (first uppercase, last uppercase, lowercase of first); consecutive within a run.
RUST_LOWERCASE_ADDITIONS = [
    (0x1C89, 0x1C89, 0x1C8A), (0xA7CB, 0xA7CB, 0x0264), (0xA7CC, 0xA7CC, 0xA7CD),
    (0xA7CE, 0xA7CE, 0xA7CF), (0xA7D2, 0xA7D2, 0xA7D3), (0xA7D4, 0xA7D4, 0xA7D5),
    (0xA7DA, 0xA7DA, 0xA7DB), (0xA7DC, 0xA7DC, 0x019B), (0x10D50, 0x10D65, 0x10D70),
    (0x16EA0, 0x16EB8, 0x16EBB),
]

# Other_Alphabetic characters that are not marks (so not covered by "Mark" in \w).
OTHER_ALPHABETIC_NON_MARKS = [(0x24B6, 0x24E9), (0x1F130, 0x1F149), (0x1F150, 0x1F169),
                              (0x1F170, 0x1F189)]
JOIN_CONTROL = [(0x200C, 0x200D)]

ASCII_PUNCTUATION = [(33, 47), (58, 64), (91, 96), (123, 126)]
HANGUL_SYLLABLES = (0xAC00, 0xD7A3)

# What HF's NFD crate (Unicode 9.0) lacks: combining classes of marks assigned after 9.0
# (class 0 there), and decompositions of characters assigned after 9.0.
NFD_CRATE_UNICODE_9_0 = {
    "no_combining_class": [
        (0x07FD, 0x07FD), (0x0898, 0x089F), (0x08CA, 0x08D3), (0x09FE, 0x09FE), (0x0C3C, 0x0C3C),
        (0x0D3B, 0x0D3C), (0x0EBA, 0x0EBA), (0x1715, 0x1715), (0x1ABF, 0x1ACE), (0x1DF6, 0x1DFA),
        (0xA82C, 0xA82C), (0x10D24, 0x10D27), (0x10EAB, 0x10EAC), (0x10F46, 0x10F50),
        (0x10F82, 0x10F85), (0x11070, 0x11070), (0x1133B, 0x1133B), (0x1145E, 0x1145E),
        (0x11839, 0x1183A), (0x1193D, 0x1193E), (0x11943, 0x11943), (0x119E0, 0x119E0),
        (0x11A34, 0x11A34), (0x11A47, 0x11A47), (0x11A99, 0x11A99), (0x11D42, 0x11D42),
        (0x11D44, 0x11D45), (0x11D97, 0x11D97), (0x16FF0, 0x16FF1), (0x1E130, 0x1E136),
        (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF),
    ],
    "no_decomposition": [(0x11938, 0x11938)],
}


def category(cp):
    return unicodedata.category(chr(cp))


def code_points_where(predicate):
    return {cp for cp in range(MAX_CODE_POINT + 1) if predicate(cp)}


def expand(ranges):
    return {cp for first, last in ranges for cp in range(first, last + 1)}


def to_ranges(code_points):
    ranges = []
    for cp in sorted(code_points):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    return [tuple(r) for r in ranges]


def with_onig_additions(name, current):
    added = expand(ONIGURUMA_UNICODE_16_ADDITIONS[name])
    if unicodedata.unidata_version == CRATE_DIFFERENCES_CHECKED_AGAINST and added & current:
        sys.exit(f"gen_unicode_tables: ONIGURUMA_UNICODE_16_ADDITIONS[{name!r}] overlaps unicodedata")
    return current | added


def crate_adjusted(name, current):
    """The current set with the crate's Unicode 8.0 differences applied."""
    diff = CRATE_UNICODE_8_0[name]
    removed, added = expand(diff["remove"]), expand(diff["add"])
    if unicodedata.unidata_version == CRATE_DIFFERENCES_CHECKED_AGAINST:
        if not removed <= current or added & current:
            sys.exit(f"gen_unicode_tables: CRATE_UNICODE_8_0[{name!r}] does not match "
                     f"unicodedata {unicodedata.unidata_version}")
    else:
        sys.stderr.write(f"warning: unicodedata is {unicodedata.unidata_version}; the crate "
                         f"differences were checked against {CRATE_DIFFERENCES_CHECKED_AGAINST}"
                         ": re-derive them\n")
    return (current - removed) | added


def property_sets():
    white_space = code_points_where(lambda cp: category(cp) in ("Zs", "Zl", "Zp"))
    white_space |= expand([(0x09, 0x0D), (0x85, 0x85)])
    letter = with_onig_additions("letter", code_points_where(lambda cp: category(cp).startswith("L")))
    number = with_onig_additions("number", code_points_where(lambda cp: category(cp).startswith("N")))
    word = code_points_where(
        lambda cp: category(cp)[0] in "LM" or category(cp) in ("Nl", "Nd", "Pc"))
    word |= expand(OTHER_ALPHABETIC_NON_MARKS) | expand(JOIN_CONTROL)
    control = code_points_where(lambda cp: category(cp) in ("Cc", "Cf", "Co"))
    punctuation = code_points_where(lambda cp: category(cp).startswith("P"))
    nonspacing = code_points_where(lambda cp: category(cp) == "Mn")
    return [
        ("white_space", white_space),
        ("letter", letter),
        ("number", number),
        ("word", word),
        ("bert_control", crate_adjusted("bert_control", control)),
        ("bert_punctuation",
         crate_adjusted("bert_punctuation", punctuation) | expand(ASCII_PUNCTUATION)),
        ("bert_nonspacing_mark", crate_adjusted("bert_nonspacing_mark", nonspacing)),
    ]


def lowercase_tables():
    """Single-code-point mappings as runs (first, last, stride, delta) and the rest as a list."""
    additions = {first + k: target + k for first, last, target in RUST_LOWERCASE_ADDITIONS
                 for k in range(last - first + 1)}
    single, multiple = [], []
    for cp in range(MAX_CODE_POINT + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        lower = chr(cp).lower()
        if cp in additions:
            if lower != chr(cp) and ord(lower) != additions[cp]:
                sys.exit(f"gen_unicode_tables: U+{cp:04X} lowercases differently than listed")
            lower = chr(additions[cp])
        if lower == chr(cp):
            continue
        if len(lower) == 1:
            single.append((cp, ord(lower) - cp))
        else:
            multiple.append((cp, [ord(c) for c in lower]))
    runs = []  # [first, last, stride, delta]
    for cp, delta in single:
        if runs:
            run = runs[-1]
            stride = cp - run[1]
            if run[3] == delta and (run[0] == run[1] and stride in (1, 2) or stride == run[2]):
                run[1], run[2] = cp, stride
                continue
        runs.append([cp, cp, 1, delta])
    return runs, multiple


def decomposition_tables():
    decompositions, combining = [], []
    no_class = expand(NFD_CRATE_UNICODE_9_0["no_combining_class"])
    no_decomposition = expand(NFD_CRATE_UNICODE_9_0["no_decomposition"])
    if unicodedata.unidata_version == CRATE_DIFFERENCES_CHECKED_AGAINST:
        if any(not unicodedata.combining(chr(cp)) for cp in no_class) or any(
                unicodedata.normalize("NFD", chr(cp)) == chr(cp) for cp in no_decomposition):
            sys.exit(f"gen_unicode_tables: NFD_CRATE_UNICODE_9_0 does not match unicodedata "
                     f"{unicodedata.unidata_version}")
    for cp in range(MAX_CODE_POINT + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ccc = 0 if cp in no_class else unicodedata.combining(chr(cp))
        if ccc:
            combining.append((cp, ccc))
        if HANGUL_SYLLABLES[0] <= cp <= HANGUL_SYLLABLES[1] or cp in no_decomposition:
            continue
        nfd = unicodedata.normalize("NFD", chr(cp))
        if nfd != chr(cp):
            decompositions.append((cp, [ord(c) for c in nfd]))
    ccc_runs = []  # [first, last, class]
    for cp, ccc in combining:
        if ccc_runs and ccc_runs[-1][1] == cp - 1 and ccc_runs[-1][2] == ccc:
            ccc_runs[-1][1] = cp
        else:
            ccc_runs.append([cp, cp, ccc])
    return decompositions, ccc_runs


def emit_rows(out, rows, per_line):
    for i in range(0, len(rows), per_line):
        out.append("    " + " ".join(rows[i:i + per_line]))


def main():
    out = [
        "/* unicode_tables.c: GENERATED by runtime/tools/gen_unicode_tables.py from Python's",
        f" * unicodedata (Unicode {unicodedata.unidata_version}); do not edit. See the script for what",
        " * each table reproduces. */",
        '#include "unicode_tables.h"',
    ]
    for name, code_points in property_sets():
        ranges = to_ranges(code_points)
        out.append("")
        out.append(f"const unicode_range unicode_{name}_ranges[] = {{")
        emit_rows(out, [f"{{0x{a:04X}, 0x{b:04X}}}," for a, b in ranges], 5)
        out.append("};")
        out.append(f"const size_t unicode_{name}_count = {len(ranges)};")

    runs, multiple = lowercase_tables()
    max_lower = max(len(m) for _, m in multiple)
    assert max_lower <= 3, "UNICODE_MAX_LOWERCASE in unicode.h is 3"
    out.append("")
    out.append("const unicode_case_run unicode_lowercase_runs[] = {")
    emit_rows(out, [f"{{0x{a:04X}, 0x{b:04X}, {s}, {d}}}," for a, b, s, d in runs], 3)
    out.append("};")
    out.append(f"const size_t unicode_lowercase_run_count = {len(runs)};")
    out.append("")
    out.append("const unicode_multi_mapping unicode_lowercase_multi[] = {")
    for cp, targets in multiple:
        padded = targets + [0] * (3 - len(targets))
        out.append(f"    {{0x{cp:04X}, {len(targets)}, {{"
                   + ", ".join(f"0x{t:04X}" for t in padded) + "}},")
    out.append("};")
    out.append(f"const size_t unicode_lowercase_multi_count = {len(multiple)};")

    decompositions, ccc_runs = decomposition_tables()
    assert max(len(d) for _, d in decompositions) <= 4, "UNICODE_MAX_DECOMPOSITION is 4"
    pool, entries = [], []
    for cp, targets in decompositions:
        entries.append(f"{{0x{cp:04X}, {len(pool)}, {len(targets)}}},")
        pool.extend(targets)
    assert len(pool) < 65536
    out.append("")
    out.append("const unicode_decomposition unicode_decompositions[] = {")
    emit_rows(out, entries, 4)
    out.append("};")
    out.append(f"const size_t unicode_decomposition_count = {len(entries)};")
    out.append("")
    out.append("const uint32_t unicode_decomposition_pool[] = {")
    emit_rows(out, [f"0x{t:04X}," for t in pool], 8)
    out.append("};")
    out.append("")
    out.append("const unicode_class_run unicode_combining_class_runs[] = {")
    emit_rows(out, [f"{{0x{a:04X}, 0x{b:04X}, {c}}}," for a, b, c in ccc_runs], 4)
    out.append("};")
    out.append(f"const size_t unicode_combining_class_run_count = {len(ccc_runs)};")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()

"""Seed inputs of the fuzz/ harnesses, written by bench/fuzz.py.

Model loader: small real model files, each made by the project's converter from a tiny random checkpoint
of tests/fixtures/tiny_checkpoint.py (BERT classifier with WordPiece, RoBERTa classifier with byte-level
BPE, headless RoBERTa), plus one random model at the limits FORMAT.md allows (tests/fixtures/random_model.py).
They are tens of kilobytes, so an execution parses, validates and runs a whole model in well under a
millisecond; the 22 MB shipped model would make each execution about a thousand times slower.

Tokenizers: texts covering the normalizer's and pre-tokenizers' cases, valid UTF-8 and every kind of
invalid UTF-8. Each seed's first byte is the ids capacity fuzz_tokenize.c reads.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"

# (file name, architecture) of the converter-made seeds.
CHECKPOINTS = [("bert-classifier.ibert", "BertForSequenceClassification"),
               ("roberta-classifier.ibert", "RobertaForSequenceClassification"),
               ("roberta-headless.ibert", "RobertaModel")]

TEXTS = [
    "a gorgeous , witty , seductive movie .",
    "It's NOT the film I'd expected... 10/10!",
    "Café naïve façade, Ångström, Straße, ﬁnance",          # accents, ligature, sharp s
    "日本語のテキスト와 한국어 中文",                         # CJK: split per character in BERT
    "emoji 👍🏽 and ZWJ 👨‍👩‍👧 sequences",
    "tabs\tnew\nlines\r\x0bcontrol\x00nul\x7fdel\u200bzero width",
    "  leading and trailing spaces   ",
    "unbelievably" * 20,                                     # one word longer than max_word_chars
    "[CLS] [SEP] [UNK] <s> </s> <mask> special tokens as text",
    "'s 've 're 'll 'd   12345 $%^&",                         # GPT-2 contractions, digits, symbols
]
INVALID_UTF8 = [
    b"\x80 lone continuation",
    b"\xc0\xaf overlong slash",
    b"\xe0\x80\xaf overlong three bytes",
    b"\xed\xa0\x80 surrogate",
    b"\xf4\x90\x80\x80 above U+10FFFF",
    b"truncated \xe2\x82",
    b"\xff\xfe\xfd invalid bytes",
    b"mixed \xc3\xa9 \xc3 \xa9 ok",
]
CAPACITIES = [255, 8, 1, 0]


def write_tokenizer_seeds(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    texts = [t.encode() for t in TEXTS] + INVALID_UTF8
    for i, text in enumerate(texts):
        capacity = CAPACITIES[i % len(CAPACITIES)]
        (directory / f"text-{i:02d}").write_bytes(bytes([capacity]) + text)


def write_model_seeds(directory: Path, scratch: Path, shared_data: Path) -> None:
    """The converter-made and random seed models; skips files already there (they take a minute).
    The tiny checkpoints' tokenizers are trained on SST-2 sentences from `shared_data`."""
    directory.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(FIXTURES))
    import random_model
    from tiny_checkpoint import make_checkpoint, sst2_sentences

    from pyibert.convert import convert_checkpoint

    texts = sst2_sentences(600, data=shared_data)
    calibration = scratch / "calibration.txt"
    calibration.parent.mkdir(parents=True, exist_ok=True)
    calibration.write_text("\n".join(texts[:32]) + "\n", encoding="utf-8")
    for name, architecture in CHECKPOINTS:
        out = directory / name
        if not out.exists():
            src = make_checkpoint(scratch / architecture, architecture, texts)
            convert_checkpoint(src, out, calibration=calibration, progress=False)
    extreme = directory / "random-extreme.ibert"
    if not extreme.exists():
        random_model.write_random_model(extreme, seed=1, extreme=True, num_layers=1, hidden_size=16,
                                        num_heads=2, tokenizer="gpt2")

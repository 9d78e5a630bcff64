"""`pyibert classify MODEL TEXT... [--file F] [--json]`."""
from __future__ import annotations

import json
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="classify texts with a .ibert model",
        description="Print one line per text: label, score (softmax probability), text.",
    )
    parser.add_argument("model", help="the .ibert model file")
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="texts to classify")
    parser.add_argument("--file", "-f", help="read texts from this file, one per line ('-' for standard input)")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON object: {"results": [{"text", "label", "score"}, ...]}')
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per forward pass, 1 to 64 (default: one per core, at most 8)")
    parser.set_defaults(run=run)


def _read_texts(args) -> list[str]:
    texts = list(args.texts)
    if args.file:
        stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
        with stream:
            texts.extend(line.rstrip("\n") for line in stream if line.strip())
    if not texts:
        raise ValueError("no text given: give TEXT arguments or --file")
    return texts


def run(args) -> int:
    from ..model import Model

    texts = _read_texts(args)
    with Model(args.model, threads=args.threads) as model:
        results = model.classify(texts)
    if args.json:
        print(json.dumps({"results": [{"text": t, **r} for t, r in zip(texts, results)]}, ensure_ascii=False))
    else:
        for text, result in zip(texts, results):
            print(f"{result['label']}\t{result['score']:.4f}\t{text}")
    return 0

"""`pyibert classify MODEL TEXT... [--file F] [--json]`."""
from __future__ import annotations

import json

from .texts import add_text_arguments, read_texts


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="classify texts with a .ibert model",
        description="Print one line per text: label, score (softmax probability), text.",
    )
    parser.add_argument("model", help="the .ibert model file")
    add_text_arguments(parser, "classify")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON object: {"results": [{"text", "label", "score"}, ...]}')
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per forward pass, 1 to 64 (default: one per core, at most 8)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..model import Model

    texts = read_texts(args, "classify")
    with Model(args.model, threads=args.threads) as model:
        results = model.classify(texts)
    if args.json:
        print(json.dumps({"results": [{"text": t, **r} for t, r in zip(texts, results)]}, ensure_ascii=False))
    else:
        for text, result in zip(texts, results):
            print(f"{result.get('label', 'score')}\t{result['score']:.4f}\t{text}")   # regression: no label
    return 0

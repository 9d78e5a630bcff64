"""`pyibert fill-mask MODEL TEXT... [--file F] [--top-k K] [--json]`."""
from __future__ import annotations

import json

from .texts import add_text_arguments, read_texts


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "fill-mask",
        help="predict the tokens at the mask tokens of texts with a fill-mask .ibert model",
        description="For each mask token ([MASK], <mask>) of each text, print the top-k tokens: score "
        "(softmax probability), token, the text with it filled in.",
    )
    parser.add_argument("model", help="a fill-mask .ibert model (converted from a *ForMaskedLM checkpoint)")
    add_text_arguments(parser, "fill (each with one or more mask tokens)")
    parser.add_argument("--top-k", type=int, default=5, help="predictions per mask token (default 5)")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON object: {"results": [{"text", "masks": [[{"score", "token", '
                        '"token_str", "sequence"}, ...], ...]}, ...]}')
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per forward pass, 1 to 64 (default: one per core, at most 8)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..model import Model

    texts = read_texts(args, "fill")
    with Model(args.model, threads=args.threads) as model:
        results = model.fill_mask(texts, top_k=args.top_k)
    # one list per mask token, whatever the number of masks
    per_text = [[r] if r and isinstance(r[0], dict) else r for r in results]
    if args.json:
        print(json.dumps({"results": [{"text": t, "masks": masks} for t, masks in zip(texts, per_text)]},
                         ensure_ascii=False))
        return 0
    for text, masks in zip(texts, per_text):
        print(text)
        for number, predictions in enumerate(masks, 1):
            for p in predictions:
                print(f"  mask {number}\t{p['score']:.4f}\t{p['token_str']}\t{p['sequence']}")
    return 0

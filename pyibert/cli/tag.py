"""`pyibert tag MODEL TEXT... [--file F] [--aggregation simple] [--json]`: token classification."""
from __future__ import annotations

import json

from ..tasks.tag import AGGREGATIONS
from .texts import add_text_arguments, read_texts


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "tag",
        help="label the words of texts with a token-classification .ibert model",
        description="Print each text's entities, one per line: entity, score, start-end (character offsets), "
        "word; a blank line between texts.",
    )
    parser.add_argument("model", help="the .ibert model file (task token-classification)")
    add_text_arguments(parser, "tag")
    parser.add_argument("--aggregation", choices=AGGREGATIONS, default="simple",
                        help="how tokens group into entities, as transformers' token-classification pipeline "
                        "(default: simple)")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON object: {"results": [{"text", "entities": [{"entity", "score", '
                        '"word", "start", "end"}, ...]}, ...]}')
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per forward pass, 1 to 64 (default: one per core, at most 8)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..model import Model

    texts = read_texts(args, "tag")
    with Model(args.model, threads=args.threads) as model:
        results = model.tag(texts, aggregation=args.aggregation)
    if args.json:
        print(json.dumps({"results": [{"text": t, "entities": r} for t, r in zip(texts, results)]},
                         ensure_ascii=False))
        return 0
    for i, entities in enumerate(results):
        if i:
            print()
        for e in entities:
            print(f"{e['entity']}\t{e['score']:.4f}\t{e['start']}-{e['end']}\t{e['word']}")
    return 0

"""`pyibert answer MODEL QUESTION (CONTEXT | --context-file F) [--top-k K] [--json]`: extractive question
answering."""
from __future__ import annotations

import json
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "answer",
        help="find the answer to a question in a context with a question-answering .ibert model",
        description="Print the best answers, one per line: score, start-end (character offsets into the "
        "context), answer.",
    )
    parser.add_argument("model", help="the .ibert model file (task question-answering)")
    parser.add_argument("question")
    parser.add_argument("context", nargs="?", help="the text to search (or --context-file)")
    parser.add_argument("--context-file", help="read the context from this file")
    parser.add_argument("--top-k", type=int, default=1, help="how many answers (default 1)")
    parser.add_argument("--max-answer-len", type=int, default=30, help="longest answer in tokens (default 30)")
    parser.add_argument("--doc-stride", type=int, default=128,
                        help="tokens two windows of a long context share (default 128)")
    parser.add_argument("--json", action="store_true",
                        help='print one JSON object: {"question", "answers": [{"answer", "score", "start", "end"}]}')
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per forward pass, 1 to 64 (default: one per core, at most 8)")
    parser.set_defaults(run=run)


def run(args) -> int:
    from ..model import Model

    if (args.context is None) == (args.context_file is None):
        raise ValueError("give the context either as an argument or with --context-file, not both")
    context = args.context if args.context is not None else Path(args.context_file).read_text(encoding="utf-8")
    with Model(args.model, threads=args.threads) as model:
        found = model.answer(args.question, context, top_k=args.top_k, max_answer_len=args.max_answer_len,
                             doc_stride=args.doc_stride)[0]
    answers = [found] if args.top_k == 1 and found is not None else (found or [])
    if args.json:
        print(json.dumps({"question": args.question, "answers": answers}, ensure_ascii=False))
    else:
        for a in answers:
            print(f"{a['score']:.4f}\t{a['start']}-{a['end']}\t{a['answer']}")
    return 0

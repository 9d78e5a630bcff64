"""Texts from the command line: TEXT arguments and a file (or standard input), one text per line."""
from __future__ import annotations

import sys


def add_text_arguments(parser, what: str) -> None:
    parser.add_argument("texts", nargs="*", metavar="TEXT", help=f"texts to {what}")
    parser.add_argument("--file", "-f", help="read texts from this file, one per line ('-' for standard input)")


def read_texts(args, what: str) -> list[str]:
    texts = list(args.texts)
    if args.file:
        stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
        with stream:
            texts.extend(line.rstrip("\n") for line in stream if line.strip())
    if not texts:
        raise ValueError(f"no text to {what}: give TEXT arguments or --file")
    return texts

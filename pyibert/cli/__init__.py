"""The `pyibert` command: convert, classify, tag, answer, eval, inspect, bench, compare."""
from __future__ import annotations

import argparse
import sys

from . import answer, bench, classify, compare, evaluate, inspect_model, tag


def _add_convert(subparsers) -> None:
    parser = subparsers.add_parser(
        "convert",
        help="convert a Hugging Face checkpoint directory into a .ibert model file",
        description="Convert a local Hugging Face checkpoint (BERT, RoBERTa or I-BERT; config.json, "
        "model.safetensors or pytorch_model.bin, tokenizer files) into one integer-only .ibert file.",
    )
    try:
        from ..convert.command import add_convert_arguments, run_convert
    except ImportError as error:  # the converter's dependencies are an extra
        # The message, not the exception: Python unbinds `error` when the except
        # block ends, so a lambda over it would raise NameError when called.
        message = str(error)
        parser.set_defaults(run=lambda args: missing_convert_extra("convert", message))
        parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        return
    add_convert_arguments(parser)
    parser.set_defaults(run=run_convert)


def missing_convert_extra(command: str, reason: str) -> int:
    print(f"pyibert {command} needs the converter's dependencies ({reason}); "
          "install them with: pip install \"pyibert[convert]\"", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pyibert",
        description="Integer-only BERT inference (I-BERT): convert Hugging Face checkpoints, "
        "classify text on the device.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_convert(subparsers)
    classify.add_parser(subparsers)
    tag.add_parser(subparsers)
    answer.add_parser(subparsers)
    evaluate.add_parser(subparsers)
    inspect_model.add_parser(subparsers)
    bench.add_parser(subparsers)
    compare.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError, TypeError) as error:
        print(f"pyibert {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

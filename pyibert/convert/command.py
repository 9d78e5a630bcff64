"""The `pyibert convert` subcommand: arguments, progress, the closing summary."""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from .errors import CalibrationWarning, ConversionError
from ..qbert.sensitivity import METHODS
from ..qbert.sizes import parse_size
from .budget import BudgetOptions
from .calibration import CALIBRATION_TOKENS
from .lowbit import EMBEDDING_WIDTHS, GROUP_SIZES, ROUNDINGS, WEIGHT_WIDTHS, LowBitPlan
from .pipeline import convert_checkpoint


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("src", type=Path, metavar="SRC",
                        help="Hugging Face checkpoint directory: config.json, model.safetensors or "
                        "pytorch_model.bin, and the tokenizer files (BertModel, BertForSequenceClassification, "
                        "RobertaModel, RobertaForSequenceClassification, IBertModel, "
                        "IBertForSequenceClassification)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.ibert",
                        help="the model file to write")
    parser.add_argument("--calibration", type=Path, metavar="FILE",
                        help="sample text to measure activation ranges on, required for float (BERT, RoBERTa) "
                        "checkpoints: a .txt file with one text per line, or a .tsv file with a header row. "
                        "Texts like the ones the model will see, as many as --calibration-tokens asks for (a few "
                        "hundred sentences, a few thousand short phrases). I-BERT checkpoints carry "
                        "their own ranges and take no calibration file")
    parser.add_argument("--text-column", default="sentence", metavar="NAME",
                        help="the .tsv column holding the text (default: %(default)s)")
    parser.add_argument("--pair-column", metavar="NAME",
                        help="for models that read two texts ([CLS] a [SEP] b [SEP]: pairs, question answering, "
                        "multiple choice): the .tsv calibration column with each row's second text")
    parser.add_argument("--calibration-tokens", type=_positive_int, default=CALIBRATION_TOKENS, metavar="T",
                        help="calibrate on the file's first texts until they hold T tokens: every channel's range is "
                        "the largest value it takes, so short texts need more rows (default: %(default)s)")
    parser.add_argument("--max-calibration", type=_positive_int, metavar="N",
                        help="and on at most N texts (default: as many as --calibration-tokens needs)")
    parser.add_argument("--weight-bits", type=int, choices=WEIGHT_WIDTHS, default=8, metavar="B",
                        help="width of every encoder linear layer's weights: 8 (int8), 6, 4, 3 or 2 bits, packed "
                        "(Q-BERT; default: %(default)s)")
    parser.add_argument("--embedding-bits", type=int, choices=EMBEDDING_WIDTHS, default=8, metavar="B",
                        help="width of the word embeddings: 8 (one scale for the table), or 4, 3, 2 bits with one "
                        "scale per row (default: %(default)s)")
    parser.add_argument("--group-size", type=int, choices=GROUP_SIZES, default=0, metavar="N",
                        help="low-bit weights in groups of N inputs along each output row, each group with its "
                        "own 6-bit integer sub-scale: 0 (one scale per row), 32, 64 or 128 (default: %(default)s)")
    parser.add_argument("--rounding", choices=ROUNDINGS, default="auto",
                        help="weight rounding: GPTQ's error-compensating rounding from the calibration activations, "
                        "or to nearest (low-bit: under searched clipping); auto is GPTQ for the int8 layers of a classifier, "
                        "tagger, QA or multiple-choice model and nearest for the rest (low-bit layers, hidden states, "
                        "sentence embeddings, fill-mask), the better of each as measured (default: %(default)s)")
    parser.add_argument("--max-size", type=_size, metavar="SIZE",
                        help="the whole file must fit SIZE (12980000B, 12.98MB, 11MiB, 900kB: B, kB, MB powers of "
                        "10, KiB, MiB of 2): the widths of every encoder linear layer and of the word embeddings "
                        "are then chosen by Hessian sensitivity (--weight-bits and --embedding-bits are ignored)")
    parser.add_argument("--sensitivity", choices=METHODS, default="gauss-newton",
                        help="--max-size: top Hessian eigenvalue per layer (Q-BERT), Hutchinson trace (HAWQ-V2), or "
                        "the Gauss-Newton Hessian's quadratic form along each width's own quantization error "
                        "(default: %(default)s)")
    parser.add_argument("--hessian-samples", type=_positive_int, default=64, metavar="N",
                        help="--max-size: calibration texts the Hessian is measured on (default: %(default)s)")
    parser.add_argument("--label-column", metavar="NAME",
                        help="--max-size with eigen or trace: the .tsv calibration column with the texts' labels "
                        "(default: the float model's own predictions; gauss-newton needs no labels)")
    parser.add_argument("--json", action="store_true", help="print the closing report as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run_convert(args: argparse.Namespace) -> int:
    with warnings.catch_warnings():
        python_showwarning = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None) -> None:
            # a CalibrationWarning as the CLI's own line on stderr, not Python's file:line report
            if issubclass(category, CalibrationWarning):
                print(f"pyibert convert: warning: {message}", file=sys.stderr)
            else:
                python_showwarning(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        warnings.simplefilter("always", CalibrationWarning)   # the CLI's own output, whatever the filters say
        return _convert(args)


def _convert(args: argparse.Namespace) -> int:
    try:
        summary = convert_checkpoint(args.src, args.output, calibration=args.calibration,
                                     text_column=args.text_column, pair_column=args.pair_column,
                                     max_calibration=args.max_calibration,
                                     calibration_tokens=args.calibration_tokens,
                                     progress=not args.quiet,
                                     plan=LowBitPlan(args.weight_bits, args.embedding_bits, args.group_size,
                                                     args.rounding),
                                     budget=None if args.max_size is None else BudgetOptions(
                                         args.max_size, args.sensitivity, args.hessian_samples, args.label_column))
    except ConversionError as error:
        print(f"pyibert convert: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary.as_json()) if args.json else summary.format())
    return 0

"""`pyibert compare MODEL HF_DIR DATA`: where the integer model's values part from the checkpoint's.

Prints, per layer and step, the SQNR and cosine of the dequantized integers (numpy golden model)
against the Hugging Face checkpoint's real values on the same token ids, the drop from each step's
inputs, the head's steps, and at the output what the file's task decides: label agreement and mean
|Δ margin| (with --label-column both accuracies), scores' error and Spearman, tags per token, answer
start and end tokens, or masked tokens' top-1 agreement; with --cuts (classifiers) where the output's
error is made, by running the checkpoint in float from the file's integers after each step. --json prints pyibert.compare.ComparisonReport.to_json() as one object.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="find where a .ibert model loses accuracy: step-by-step error against its checkpoint",
        description="Run a .ibert model (the numpy golden model of its integer arithmetic) and the Hugging "
        "Face checkpoint it was converted from (FP32, or an I-BERT checkpoint in quant_mode) on the same "
        "texts, and print the error of every step of every layer and of the head (SQNR, cosine) and at "
        "the output (label agreement and margin; scores; tags; answer start and end; masked tokens). "
        "Needs pyibert[convert].",
    )
    parser.add_argument("model", type=Path, metavar="MODEL.ibert", help="the .ibert model file")
    parser.add_argument("hf_dir", type=Path, metavar="HF_DIR", help="the checkpoint directory it was converted from")
    parser.add_argument("data", type=Path, metavar="DATA",
                        help="texts: a .tsv file with a header row, or a .txt file with one text per line")
    parser.add_argument("--text-column", default="sentence", metavar="NAME",
                        help="the .tsv column holding the text (default: %(default)s)")
    parser.add_argument("--pair-column", metavar="NAME",
                        help="a .tsv column with each row's second text, for a model that reads pairs")
    parser.add_argument("--label-column", metavar="NAME",
                        help="a .tsv column of labels (names or ids): also report both accuracies")
    parser.add_argument("--limit", type=int, default=200, metavar="N",
                        help="compare on the first N texts (default: %(default)s; the golden model is numpy)")
    parser.add_argument("--cuts", action="store_true",
                        help="a sequence classifier from a float checkpoint: also run the checkpoint in float from "
                        "the file's integers after each step (layer norms, FFN up, the FFN's residual sum) to "
                        "the logits, and print agreement and mean |Δ margin| per cut: where the output's "
                        "error is made")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)


def _read_data(args) -> tuple[list[str], list[str] | None]:
    from ..convert.data import read_calibration_texts, read_labelled_texts

    if args.label_column is None:
        return read_calibration_texts(args.data, args.text_column, args.limit, what="data file",
                                      pair_column=args.pair_column), None
    return read_labelled_texts(args.data, args.text_column, args.label_column, args.limit, what="data file",
                               pair_column=args.pair_column)


def run(args) -> int:
    try:
        from ..compare import compare_model
    except ImportError as error:
        from . import missing_convert_extra
        return missing_convert_extra("compare", str(error))
    if args.limit < 1:
        raise ValueError(f"--limit must be at least 1, not {args.limit}")
    texts, labels = _read_data(args)
    report = compare_model(args.model, args.hf_dir, texts, labels, progress=not args.quiet and sys.stderr.isatty(),
                           cuts=args.cuts)
    print(json.dumps(report.to_json()) if args.json else report.format())
    return 0

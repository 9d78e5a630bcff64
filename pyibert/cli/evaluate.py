"""`pyibert eval MODEL DATA.tsv`: accuracy of a classifier on labelled text, and
with --reference, the FP32 accuracy of the original checkpoint on the same rows.

JSON keys: accuracy, n, correct; with --reference also reference_accuracy,
agreement (fraction of rows where both predict the same label) and
accuracy_delta (integer minus FP32, in percentage points).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ..tsv import label_ids, read_columns

_BATCH = 64


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="accuracy of a .ibert classifier on a labelled TSV file",
        description="Classify every row of a TSV file (with a header row) and report the accuracy. "
        "Labels may be ids (0, 1, ...) or label names. Other tasks: pairs (--pair-column), regression "
        "(Spearman), token classification (columns sentence, tags: token F1), question answering (columns "
        "question, context, answer: exact match, F1), multiple choice (columns prompt, choices ' | ', label: "
        "accuracy).",
    )
    parser.add_argument("model", help="the .ibert model file")
    parser.add_argument("data", help="a TSV file with a header row")
    parser.add_argument("--text-column", default="sentence", help="column with the text (default: sentence)")
    parser.add_argument("--label-column", default="label", help="column with the label (default: label)")
    parser.add_argument("--pair-column", help="column with the second text of a pair (sequence classification, "
                        "regression)")
    parser.add_argument("--reference", metavar="HF_DIR",
                        help="also run this Hugging Face checkpoint in FP32 on the same rows (needs pyibert[convert])")
    parser.add_argument("--limit", type=int, help="use only the first N rows")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per forward pass, 1 to 64 (default: one per core, at most 8)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def _batches(n: int, desc: str):
    starts = range(0, n, _BATCH)
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm is not a device dependency
        return starts
    return tqdm(starts, desc=desc, unit="batch", file=sys.stderr, disable=not sys.stderr.isatty())


def _integer_predictions(model, texts: list[str]) -> np.ndarray:
    return np.concatenate(
        [model.logits(texts[i : i + _BATCH]).argmax(axis=1) for i in _batches(len(texts), "pyibert")]
    )


def _reference_predictions(hf_dir: str, texts: list[str]) -> np.ndarray:
    try:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
    except ImportError as error:
        raise ValueError(f"--reference needs torch and transformers ({error}): pip install 'pyibert[convert]'")
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    model = AutoModelForSequenceClassification.from_pretrained(hf_dir).float().eval()
    predictions = []
    with torch.no_grad():
        for i in _batches(len(texts), "FP32 reference"):
            batch = tokenizer(texts[i : i + _BATCH], padding=True, truncation=True, return_tensors="pt")
            predictions.append(model(**batch).logits.argmax(dim=1).numpy())
    return np.concatenate(predictions)


def _print_task_result(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:<12} {value:.4f}" if isinstance(value, float) else f"{key:<12} {value}")


def run(args) -> int:
    from ..model import Model
    from ..tasks import names
    from .evaluate_tasks import evaluate_task

    with Model(args.model, threads=args.threads) as model:
        if model.task not in (names.SEQUENCE_CLASSIFICATION, names.ENCODER) or args.pair_column:
            if args.reference:
                raise ValueError("--reference compares single-text classifiers only")
            _print_task_result(evaluate_task(model, args), args.json)
            return 0
        return _evaluate_classifier(model, args)


def _evaluate_classifier(model, args) -> int:
    rows = read_columns(Path(args.data), [args.text_column, args.label_column])
    if args.limit is not None:
        rows = rows[: args.limit]
    if not rows:
        raise ValueError(f"{args.data} has no rows")
    texts = [text for text, _ in rows]
    if not model.num_labels:
        raise ValueError(f"{args.model} has no classification head")
    truth = np.array(label_ids([label for _, label in rows], model.labels))
    predicted = _integer_predictions(model, texts)
    result = {"n": len(rows), "correct": int((predicted == truth).sum()), "accuracy": float((predicted == truth).mean())}
    if args.reference:
        reference = _reference_predictions(args.reference, texts)
        result["reference_accuracy"] = float((reference == truth).mean())
        result["agreement"] = float((reference == predicted).mean())
        result["accuracy_delta"] = 100.0 * (result["accuracy"] - result["reference_accuracy"])
    if args.json:
        print(json.dumps(result))
    else:
        print(f"accuracy   {result['accuracy']:.4f}  ({result['correct']}/{result['n']}, integer-only)")
        if args.reference:
            print(f"reference  {result['reference_accuracy']:.4f}  (FP32, {args.reference})")
            print(f"delta      {result['accuracy_delta']:+.2f} points")
            print(f"agreement  {result['agreement']:.4f}  (same label as FP32)")
    return 0

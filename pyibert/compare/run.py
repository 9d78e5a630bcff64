"""compare_model: the golden model and the reference checkpoint on the same token ids, step by step."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from tqdm import tqdm
from transformers import AutoTokenizer

from ..golden import GoldenModel
from ..golden.model_file import ModelFile, read_model_file
from ..tasks import names
from ..tsv import label_ids
from .metrics import (StepError, masked_token_agreement, output_agreement, score_agreement, span_agreement,
                      token_agreement)
from .cuts import FloatContinuation, cut_points, cut_results
from .reference import Reference
from .report import ComparisonReport, StepResult
from .scales import step_scales, step_zero_points
from .steps import Step, model_steps

BATCH_SIZE = 16   # reference batches, of texts of about one length (sorted), so little padding


def _check_same_model(golden: GoldenModel, model_file: ModelFile, reference: Reference, model_path: Path,
                      hf_dir: Path) -> None:
    params, arch = reference.params, reference.checkpoint.arch
    pairs = (("layers", model_file.meta["num_layers"], len(params.layers)),
             ("hidden size", golden.hidden_size, params.token_embd.shape[1]),
             ("vocabulary", golden.vocab_size, params.token_embd.shape[0]),
             ("labels", golden.num_labels, 0 if params.cls_out is None else params.cls_out.weight.shape[0]))
    # a sentence-embedding file's checkpoint is the bare encoder (the pool is sentence-transformers')
    task = names.ENCODER if golden.task == names.SENTENCE_EMBEDDING else golden.task
    for what, ours, theirs in (("task", task, reference.task), *pairs):
        if ours != theirs:
            raise ValueError(f"{model_path} has {ours} {what} but {hf_dir} ({arch.name}) has {theirs}: "
                             "compare a model file with the checkpoint it was converted from")


def _drop(own: float | None, inputs: list[float | None]) -> float | None:
    """The worst input's SQNR minus the step's own (None where one of them is not measured: the
    channel SQNR of the context has no counterpart for P)."""
    if own is None or not inputs or None in inputs:
        return None
    return min(inputs) - own


def _step_results(steps: list[Step], errors: dict[str, StepError], reference: Reference) -> list[StepResult]:
    results = []
    for step in steps:
        error, inputs = errors[step.name], [errors[name] for name in step.inputs]
        results.append(StepResult(
            name=step.name, block=step.block, step=step.title,
            sqnr_db=error.sqnr_db, drop_db=_drop(error.sqnr_db, [e.sqnr_db for e in inputs]),
            channel_sqnr_db=error.channel_sqnr_db,
            channel_drop_db=_drop(error.channel_sqnr_db, [e.channel_sqnr_db for e in inputs]),
            cosine=error.cosine, saturated=error.saturated_fraction, values=error.values,
            compared_with=reference.descriptions[step.name]))
    return results


def _encode(tokenizer, texts: list[str] | list[tuple[str, str]], max_tokens: int) -> tuple[list, int]:
    """Each text's (or (text, pair)'s) ids (with type ids where the tokenizer gives them), and how
    many had to be cut to max_tokens, as the runtime cuts them (pairs longest first)."""
    def encode(text, **options):
        return tokenizer(*text, **options) if isinstance(text, tuple) else tokenizer(text, **options)

    encoded = [encode(text) for text in texts]
    long = [i for i, e in enumerate(encoded) if len(e["input_ids"]) > max_tokens]
    for i in long:
        encoded[i] = encode(texts[i], truncation=True, max_length=max_tokens)
    return encoded, len(long)


def _hidden_state_agreement(pooled: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Cosine of the mean-pooled final hidden states (a sentence embedding) per text."""
    cosines = np.array([a @ b / math.sqrt((a @ a) * (b @ b)) if (a @ a) * (b @ b) > 0 else 0.0 for a, b in pooled])
    return {"kind": "hidden_states", "mean_pooled_cosine": float(cosines.mean()),
            "min_mean_pooled_cosine": float(cosines.min())}


def _output_agreement(task: str, integer: list[np.ndarray], reference: list[np.ndarray],
                      truth: np.ndarray | None) -> dict:
    """The output's agreement, measured as the task decides (integer, reference: per text)."""
    if task == names.SEQUENCE_CLASSIFICATION:
        output = {"kind": "logits", **output_agreement(np.stack(integer), np.stack(reference), truth)}
        if truth is not None:
            output["labelled"] = len(truth)
        return output
    if task in (names.REGRESSION, names.MULTIPLE_CHOICE):
        return score_agreement(np.stack(integer), np.stack(reference))
    if task == names.TOKEN_CLASSIFICATION:
        return token_agreement(integer, reference)
    if task == names.QUESTION_ANSWERING:
        return span_agreement(integer, reference)
    if task == names.FILL_MASK:
        return masked_token_agreement(integer, reference)
    return _hidden_state_agreement([(a.mean(axis=0), b.mean(axis=0)) for a, b in zip(integer, reference)])


def _checkpoint_channels(trace: dict, num_layers: int, ffn: int) -> None:
    """A split file has more GELU channels than its checkpoint (convert/gelu_split.py): the
    checkpoint's come first, each computed as it was, and their copies after them. Keep the first."""
    for layer in range(num_layers):
        for key in ("gelu_in", "gelu"):
            trace[f"blk.{layer}.{key}"] = trace[f"blk.{layer}.{key}"][:, :ffn]


def _check_cuts(golden: GoldenModel, reference: Reference, model_path: Path, hf_dir: Path) -> None:
    if golden.task != names.SEQUENCE_CLASSIFICATION:
        raise ValueError(f"--cuts measures a sequence classifier's logits; {model_path} is a {golden.task} file")
    if reference.checkpoint.arch.family == "ibert":
        raise ValueError(f"--cuts runs the rest of the model in float from the file's integers; {hf_dir} is an "
                         "I-BERT checkpoint, whose reference is its quant_mode: compare it without --cuts")


def compare_model(model_path: Path, hf_dir: Path, texts: list[str] | list[tuple[str, str]],
                  labels: list[str] | None = None, progress: bool = True, cuts: bool = False) -> ComparisonReport:
    """Run `texts` (or (text, pair) rows, for a model that reads two texts) through the .ibert file
    (golden model) and the checkpoint it came from; `labels` (one per text, label names or ids) add
    both accuracies. `cuts` (sequence classifiers from float checkpoints): also run the checkpoint in
    float from the file's integers after each step, to the logits (cuts.py)."""
    model_path, hf_dir = Path(model_path), Path(hf_dir)
    if not texts:
        raise ValueError("no texts to compare on")
    if labels is not None and len(labels) != len(texts):
        raise ValueError(f"{len(labels)} labels for {len(texts)} texts")
    golden, model_file = GoldenModel(model_path), read_model_file(model_path)
    if labels is not None and golden.task != names.SEQUENCE_CLASSIFICATION:
        raise ValueError(f"labels are for a sequence classifier; the task of {model_path} is {golden.task}")
    truth = None if labels is None else np.array(label_ids(labels, golden.labels))
    reference = Reference(hf_dir, golden.mask_token_id if golden.task == names.FILL_MASK else None)
    _check_same_model(golden, model_file, reference, model_path, hf_dir)
    if cuts:
        _check_cuts(golden, reference, model_path, hf_dir)
    continuation = FloatContinuation(reference.checkpoint) if cuts else None
    points = cut_points(model_file.meta["num_layers"]) if cuts else []
    at_cut = {cut.name: [None] * len(texts) for cut in points}
    checkpoint_ffn = reference.params.layers[0].ffn_up.weight.shape[0]
    scales = step_scales(model_file, reference.params)
    zero_points = step_zero_points(model_file, reference.params)
    steps = model_steps(model_file.meta["num_layers"], golden.task)
    errors = {step.name: StepError() for step in steps}

    tokenizer = AutoTokenizer.from_pretrained(str(hf_dir))
    encoded, truncated = _encode(tokenizer, texts, golden.max_tokens)
    if golden.task == names.FILL_MASK and not any(golden.mask_token_id in e["input_ids"] for e in encoded):
        raise ValueError(f"no text holds the mask token {tokenizer.mask_token}: {model_path} is a fill-mask "
                         "model, and its head runs only at masked positions")
    order = sorted(range(len(texts)), key=lambda i: len(encoded[i]["input_ids"]))
    integer_out, reference_out = [None] * len(texts), [None] * len(texts)
    with tqdm(total=len(texts), desc="comparing", unit="text", disable=not progress) as bar:
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            padded = tokenizer.pad([encoded[i] for i in batch], return_tensors="pt")
            per_text = reference.run(padded["input_ids"], padded["attention_mask"], padded.get("token_type_ids"))
            for i, real in zip(batch, per_text):
                trace = {}
                golden.forward(encoded[i]["input_ids"], encoded[i].get("token_type_ids"), intermediates=trace)
                _checkpoint_channels(trace, len(reference.params.layers), checkpoint_ffn)
                for step in steps:
                    errors[step.name].add(trace[step.name], scales[step.name], real[step.name], step.bits,
                                          zero_points.get(step.name, 0))
                for cut in points:
                    at_cut[cut.name][i] = continuation.logits(cut, trace, scales)
                last = steps[-1].name
                integer_out[i], reference_out[i] = trace[last] * scales[last], real[last]
                bar.update()

    output = _output_agreement(golden.task, integer_out, reference_out, truth)
    return ComparisonReport(model=str(model_path), reference=str(hf_dir), reference_kind=reference.kind,
                            texts=len(texts), tokens=sum(len(e["input_ids"]) for e in encoded),
                            truncated=truncated, max_tokens=golden.max_tokens,
                            steps=_step_results(steps, errors, reference), output=output,
                            cuts=cut_results(points, at_cut, integer_out, reference_out) if cuts else [])

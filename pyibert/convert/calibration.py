"""Activation statistics of a float BERT/RoBERTa, measured by running it on sample text with forward hooks."""
from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from .activation_points import kind_of
from .architectures import base_model, calibration_hooks, gelu_input_modules
from .checkpoint import Checkpoint
from .data import Texts, encode_texts
from .errors import ConversionError
from .gelu_correction import GeluFitter
from .range_search import CalibrationStats
from .nonlinear import ERF3, GeluConstants, gelu_constants

BATCH_SIZE = 8
PERCENTILE = 99.99
_TAIL = 1.0 - PERCENTILE / 100
_KEEP_FACTOR = 10   # each batch keeps 10× its share of the tail, so the global tail is among the kept values
# Rows (tokens) kept per text for the least-error range search: enough for a few thousand rows in all
# without keeping every GELU output of a long calibration set.
SAMPLE_ROWS_PER_TEXT = 8
# Tokens calibration runs on unless told otherwise. A channel's int8 range is the largest value it takes
# over the calibration tokens, so it must see enough of them: with 512 SST-2 training phrases (6,493
# tokens) 0.11% of a masked LM's GELU outputs saturated on news text, against 0.009% with 32,768 tokens
# of SST-2 and news rows, which took its top-1 agreement with float from 82.1% to 84.3% (99.8% where
# float's choice is clear; README, "Fill-mask").
CALIBRATION_TOKENS = 32768
CHANNEL_KINDS = ("norm", "gelu")   # points that may get one scale per channel (activation_points)
MASKED_FRACTION = 0.15   # fill-mask calibration: BERT's masking rate


class _StatsRecorder:
    """Per point, over the real (unpadded) tokens: max |x|, the top of |x| of every batch (for the
    percentile), max |x| per channel where a point may have per-channel scales, a sample of rows, and
    at each GELU the sums of the fit of the float GELU on the integer one (gelu_correction.py), and at
    `moment_points` the sum of xᵀx over every token (GPTQ's H)."""

    def __init__(self, gelu: GeluConstants, moment_points: frozenset = frozenset()) -> None:
        self.absmax: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self.tokens = 0   # real (unpadded) tokens run
        self.tops: dict[str, list[torch.Tensor]] = {}
        self.channel_absmax: dict[str, torch.Tensor] = {}
        self.samples: dict[str, list[torch.Tensor]] = {}
        self.gelu_fitter = GeluFitter(gelu)
        self.moment_points = moment_points
        self.moments: dict[str, torch.Tensor] = {}   # Σ xᵀx, float32 (MiniLM-L6: 70 MB in all, BERT-base 0.55 GB)
        self.moment_rows: dict[str, int] = {}
        self.token_mask: torch.Tensor | None = None   # [batch, seq] bool of the batch being run
        self.sample_rows: torch.Tensor | None = None   # indices into the batch's real tokens to sample
        self._generator = torch.Generator().manual_seed(0)   # the same sample, hence file, every run

    def start_batch(self, token_mask: torch.Tensor, texts: int) -> None:
        self.token_mask = token_mask
        tokens = int(token_mask.sum())
        self.tokens += tokens
        keep = min(tokens, SAMPLE_ROWS_PER_TEXT * texts)
        self.sample_rows = torch.randperm(tokens, generator=self._generator)[:keep].sort().values

    def hook(self, point: str, side: str):
        kind = kind_of(point)

        def record(tensor: torch.Tensor) -> None:
            rows = tensor.detach()[self.token_mask].float()   # [tokens, channels], padding left out
            if not rows.numel():
                return
            values = rows.abs()
            self.absmax[point] = max(self.absmax.get(point, 0.0), float(values.max()))
            if point in self.moment_points:
                self.moments[point] = self.moments.get(point, 0) + rows.T @ rows
                self.moment_rows[point] = self.moment_rows.get(point, 0) + len(rows)
            if kind == "residual":
                return
            flat = values.flatten()
            self.count[point] = self.count.get(point, 0) + flat.numel()
            keep = min(flat.numel(), math.ceil(flat.numel() * _TAIL * _KEEP_FACTOR))
            self.tops.setdefault(point, []).append(torch.topk(flat, keep).values)
            if kind in CHANNEL_KINDS:
                top = values.amax(dim=0)
                seen = self.channel_absmax.get(point)
                self.channel_absmax[point] = top if seen is None else torch.maximum(seen, top)
            self.samples.setdefault(point, []).append(rows[self.sample_rows].clone())

        if side == "input":
            return lambda module, args: record(args[0])
        return lambda module, args, output: record(output)

    def gelu_input_hook(self, point: str):
        return lambda module, args, output: self.gelu_fitter.add(point, output.detach()[self.token_mask])

    def stats(self, source: Path, count: int) -> CalibrationStats:
        percentile = {}
        for point, tops in self.tops.items():
            rank = max(1, math.ceil(self.count[point] * _TAIL))   # the rank-th largest |x| overall
            percentile[point] = float(torch.topk(torch.cat(tops), rank).values[-1])
        return CalibrationStats(
            absmax=dict(self.absmax),
            percentile=percentile,
            channel_absmax={p: v.double().numpy() for p, v in self.channel_absmax.items()},
            samples={p: torch.cat(rows).numpy() for p, rows in self.samples.items()},
            gelu_fit=self.gelu_fitter.fits(),
            input_moments={p: (m * (2.0 / self.moment_rows[p])).numpy() for p, m in self.moments.items()},
            source=source.name,
            count=count,
            tokens=self.tokens,
        )


def _mask_some_tokens(encoded, tokenizer, generator: torch.Generator) -> None:
    """A fill-mask model is run on texts with mask tokens in them: MASKED_FRACTION of each batch's
    real tokens become the mask token, so the head's ranges are those of the positions it predicts."""
    ids = encoded["input_ids"]
    special = torch.tensor([tokenizer.get_special_tokens_mask(row, already_has_special_tokens=True)
                            for row in ids.tolist()], dtype=torch.bool)
    chosen = (torch.rand(ids.shape, generator=generator) < MASKED_FRACTION) & ~special & encoded["attention_mask"].bool()
    ids[chosen] = tokenizer.mask_token_id


def calibrate(checkpoint: Checkpoint, tokenizer, texts: Texts, max_tokens: int, source: Path,
              progress: bool = True, points: tuple[str, ...] | None = None,
              moment_points: frozenset = frozenset(), gelu: GeluConstants | None = None) -> CalibrationStats:
    """Run the float model on `texts` and record what the range rules of range_search.py need, at
    every point or at `points` alone, GPTQ's input moments at `moment_points`, and the GELU fit on the
    integer GELU `gelu` (default: the converter's, erf3)."""
    hooks = calibration_hooks(checkpoint.model, checkpoint.arch)
    if points is not None:
        hooks = {point: hooks[point] for point in points}
    # the encoder alone, as its activations are what the hooks record and every head's model (multiple
    # choice wants [batch, choices, tokens]) takes the encoder's inputs; but the whole model for fill-mask,
    # whose head's hooks (transform, decoder) are part of the points
    model: nn.Module = (checkpoint.model if checkpoint.arch.masked_lm
                        else base_model(checkpoint.model, checkpoint.arch))
    recorder = _StatsRecorder(gelu or gelu_constants(ERF3), moment_points)
    handles = []
    generator = torch.Generator().manual_seed(0)
    for point, (module, side) in hooks.items():
        hook = recorder.hook(point, side)
        handles.append(module.register_forward_pre_hook(hook) if side == "input" else module.register_forward_hook(hook))
    for point, module in gelu_input_modules(checkpoint.model, checkpoint.arch).items():
        if point in hooks:
            handles.append(module.register_forward_hook(recorder.gelu_input_hook(point)))
    try:
        with torch.inference_mode():
            for start in tqdm(range(0, len(texts), BATCH_SIZE), desc="calibrating", unit="batch",
                              disable=not progress):
                batch = texts[start:start + BATCH_SIZE]
                encoded = encode_texts(tokenizer, batch, padding=True, truncation=True, max_length=max_tokens,
                                       return_tensors="pt")
                if checkpoint.arch.masked_lm:
                    _mask_some_tokens(encoded, tokenizer, generator)
                recorder.start_batch(encoded["attention_mask"].bool(), len(batch))
                model(**{k: v for k, v in encoded.items() if k in ("input_ids", "attention_mask", "token_type_ids")})
    finally:
        for handle in handles:
            handle.remove()
    silent = [point for point in hooks if recorder.absmax.get(point, 0.0) <= 0.0]
    if silent:
        raise ConversionError(f"calibration on {source} saw only zeros at {', '.join(silent[:5])}; "
                              "the checkpoint's weights look degenerate")
    return recorder.stats(source, len(texts))

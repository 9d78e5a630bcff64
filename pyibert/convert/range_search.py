"""Choosing each activation range from calibration statistics: the maximum, a percentile, or the clip
that quantizes the calibration sample with the least squared error."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .activation_points import INT8_MAX, ActivationRanges, kind_of

# How each kind of point (activation_points.kind_of) gets its range:
#   "max"         the largest |x| seen
#   "percentile"  the 99.99th percentile of |x| (the rare values above saturate)
#   "mse"         the clip of the largest |x| with the least mean squared int8 error on the sample
# The 22-bit residual sums always take the maximum: 22 bits have precision to spare, and a clipped
# sum would carry its error into every later layer.
DEFAULT_RULES = {"norm": "max", "qkv": "percentile", "ctx": "percentile", "gelu": "percentile"}
RULES = ("max", "percentile", "mse")
# The clips tried, as fractions of the largest |x|: 5% steps from the maximum down to a fiftieth of it
# (a heavy tail's best clip can lie far below its maximum).
CLIP_RATIOS = np.geomspace(1.0, 0.02, 80)
_MAX_SEARCH_VALUES = 1 << 16              # a tensor's search runs on at most this many sampled values


@dataclass
class CalibrationStats:
    """What calibration measured at every point (activation_points names)."""

    absmax: dict[str, float]                # max |x|
    percentile: dict[str, float]            # 99.99th percentile of |x| (int8 points)
    channel_absmax: dict[str, np.ndarray]   # max |x| per channel (layer-norm and GELU outputs)
    samples: dict[str, np.ndarray]          # [rows, channels] float32: some tokens' values (int8 points)
    source: str                             # the calibration file's name
    count: int                              # texts run
    tokens: int = 0                         # their real (unpadded) tokens
    gelu_fit: dict = field(default_factory=dict)   # gelu_correction.GeluFit per blk.{l}.gelu
    # H = 2·XᵀX/rows over every calibration token, at the points whose values are a linear layer's input
    # (GPTQ rounding; only when asked for: one float32 K × K matrix per point)
    input_moments: dict[str, np.ndarray] = field(default_factory=dict)


def clip_errors(values: np.ndarray, clips: np.ndarray) -> np.ndarray:
    """Mean squared error of symmetric int8 quantization of `values` (along axis 0) at each clip.

    values: [N] or [N, C]; clips: [R] or [R, C] (one clip per channel). Returns [R] or [R, C].
    """
    magnitude = np.abs(values)
    errors = []
    for clip in clips:
        step = clip / INT8_MAX
        quantized = np.minimum(np.rint(magnitude / step), INT8_MAX) * step
        errors.append(np.mean((magnitude - quantized) ** 2, axis=0))
    return np.array(errors)


def mse_clip(values: np.ndarray, absmax: float | np.ndarray) -> float | np.ndarray:
    """The clip among CLIP_RATIOS · absmax that quantizes `values` with the least squared error.

    values [N] with a float absmax: one clip; values [N, C] with absmax [C]: one clip per channel.
    On a heavy-tailed sample a clip well below the maximum wins (the few values above it saturate,
    every other value gets a finer grid); on a uniform one the maximum does.
    """
    absmax = np.asarray(absmax, dtype=np.float64)
    clips = CLIP_RATIOS.reshape((-1,) + (1,) * absmax.ndim) * np.where(absmax > 0, absmax, 1.0)
    errors = clip_errors(np.asarray(values, dtype=np.float64), clips)
    best = np.argmin(errors, axis=0)   # the first (largest) clip among equals
    chosen = np.take_along_axis(clips, np.expand_dims(best, 0), axis=0)[0]
    return float(chosen) if chosen.ndim == 0 else np.where(absmax > 0, chosen, 0.0)


def _search_values(sample: np.ndarray) -> np.ndarray:
    values = sample.ravel()
    if values.size > _MAX_SEARCH_VALUES:
        values = np.random.default_rng(0).choice(values, _MAX_SEARCH_VALUES, replace=False)
    return values


def choose_ranges(stats: CalibrationStats, rules: dict[str, str] | None = None) -> ActivationRanges:
    """ActivationRanges from `stats`, each point's range by the rule of its kind (DEFAULT_RULES
    updated by `rules`); per-channel ranges by the same rule, except "percentile", which keeps each
    channel's maximum (a channel's share of the sample is too small for a 99.99th percentile)."""
    rules = {**DEFAULT_RULES, **(rules or {})}
    absmax, channel_absmax = {}, {}
    for point, largest in stats.absmax.items():
        rule = rules.get(kind_of(point), "max")
        if rule == "percentile":
            absmax[point] = stats.percentile[point]
        elif rule == "mse":
            absmax[point] = mse_clip(_search_values(stats.samples[point]), largest)
        else:
            absmax[point] = largest
        if point in stats.channel_absmax:
            per_channel = stats.channel_absmax[point]
            channel_absmax[point] = mse_clip(stats.samples[point], per_channel) if rule == "mse" else per_channel
    used = ", ".join(f"{kind} {rules[kind]}" for kind in DEFAULT_RULES)
    return ActivationRanges(absmax, f"calibration on {stats.source} (ranges: {used}; residual sums max)",
                            stats.count, residual_margin=2.0, channel_absmax=channel_absmax, tokens=stats.tokens,
                            gelu_fit=dict(stats.gelu_fit))

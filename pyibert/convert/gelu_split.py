"""Each layer's widest GELU channels split into copies, so that FFN down's int8 rows keep their precision.

A GELU channel keeps its own int8 range, folded into FFN down's column (FORMAT.md §4.9). BERT's
massive activations on `[CLS]` make a few channels far wider than the rest (all-MiniLM-L6-v2's
layer 0: the widest 12.7 times the median channel's range), so their folded columns are as much
wider, and FFN down's one scale per row spends its 255 steps on them: on an SST-2 classifier that
was the largest single loss of the whole model (README, "Accuracy on models we did not make").
A channel split into m copies (FFN up's row repeated, FFN down's column divided by m and repeated)
computes the same function with columns m times narrower. The copies' GELU outputs are the same
integers, so the activations lose nothing, and every other column of those rows gets finer steps.
The runtime sees a wider FFN (F + extra channels in every layer), nothing else.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from .activation_points import ActivationRanges
from .architectures import EncoderParams

# Extra channels per layer (F is one number for all layers, FORMAT.md §2). Measured on three
# classifiers (README): 16 took the mean |Δ margin| down 6 to 12%; 32 and 64 gained 2% and 3% more
# on sst2-seed1 for twice and four times the cost (16 channels: 1% of the FFN's work).
GELU_SPLIT_CHANNELS = 16


def copies_per_channel(ranges: np.ndarray, extra: int) -> np.ndarray:
    """How many copies each channel gets (≥ 1, `extra` more than channels in all): each extra copy goes
    to the channel whose range per copy is then the widest."""
    copies = np.ones(ranges.size, dtype=np.int64)
    for _ in range(extra):
        copies[int(np.argmax(ranges / copies))] += 1
    return copies


def split_wide_gelu_channels(params: EncoderParams, ranges: ActivationRanges, hessians: dict,
                             extra: int = GELU_SPLIT_CHANNELS) -> dict:
    """Split every layer's widest GELU channels into `extra` more channels, in place in `params` and
    `ranges` (channel ranges and the GELU fit follow their channels); returns GPTQ's Hessians with
    FFN down's input expanded the same way (a copy's input is its channel's, exactly)."""
    hessians = dict(hessians)
    for layer_index, layer in enumerate(params.layers):
        point = f"blk.{layer_index}.gelu"
        copies = copies_per_channel(ranges.channel_absmax[point].astype(np.float64), extra)
        # the channels in their order, then the copies: GPTQ rounds columns in order, and this keeps the
        # checkpoint's channels in the order they had
        order = np.concatenate([np.arange(copies.size), np.repeat(np.arange(copies.size), copies - 1)])
        rows = torch.from_numpy(order)
        up, down = layer.ffn_up, layer.ffn_down
        layer.ffn_up = dataclasses.replace(up, weight=up.weight[rows], bias=up.bias[rows])
        narrowed = down.weight.detach().double() / torch.from_numpy(copies.astype(np.float64))[None, :]
        layer.ffn_down = dataclasses.replace(down, weight=narrowed[:, rows].to(down.weight.dtype))
        ranges.channel_absmax[point] = ranges.channel_absmax[point][order]
        if point in ranges.gelu_fit:
            fit = ranges.gelu_fit[point]
            ranges.gelu_fit[point] = dataclasses.replace(fit, gain=np.asarray(fit.gain)[order],
                                                         offset=np.asarray(fit.offset)[order])
        key = f"blk.{layer_index}.ffn_down"
        if key in hessians:
            hessians[key] = hessians[key][np.ix_(order, order)]
    return hessians

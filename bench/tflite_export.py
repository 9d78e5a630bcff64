"""The MiniLM classifier as LiteRT runs it: .tflite FP32 and dynamic-range int8, one file per length.

    build/tflite-venv/bin/python bench/tflite_export.py CHECKPOINT DIRECTORY L [L ...]

Runs in its own venv (`tflite_venv()` in bench/arm_peers.py makes it under build/): litert-torch
converts the PyTorch model without TensorFlow, ai-edge-quantizer quantizes, and both pull in
TensorFlow-sized dependencies that have no place in the project's environment.
litert-torch traces static shapes, so each sequence length L gets its own pair of files:
  minilm-cls-fp32-L.tflite  float32
  minilm-cls-int8-L.tflite  ai-edge-quantizer's dynamic_wi8_afp32 recipe: int8 weights, activations
                            quantized at run time, the rest FP32 (the kind of model ONNX Runtime's
                            quantize_dynamic gives)
Inputs: input_ids and attention_mask, int32 [1, L], in that order; output: the 2 logits. Every export is
checked against torch on the traced ids and on a half-masked input (how padded sentences reach it).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch

CLS, SEP = 101, 102


class Classifier(torch.nn.Module):
    """int32 inputs (what LiteRT feeds), the logits out."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids.long(), attention_mask=attention_mask.long()).logits


def export(checkpoint: Path, directory: Path, length: int) -> None:
    import litert_torch
    from ai_edge_quantizer import quantizer, recipe
    from transformers import BertForSequenceClassification

    torch.manual_seed(0)
    model = Classifier(BertForSequenceClassification.from_pretrained(
        checkpoint, num_labels=2, attn_implementation="eager").eval()).eval()
    ids = torch.tensor([[CLS, *range(2000, 2000 + length - 2), SEP]], dtype=torch.int32)
    mask = torch.ones_like(ids)
    half = mask.clone()
    half[0, length // 2:] = 0
    with torch.no_grad():
        expected = [model(ids, mask).numpy(), model(ids, half).numpy()]
        edge = litert_torch.convert(model, (ids, mask))
    fp32 = directory / f"minilm-cls-fp32-{length}.tflite"
    partial = fp32.with_suffix(".partial")
    edge.export(str(partial))
    for inputs, want in zip([(ids, mask), (ids, half)], expected):
        got = np.asarray(edge(*inputs))
        if not np.allclose(got, want, atol=1e-4):
            sys.exit(f"the .tflite export of {checkpoint} at L={length} differs from torch: {got} vs {want}")
    partial.replace(fp32)

    int8 = directory / f"minilm-cls-int8-{length}.tflite"
    quantize = quantizer.Quantizer(str(fp32))
    quantize.load_quantization_recipe(recipe.dynamic_wi8_afp32())
    quantize.quantize().export_model(str(int8.with_suffix(".partial")), overwrite=True)
    int8.with_suffix(".partial").replace(int8)
    print(f"L={length}: {fp32.stat().st_size / 1e6:.1f} MB FP32, {int8.stat().st_size / 1e6:.1f} MB int8", flush=True)


def main(argv) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    checkpoint, directory = Path(argv[1]), Path(argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    for length in map(int, argv[3:]):
        export(checkpoint, directory, length)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

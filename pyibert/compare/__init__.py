"""pyibert compare: where a .ibert model's integers part from the checkpoint it was converted from.

    from pyibert.compare import compare_model
    report = compare_model(Path("model.ibert"), Path("hf-checkpoint"), texts)
    print(report.format())

Runs the Hugging Face checkpoint (FP32, or an I-BERT checkpoint in its quant_mode) and the numpy
golden model on the same token ids and measures, step by step, the dequantized integers against the
reference's real values. Needs the converter's extra dependencies (torch, transformers).
"""
from .run import compare_model
from .report import ComparisonReport

__all__ = ["compare_model", "ComparisonReport"]

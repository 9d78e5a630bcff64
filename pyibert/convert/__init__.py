"""pyibert convert: Hugging Face BERT / RoBERTa / I-BERT checkpoints → integer-only .ibert files.

    from pyibert.convert import convert_checkpoint
    summary = convert_checkpoint(Path("my-checkpoint"), Path("model.ibert"), calibration=Path("sample.tsv"))
    print(summary.format())

Needs the converter's extra dependencies (torch, transformers, safetensors, gguf, tqdm).
"""
from .errors import CalibrationWarning, ConversionError
from .pipeline import convert_checkpoint
from .summary import ConversionSummary

__all__ = ["convert_checkpoint", "CalibrationWarning", "ConversionError", "ConversionSummary"]

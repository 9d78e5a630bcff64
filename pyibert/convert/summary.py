"""What a conversion produced, for the caller and for the CLI's closing report."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ConversionSummary:
    output: Path
    file_size: int              # bytes
    architecture: str           # the checkpoint's class, e.g. BertForSequenceClassification
    num_layers: int
    hidden_size: int
    num_labels: int             # 0: the model outputs its final hidden states
    weight_bits: int
    activation_bits: int
    residual_bits: int
    gelu_input_bits: int
    bias_bits: int
    calibration_source: str
    calibration_count: int
    seconds: float
    task: str = ""              # ibert.task when the file has one (e.g. "fill-mask")
    pooling: str = ""           # a sentence embedding's pooling, e.g. "mean, normalized"; "" for none

    def format(self) -> str:
        head = f"{self.num_labels} labels" if self.num_labels else "no head (outputs hidden states)"
        if self.task == "fill-mask":
            head = "fill-mask head (vocabulary logits at the mask tokens)"
        if self.pooling:
            head = f"sentence embedding ({self.pooling} pooling)"
        return "\n".join([
            f"wrote {self.output} ({self.file_size / 2**20:.1f} MiB) in {self.seconds:.1f} s",
            f"  model:       {self.architecture}, {self.num_layers} layers, hidden {self.hidden_size}, {head}",
            f"  bit widths:  weights {self.weight_bits}, activations {self.activation_bits}, "
            f"residual sums {self.residual_bits}, GELU input {self.gelu_input_bits}, biases {self.bias_bits}",
            f"  ranges from: {self.calibration_source}"
            + (f" ({self.calibration_count} texts)" if self.calibration_count else ""),
        ])

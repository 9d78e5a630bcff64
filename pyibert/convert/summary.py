"""What a conversion produced, for the caller and for the CLI's closing report."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
    calibration_tokens: int = 0   # the real tokens of those texts
    task: str = ""              # ibert.task when the file has one (e.g. "fill-mask")
    pooling: str = ""           # a sentence embedding's pooling, e.g. "mean, normalized"; "" for none
    fp32_bytes: int = 0             # the checkpoint's weights file
    weight_widths: dict = field(default_factory=dict)   # {bits: encoder linear layers at that width}
    embedding_bits: int = 8
    group_size: int = 0
    rounding: str = "nearest"
    layers: list = field(default_factory=list)          # --max-size: per layer name, sensitivity, bits, group, bytes

    def as_json(self) -> dict:
        report = asdict(self)
        report["output"] = str(self.output)
        report["weight_widths"] = {str(bits): count for bits, count in self.weight_widths.items()}
        return report

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
            + (f" ({self.calibration_count} texts, {self.calibration_tokens} tokens)" if self.calibration_count else ""),
            f"  Q-BERT:      encoder linears {', '.join(f'{n} x {b}-bit' for b, n in self.weight_widths.items())}"
            f" (group size {self.group_size}, rounding {self.rounding}), word embeddings {self.embedding_bits}-bit; "
            f"{self.fp32_bytes / self.file_size:.2f}x smaller than the FP32 checkpoint ({self.fp32_bytes} B)",
        ] + self._layer_table())

    def _layer_table(self) -> list[str]:
        if not self.layers:
            return []
        lines = [f"  {'layer':<16} {'sensitivity':>12} {'bits':>4} {'group':>5} {'bytes':>10}"]
        lines += [f"  {row['name']:<16} {row['sensitivity']:>12.4g} {row['bits']:>4} {row['group_size']:>5} "
                  f"{row['bytes']:>10}" for row in self.layers]
        return lines

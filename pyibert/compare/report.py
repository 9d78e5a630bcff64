"""The result of `pyibert compare`: a table for people and one JSON object for scripts."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

MARKED_DROPS = 3   # the table points at this many of the largest drops


@dataclass
class StepResult:
    name: str                 # the golden model's trace key, e.g. "blk.2.attn_norm"
    block: str                # "embeddings", "layer 2", "head"
    step: str                 # "attn LN"
    sqnr_db: float | None     # None: the integers equal the reference exactly
    cosine: float
    drop_db: float | None     # SQNR of the worst input step minus this one's (None: the first step)
    saturated: float          # fraction of the integers at the step's saturation bounds
    values: int               # values compared (real tokens only)
    compared_with: str        # which reference tensor


@dataclass
class ComparisonReport:
    model: str
    reference: str
    reference_kind: str       # e.g. "BertForSequenceClassification FP32"
    texts: int
    tokens: int
    truncated: int            # texts cut to max_tokens (the model's longest input)
    max_tokens: int
    steps: list[StepResult]
    output: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    def largest_drops(self, count: int = MARKED_DROPS) -> list[StepResult]:
        dropped = [s for s in self.steps if s.drop_db is not None and s.drop_db > 0]
        return sorted(dropped, key=lambda s: s.drop_db, reverse=True)[:count]

    def format(self) -> str:
        marked = {s.name for s in self.largest_drops()}
        truncated = f" ({self.truncated} cut to {self.max_tokens} tokens)" if self.truncated else ""
        lines = [f"{self.model} against {self.reference} ({self.reference_kind}), {self.texts} texts{truncated}, "
                 f"{self.tokens} tokens",
                 "SQNR: 10·log10(Σ ref² / Σ (int − ref)²) over every value of the step; drop: SQNR of the "
                 "step's inputs minus its own (where error enters); sat: integers at the saturation bounds",
                 "",
                 f"{'block':<11} {'step':<13} {'SQNR dB':>8} {'cosine':>9} {'drop dB':>8} {'sat %':>6}"]
        block = None
        for s in self.steps:
            if s.block != block and block is not None:
                lines.append("")
            block = s.block
            sqnr = "exact" if s.sqnr_db is None else f"{s.sqnr_db:.1f}"
            drop = "" if s.drop_db is None else f"{s.drop_db:+.1f}"
            sat = f"{100 * s.saturated:.2f}" if s.saturated else ""
            mark = "  <- largest drops" if s.name in marked else ""
            lines.append(f"{s.block:<11} {s.step:<13} {sqnr:>8} {s.cosine:>9.5f} {drop:>8} {sat:>6}{mark}")
        lines += ["", *self._output_lines()]
        return "\n".join(lines)

    def _output_lines(self) -> list[str]:
        out = self.output
        if out.get("kind") == "hidden_states":
            return [f"output: final hidden states; mean-pooled cosine per text {out['mean_pooled_cosine']:.5f} "
                    f"(lowest {out['min_mean_pooled_cosine']:.5f})"]
        lines = [f"label agreement        {100 * out['agreement']:.2f}%",
                 f"mean |Δ margin|        {out['mean_abs_margin_delta']:.3f}  (the reference's mean |margin|: "
                 f"{out['reference_mean_abs_margin']:.3f}; margin = logit of the reference's label minus the "
                 "largest other)",
                 f"max |Δ logit|          {out['max_abs_logit_delta']:.3f}"]
        if "accuracy" in out:
            lines.append(f"accuracy               integer {100 * out['accuracy']:.2f}%, reference "
                         f"{100 * out['reference_accuracy']:.2f}% ({out['labelled']} labelled texts)")
        return lines

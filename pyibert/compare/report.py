"""The result of `pyibert compare`: a table for people and one JSON object for scripts."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .cuts import CutResult

MARKED_DROPS = 3   # the table points at this many of the largest drops of each kind

LEGEND = """\
SQNR: 10·log10(Σ ref² / Σ (int − ref)²) over all values of the step, so the largest values (outlier
channels, [CLS]) weigh most; chan: the median over channels of each channel's SQNR, what an ordinary
channel keeps; drop: the SQNR of the step's worst input minus its own, i.e. the error that enters at
this step; sat: integers at the step's saturation bounds (the top one only in a channel with a zero
point, whose bottom code is GELU's minimum)."""


@dataclass
class StepResult:
    name: str                 # the golden model's trace key, e.g. "blk.2.attn_norm"
    block: str                # "embeddings", "layer 2", "head"
    step: str                 # "attn LN"
    sqnr_db: float            # 150 where the integers are exact
    drop_db: float | None     # SQNR of the worst input step minus this one's (None: the first step)
    channel_sqnr_db: float | None   # median of the channels' SQNRs (None: not a tokens × channels tensor)
    channel_drop_db: float | None
    cosine: float
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
    cuts: list[CutResult] = field(default_factory=list)   # --cuts: the file's integers up to a step, float after

    def to_json(self) -> dict:
        return asdict(self)

    def largest_drops(self, count: int = MARKED_DROPS, channel: bool = False) -> list[StepResult]:
        """The steps with the largest positive drops of SQNR (channel: of the median channel SQNR)."""
        key = (lambda s: s.channel_drop_db) if channel else (lambda s: s.drop_db)
        dropped = [s for s in self.steps if key(s) is not None and key(s) > 0]
        return sorted(dropped, key=key, reverse=True)[:count]

    def format(self) -> str:
        marks = {}
        for kind, channel in (("SQNR", False), ("chan", True)):
            for s in self.largest_drops(channel=channel):
                marks.setdefault(s.name, []).append(kind)
        truncated = f" ({self.truncated} cut to {self.max_tokens} tokens)" if self.truncated else ""
        lines = [f"{self.model} against {self.reference} ({self.reference_kind}), {self.texts} texts{truncated}, "
                 f"{self.tokens} tokens", LEGEND, "",
                 f"{'':<11} {'':<13} {'SQNR':>6} {'drop':>6} {'chan':>6} {'drop':>6}",
                 f"{'block':<11} {'step':<13} {'dB':>6} {'dB':>6} {'dB':>6} {'dB':>6} {'cosine':>8} {'sat %':>6}"]
        block = None
        for s in self.steps:
            if s.block != block and block is not None:
                lines.append("")
            block = s.block
            sat = "" if not s.saturated else "<0.01" if s.saturated < 5e-5 else f"{100 * s.saturated:.2f}"
            mark = f"  <- largest {' and '.join(marks[s.name])} drop" if s.name in marks else ""
            lines.append(f"{s.block:<11} {s.step:<13} {s.sqnr_db:>6.1f} {_signed(s.drop_db):>6} "
                         f"{_plain(s.channel_sqnr_db):>6} {_signed(s.channel_drop_db):>6} {s.cosine:>8.5f} "
                         f"{sat:>6}{mark}".rstrip())
        lines += ["", *self._output_lines()]
        if self.cuts:
            lines += ["", *self._cut_lines()]
        return "\n".join(lines)

    def _cut_lines(self) -> list[str]:
        after = max(len(c.float_after) for c in self.cuts)
        lines = ["Where the output's error is made: the file's integers up to the step, the checkpoint in float "
                 "after it (agreement and mean |Δ margin| against the reference's logits)", "",
                 f"{'block':<11} {'step':<13} {'float after':<{after}} {'agree':>8} {'flips':>6} {'|Δ margin|':>11}"]
        for c in self.cuts:
            lines.append(f"{c.block:<11} {c.step:<13} {c.float_after:<{after}} {100 * c.agreement:>7.2f}% "
                         f"{c.flips:>6} {c.mean_abs_margin_delta:>11.4f}")
        return lines

    def _output_lines(self) -> list[str]:
        out = self.output
        kind = out.get("kind")
        if kind == "hidden_states":
            return [f"output: final hidden states; mean-pooled cosine per text {out['mean_pooled_cosine']:.5f} "
                    f"(lowest {out['min_mean_pooled_cosine']:.5f})"]
        if kind == "scores":
            spearman = "n/a" if out["spearman"] is None else f"{out['spearman']:.4f}"
            return [f"mean |Δ score|         {out['mean_abs_delta']:.4f}  (the reference's mean |score|: "
                    f"{out['reference_mean_abs']:.3f})",
                    f"max |Δ score|          {out['max_abs_delta']:.4f}",
                    f"Spearman               {spearman}  (ranks of the texts' scores, integer against reference)"]
        if kind == "spans":
            return [f"start token agreement  {100 * out['start_agreement']:.2f}%",
                    f"end token agreement    {100 * out['end_agreement']:.2f}%",
                    f"mean |Δ logit|         {out['mean_abs_logit_delta']:.3f}",
                    f"max |Δ logit|          {out['max_abs_logit_delta']:.3f}"]
        if kind == "masked_tokens":
            return [f"top-1 token agreement  {100 * out['top1_agreement']:.2f}% of {out['masked']} masked positions",
                    f"top-5 overlap          {100 * out['top5_overlap']:.2f}%",
                    f"max |Δ logit|          {out['max_abs_logit_delta']:.3f}"]
        if kind == "token_logits":
            return [f"tag agreement          {100 * out['agreement']:.2f}% of {out['tokens']} tokens",
                    f"mean |Δ margin|        {out['mean_abs_margin_delta']:.3f}  (the reference's mean |margin|: "
                    f"{out['reference_mean_abs_margin']:.3f}, per token)",
                    f"max |Δ logit|          {out['max_abs_logit_delta']:.3f}"]
        lines = [f"label agreement        {100 * out['agreement']:.2f}%",
                 f"mean |Δ margin|        {out['mean_abs_margin_delta']:.3f}  (the reference's mean |margin|: "
                 f"{out['reference_mean_abs_margin']:.3f}; margin = logit of the reference's label minus the "
                 "largest other)",
                 f"max |Δ logit|          {out['max_abs_logit_delta']:.3f}"]
        if "accuracy" in out:
            lines.append(f"accuracy               integer {100 * out['accuracy']:.2f}%, reference "
                         f"{100 * out['reference_accuracy']:.2f}% ({out['labelled']} labelled texts)")
        return lines


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.1f}"


def _plain(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"

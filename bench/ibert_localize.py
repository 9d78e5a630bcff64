"""Where HF's IBert quant_mode parts from our integers (issue 8, item 4, points a-d).

Runs HF's quant_mode with one of its departures from our spec switched off at a time, and all of them
together, and compares each variant with our integers (the golden model of the converted file) on the
longest SST-2 dev rows. A departure that moves HF's logits towards ours explains that share of the
difference; one that does not is refuted. The switches (monkeypatches of one loaded model):

  a  stale scale   IBertEncoder hands every layer the embedding output's scale (IBertLayer never
                   returns its own), so layers 1.. re-round their residual input onto that grid:
                   switched off by handing each layer the previous layer's output scale
  b  requant twice the attention LayerNorm output and the GELU output are requantized to int8 twice
                   (output_activation, then pre_intermediate_act / pre_output_act): the first dropped
  c  exp clamp     softmax exp values are requantized by a 16-bit QuantAct whose calibrated range
                   can sit below the largest exp value, which it then clamps: requantized unclamped
                   (the 16-bit requantization itself stays: HF's 2^32 / Σ needs it)
  d  embd/LN       the embedding sum requantized at 16 bits (embeddings_act1: made 22-bit, as ours)
                   and IntLayerNorm's `shift` (variance of y >> shift: shift set to 0)

    python3 bench/ibert_localize.py [--model DIR] [--rows 100]
"""
from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from eval_models import DATA, TASKS  # noqa: E402
from ibert_parity import MODEL, compare, our_logits  # noqa: E402


def _passthrough(x, scaling_factor=None, *args, **kwargs):
    return x, scaling_factor


@contextlib.contextmanager
def _patched(obj, name: str, value):
    had = name in vars(obj)
    old = vars(obj).get(name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        if had:
            setattr(obj, name, old)
        else:
            delattr(obj, name)


def _true_scales(stack: contextlib.ExitStack, ibert) -> None:
    """(a) off: layer l gets layer l-1's output scale, as IBertLayer would return it."""
    last = {}
    for l, layer in enumerate(ibert.encoder.layer):
        output = layer.output
        def output_forward(*args, _module=output, _forward=output.forward, **kwargs):
            hidden, scale = _forward(*args, **kwargs)
            last["scale"] = scale
            return hidden, scale
        stack.enter_context(_patched(output, "forward", output_forward))
        if l > 0:
            def layer_forward(hidden, _scale, *args, _forward=layer.forward, **kwargs):
                return _forward(hidden, last["scale"], *args, **kwargs)
            stack.enter_context(_patched(layer, "forward", layer_forward))


def _variant(stack: contextlib.ExitStack, model, switches: str) -> None:
    import torch

    ibert = model.ibert
    if "a" in switches:
        _true_scales(stack, ibert)
    for layer in ibert.encoder.layer:
        if "b" in switches:
            stack.enter_context(_patched(layer.attention.output.output_activation, "forward", _passthrough))
            stack.enter_context(_patched(layer.intermediate.output_activation, "forward", _passthrough))
        if "c" in switches:
            act = layer.attention.self.softmax.act
            stack.enter_context(_patched(act, "forward", lambda x, _s=None, _act=act: _unclamped(_act, x)))
    if "d" in switches:
        stack.enter_context(_patched(ibert.embeddings.embeddings_act1, "activation_bit", 22))
        norms = [m for m in ibert.modules() if type(m).__name__ == "IntLayerNorm"]
        for norm in norms:
            stack.enter_context(_patched_buffer(norm, torch.zeros_like(norm.shift)))


def _unclamped(act, x):
    """QuantAct(16) of the softmax exp values without its clamp to ±(2^15 - 1)."""
    import torch
    from transformers.models.ibert.quant_modules import symmetric_linear_quantization_params

    scale = symmetric_linear_quantization_params(act.activation_bit, act.x_min, act.x_max, per_channel=False)
    return torch.round(x / scale) * scale, scale


@contextlib.contextmanager
def _patched_buffer(norm, value):
    old = norm.shift.clone()
    norm.shift.copy_(value)
    try:
        yield
    finally:
        norm.shift.copy_(old)


def hf_variant_logits(model, ids: list[np.ndarray], switches: str) -> np.ndarray:
    import torch

    out = []
    with contextlib.ExitStack() as stack, torch.no_grad():
        _variant(stack, model, switches)
        for row in ids:
            out.append(model(input_ids=torch.from_numpy(row)[None]).logits[0].double().numpy())
    return np.stack(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--rows", type=int, default=100, help="longest SST-2 dev rows (default: 100)")
    parser.add_argument("--variants", default=",a,b,c,d,abcd", help="comma-separated switch sets (default: %(default)s)")
    parser.add_argument("--work-dir", type=Path, default=BENCH.parent / "build" / "ibert_parity",
                        help="holds model.ibert, converted by bench/ibert_parity.py")
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer, IBertForSequenceClassification

    torch.set_num_threads(1)
    rows = TASKS["sst2-long"].evaluation(DATA)[: args.rows]
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    ids = [np.asarray(tokenizer(text, truncation=True, max_length=128)["input_ids"], np.int64) for text, _ in rows]
    model = IBertForSequenceClassification.from_pretrained(args.model).eval()
    ours = our_logits(args.work_dir / "model.ibert", ids)
    hf = hf_variant_logits(model, ids, "")
    print(f"{len(rows)} longest SST-2 dev rows; each HF quant_mode variant against ours and against HF as is")
    print(f"{'HF variant (switched off)':<28} {'agree w/ ours':>13} {'median|Δ|':>9} {'max|Δ|':>7} {'RMS Δm':>7}"
          f" {'| vs HF: median|Δ|':>18}")
    for switches in args.variants.split(","):
        logits = hf if not switches else hf_variant_logits(model, ids, switches)
        ours_vs = compare(switches, ours, logits)
        hf_vs = compare(switches, logits, hf)
        print(f"{switches or 'none (HF as is)':<28} {ours_vs['agreement']:>13.1%} {ours_vs['median_delta']:>9.4f} "
              f"{ours_vs['max_delta']:>7.3f} {ours_vs['rms_margin_error']:>7.3f} {hf_vs['median_delta']:>18.4f}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

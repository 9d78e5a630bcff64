"""Real I-BERT parity (issue 8, item 4): our integers against HF's IBert quant_mode on long SST-2 sentences.

Converts a quantization-aware-trained IBertForSequenceClassification (bench/make_ibert_qat.py) with
`pyibert convert`, runs the golden model of the file (bit-identical to libibert) and HF's quant_mode in
float32, and in float64 for HF's own noise floor, on the longest SST-2 dev rows, one sentence at a time
(no padding, so no masked keys), and prints margin-aware agreement against HF's float32 logits (what
the issue measures), then ours against HF's float64 ones (the same arithmetic without float32's
rounding: what an exact integer engine would be measured against):

    python3 bench/ibert_parity.py [--model DIR] [--rows 500] [--work-dir build/ibert_parity] [--version-4-softmax]

The margin is the top logit minus the runner-up. HF's logits take most of the time (its quant_mode is
float64 element-wise work), so they are cached in --cache, keyed by the model and the rows.
Issue 8's bar: every row with |HF margin| >= 0.5 gets HF's label, median |Δ logit| <= 0.06.

--version-4-softmax adds the same file computed with version 4's softmax (every layer without its
attn_exp16 rescale: full i-exp values, P rounded), to show what HF's 16-bit exps and floored
probabilities (format version 5, models/FORMAT.md §4.6) change.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from eval_models import DATA, TASKS  # noqa: E402

MODEL = Path("/work/evalmodels/ibert-qat-sst2")
SAFE_MARGIN = 0.5


def hf_logits(model_dir: Path, ids: list[np.ndarray], dtype) -> np.ndarray:
    import torch
    from transformers import IBertForSequenceClassification

    model = IBertForSequenceClassification.from_pretrained(model_dir).eval().to(dtype)
    if not model.config.quant_mode:
        raise SystemExit(f"{model_dir} is not in quant_mode")
    out = []
    with torch.no_grad():
        for row in ids:
            out.append(model(input_ids=torch.from_numpy(row)[None]).logits[0].double().numpy())
    return np.stack(out)


def cached_hf_logits(model_dir: Path, ids: list[np.ndarray], cache: Path) -> tuple[np.ndarray, np.ndarray]:
    digest = hashlib.sha256((model_dir / "model.safetensors").read_bytes())
    for row in ids:
        digest.update(row.tobytes() + b"|")
    key = digest.hexdigest()
    if cache.is_file():
        stored = np.load(cache)
        if str(stored["key"]) == key:
            return stored["float32"], stored["float64"]
    import torch

    start = time.time()
    f32 = hf_logits(model_dir, ids, torch.float32)
    f64 = hf_logits(model_dir, ids, torch.float64)
    print(f"HF quant_mode logits (float32 and float64) on {len(ids)} rows: {time.time() - start:.0f} s", flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, key=key, float32=f32, float64=f64)
    return f32, f64


def our_logits(ibert_file: Path, ids: list[np.ndarray]) -> np.ndarray:
    from pyibert.golden import GoldenModel

    golden = GoldenModel(ibert_file)
    out = []
    for row in ids:
        logits, scale = golden.forward(row)
        out.append(logits.astype(np.float64) * scale)
    return np.stack(out)


def our_logits_with_version_4_softmax(ibert_file: Path, ids: list[np.ndarray]) -> np.ndarray:
    """our_logits with every layer's softmax as a version-4 file computes it (the full i-exp values,
    P rounded), i.e. the file without its attn_exp16 rescales."""
    from unittest import mock

    from pyibert.golden import GoldenModel

    with mock.patch.object(GoldenModel, "_exp16", lambda self, prefix: None):
        return our_logits(ibert_file, ids)


def margin(logits: np.ndarray) -> np.ndarray:
    top2 = np.sort(logits, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def compare(name: str, ours: np.ndarray, hf: np.ndarray) -> dict:
    """Agreement of `ours` with the reference `hf`, overall and where HF is not near a tie."""
    agree = ours.argmax(1) == hf.argmax(1)
    safe = margin(hf) >= SAFE_MARGIN
    delta = np.abs(ours - hf).max(1)
    # signed margin of HF's label: how far each side is from flipping it
    label = hf.argmax(1)
    rows = np.arange(len(hf))
    def label_margin(logits):
        other = logits.copy()
        other[rows, label] = -np.inf
        return logits[rows, label] - other.max(1)
    margin_error = label_margin(ours) - label_margin(hf)
    return {
        "name": name, "agreement": agree.mean(), "safe_rows": int(safe.sum()),
        "safe_agreement": agree[safe].mean() if safe.any() else float("nan"),
        "flips": int((~agree).sum()), "max_flip_margin": float(margin(hf)[~agree].max()) if (~agree).any() else 0.0,
        "median_delta": float(np.median(delta)), "max_delta": float(delta.max()),
        "rms_margin_error": float(np.sqrt(np.mean(margin_error ** 2))),
    }


def print_comparisons(results: list[dict]) -> None:
    print(f"{'':<34} {'agree':>7} {'|m|>=0.5':>14} {'flips':>5} {'max flip |m|':>12} "
          f"{'median|Δ|':>9} {'max|Δ|':>7} {'RMS Δm':>7}")
    for result in results:
        print(f"{result['name']:<34} {result['agreement']:>7.1%} "
              f"{result['safe_agreement']:>7.1%} of {result['safe_rows']:>3} {result['flips']:>5} "
              f"{result['max_flip_margin']:>12.3f} {result['median_delta']:>9.4f} {result['max_delta']:>7.3f} "
              f"{result['rms_margin_error']:>7.3f}")


def by_length(engines: dict[str, np.ndarray], hf: np.ndarray, lengths: np.ndarray) -> None:
    """Agreement and median |Δ logit| per third of the rows by token count: whether an engine's
    difference from HF float32 grows with the sentence (HF's own float64 run, for scale)."""
    edges = np.quantile(lengths, [1 / 3, 2 / 3])
    thirds = [lengths < edges[0], (lengths >= edges[0]) & (lengths < edges[1]), lengths >= edges[1]]
    names = [f"< {edges[0]:.0f} tokens", f"{edges[0]:.0f}-{edges[1] - 1:.0f}", f">= {edges[1]:.0f}"]
    print(f"\nby length, agreement / median |Δ logit| against HF quant_mode float32 (rows: "
          f"{', '.join(str(int(t.sum())) for t in thirds)})")
    print(f"{'':<34} " + " ".join(f"{name:>16}" for name in names))
    for name, logits in engines.items():
        cells = []
        for rows in thirds:
            agree = np.mean(logits[rows].argmax(1) == hf[rows].argmax(1))
            cells.append(f"{agree:>7.1%} / {np.median(np.abs(logits[rows] - hf[rows]).max(1)):.3f}")
        print(f"{name:<34} " + " ".join(f"{cell:>16}" for cell in cells))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL, help=f"IBert quant_mode checkpoint (default: {MODEL})")
    parser.add_argument("--rows", type=int, default=500, help="longest SST-2 dev rows to compare on (default: 500)")
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--work-dir", type=Path, default=BENCH.parent / "build" / "ibert_parity",
                        help="where the converted file and the cached HF logits go")
    parser.add_argument("--version-4-softmax", action="store_true",
                        help="also compute the file with version 4's softmax (without its attn_exp16 rescales)")
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(1)  # quant_mode's small element-wise ops: see bench/make_ibert_qat.py
    args.work_dir.mkdir(parents=True, exist_ok=True)
    ibert_file = args.work_dir / "model.ibert"
    subprocess.run([sys.executable, "-m", "pyibert", "convert", str(args.model), "-o", str(ibert_file), "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    rows = TASKS["sst2-long"].evaluation(args.data_dir)[: args.rows]
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    ids = [np.asarray(tokenizer(text, truncation=True, max_length=128)["input_ids"], np.int64) for text, _ in rows]
    labels = np.array([label for _, label in rows])

    hf32, hf64 = cached_hf_logits(args.model, ids, args.work_dir / "hf_logits.npz")
    start = time.time()
    ours = our_logits(ibert_file, ids)
    print(f"{len(rows)} longest SST-2 dev rows ({np.mean([len(r) for r in ids]):.1f} tokens on average); "
          f"golden model {time.time() - start:.0f} s")
    print(f"accuracy: HF quant_mode float32 {np.mean(hf32.argmax(1) == labels):.2%}, "
          f"float64 {np.mean(hf64.argmax(1) == labels):.2%}, ours {np.mean(ours.argmax(1) == labels):.2%}")
    print(f"{'against HF quant_mode float32':<34}")
    engines = {"ours (integers)": ours}
    if args.version_4_softmax:
        engines["ours, version 4's softmax"] = our_logits_with_version_4_softmax(ibert_file, ids)
    print_comparisons([compare(name, logits, hf32) for name, logits in engines.items()]
                      + [compare("HF quant_mode float64", hf64, hf32)])
    print(f"\n{'against HF quant_mode float64':<34}")
    print_comparisons([compare(name, logits, hf64) for name, logits in engines.items()]
                      + [compare("HF quant_mode float32", hf32, hf64)])
    by_length({**engines, "HF quant_mode float64": hf64}, hf32, np.array([len(row) for row in ids]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

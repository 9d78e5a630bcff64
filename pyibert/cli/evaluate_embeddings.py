"""`pyibert eval` of a sentence-embedding model: the cosine of each text's integer embedding to the
float embedding of the original sentence-transformers directory (--reference), computed with
transformers and the directory's own pooling (modules.json), as sentence-transformers computes it.

JSON keys: n, cosine_median, cosine_mean, cosine_p5, cosine_min.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..tsv import read_columns

_BATCH = 32


def float_embeddings(hf_dir: str, texts: list[str]) -> np.ndarray:
    """The float embeddings (unnormalized) sentence-transformers computes for `texts` from the directory
    `hf_dir`: its transformer, truncation at max_seq_length, its pooling over the unmasked tokens."""
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from ..convert.sentence_embedding import read_pooling
    except ImportError as error:
        raise ValueError(f"--reference needs torch and transformers ({error}): pip install 'pyibert[convert]'")
    pooling = read_pooling(Path(hf_dir))
    if pooling is None:
        raise ValueError(f"--reference {hf_dir} has no modules.json: give the sentence-transformers directory "
                         "the model was converted from")
    config_path = Path(hf_dir) / "sentence_bert_config.json"
    max_length = json.loads(config_path.read_text()).get("max_seq_length") if config_path.is_file() else None
    tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    model = AutoModel.from_pretrained(hf_dir).float().eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), _BATCH):
            batch = tokenizer(texts[i:i + _BATCH], padding=True, truncation=True, max_length=max_length,
                              return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            if pooling.mode == "cls":
                pooled = hidden[:, 0]
            elif pooling.mode == "max":
                pooled = hidden.masked_fill(mask == 0, -1e9).amax(dim=1)
            else:
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            out.append(pooled.numpy())
    return np.concatenate(out).astype(np.float64)


def run_embeddings(args, model) -> int:
    if not args.reference:
        raise ValueError(f"{args.model} is a sentence-embedding model: pyibert eval measures it against the float "
                         "model, so pass --reference SENTENCE_TRANSFORMERS_DIR")
    texts = [row[0] for row in read_columns(Path(args.data), [args.text_column])]
    if args.limit is not None:
        texts = texts[:args.limit]
    if not texts:
        raise ValueError(f"{args.data} has no rows")
    ours = model.embed(texts).astype(np.float64)
    reference = float_embeddings(args.reference, texts)
    cosine = (ours * reference).sum(axis=1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(reference, axis=1))
    result = {"n": len(texts), "cosine_median": float(np.median(cosine)), "cosine_mean": float(cosine.mean()),
              "cosine_p5": float(np.percentile(cosine, 5)), "cosine_min": float(cosine.min())}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"cosine to the float embeddings over {len(texts)} texts ({args.reference}):")
        print(f"  median {result['cosine_median']:.4f}  mean {result['cosine_mean']:.4f}  "
              f"5th percentile {result['cosine_p5']:.4f}  min {result['cosine_min']:.4f}")
    return 0

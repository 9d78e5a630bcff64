"""Contract 1 on real text: libibert and the numpy golden model give identical
int32 logits on 500 real sentences (SST-2 dev and AG News), tokenized by the C
tokenizer, run through the shipped MiniLM classifier."""
import numpy as np

import pyibert
from pyibert.golden import GoldenModel


def test_c_runtime_equals_golden_model_on_500_real_sentences(shipped_model_path, sst2_dev_rows, agnews_rows):
    texts = [text for text, _ in sst2_dev_rows[:300]] + [text for text, _ in agnews_rows[:200]]
    golden = GoldenModel(shipped_model_path)
    with pyibert.Model(shipped_model_path) as model:
        token_ids = model.tokenize(texts)
        mismatches = []
        for i, ids in enumerate(token_ids):
            ours, scale = model.forward(np.array(ids))
            reference, golden_scale = golden.forward(np.array(ids))
            assert scale == golden_scale
            if not np.array_equal(ours, reference):
                mismatches.append((i, texts[i], ours.tolist(), reference.tolist()))
    assert len(token_ids) == 500
    assert not mismatches, f"{len(mismatches)} of 500 differ, first: {mismatches[0]}"

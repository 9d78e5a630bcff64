"""Fill-mask against Hugging Face float on a real model: all-MiniLM-L6-v2's encoder with a masked-LM
head trained here briefly (tests/fixtures/mlm_head.py; no MLM checkpoint is on disk), converted with
the installed pyibert, scored on held-out SST-2 dev sentences with 15% of their tokens masked: top-1
agreement with float on the masked positions must reach the issue's 99%. bench/fill_mask_accuracy.py
trains longer and measures on more text (README, Fill-mask)."""
from __future__ import annotations

import numpy as np
import pytest

import pyibert
from pyibert.tasks.fill_mask import masked_logits

TRAIN_STEPS = 30
HELD_OUT = 60


@pytest.fixture(scope="module")
def mlm_checkpoint(minilm_dir, shared_data, tmp_path_factory):
    pytest.importorskip("torch")
    from mlm_head import train_mlm_head

    lines = (shared_data / "sst2" / "train.tsv").read_text(encoding="utf-8").splitlines()[1:3001]
    texts = [line.split("\t")[0] for line in lines]
    return train_mlm_head(minilm_dir, tmp_path_factory.mktemp("mlm"), texts, TRAIN_STEPS, batch_size=16,
                          max_length=32)


@pytest.mark.xfail(strict=True, reason="below the issue's 99%: measured 60.2% on this slice, 67.2% in "
                   "bench/fill_mask_accuracy.py (390 positions); the int8 head reorders this weak head's flat "
                   "distributions (README, Fill-mask). Remove this mark when it passes.")
def test_top1_agreement_with_float_on_masked_positions(mlm_checkpoint, sst2_dev_rows, tmp_path):
    from transformers import AutoTokenizer, BertForMaskedLM

    from mlm_head import agreement, masked_examples
    from pyibert.convert.pipeline import convert_checkpoint

    calibration = tmp_path / "calibration.txt"
    calibration.write_text("\n".join(t for t, _ in sst2_dev_rows[-64:]) + "\n", encoding="utf-8")
    path = tmp_path / "mlm.ibert"
    convert_checkpoint(mlm_checkpoint, path, calibration=calibration, progress=False)
    tokenizer = AutoTokenizer.from_pretrained(str(mlm_checkpoint))
    float_model = BertForMaskedLM.from_pretrained(str(mlm_checkpoint)).eval()
    examples = masked_examples(tokenizer, [t for t, _ in sst2_dev_rows[:HELD_OUT]])
    with pyibert.Model(path, threads=2) as model:
        assert model.task == "fill-mask" and model.mask_token_id == tokenizer.mask_token_id
        context = model._take_context()
        scores = agreement(float_model, lambda ids: masked_logits(model, context, np.asarray(ids, np.int32)),
                           examples, tokenizer.mask_token_id)
        model._contexts.put(context)
    assert scores["masked"] >= 100
    assert scores["top1_agreement"] >= 0.99, scores

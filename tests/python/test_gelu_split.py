"""The converter splits the widest GELU channels of a float checkpoint into copies (convert/gelu_split.py).

The split must compute the checkpoint's own function (FFN up's rows repeated, FFN down's columns
divided and repeated), leave I-BERT files alone, and give files the runtime runs bit-exact with
the golden model. Tiny random checkpoints cover the shapes; what the split gains is measured on
trained classifiers, task heads and sentence embeddings in the README.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import gguf  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from tiny_checkpoint import FFN, make_checkpoint  # noqa: E402
from tiny_checkpoint import sst2_sentences  # noqa: E402

import pyibert  # noqa: E402
from pyibert.convert import convert_checkpoint  # noqa: E402
from pyibert.convert.activation_points import ActivationRanges  # noqa: E402
from pyibert.convert.architectures import encoder_params  # noqa: E402
from pyibert.convert.checkpoint import load_checkpoint  # noqa: E402
from pyibert.convert.gelu_correction import GeluFit  # noqa: E402
from pyibert.convert.gelu_split import GELU_SPLIT_CHANNELS, copies_per_channel, split_wide_gelu_channels  # noqa: E402
from pyibert.convert.quantize import ScaleOptions  # noqa: E402
from pyibert.golden import GoldenModel  # noqa: E402


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return sst2_sentences(600)


@pytest.fixture(scope="module")
def calibration(tmp_path_factory, texts) -> Path:
    path = tmp_path_factory.mktemp("calibration") / "sample.txt"
    path.write_text("\n".join(texts[:48]) + "\n", encoding="utf-8")
    return path


def test_each_extra_copy_goes_to_the_channel_widest_per_copy():
    assert copies_per_channel(np.array([10.0, 1.0, 1.0, 4.0]), 3).tolist() == [3, 1, 1, 2]
    assert copies_per_channel(np.array([1.0, 1.0]), 0).tolist() == [1, 1]
    copies = copies_per_channel(np.array([25.0, 3.0, 2.0, 8.0, 1.0]), 16)
    assert copies.sum() == 5 + 16 and (copies >= 1).all()
    per_copy = np.array([25.0, 3.0, 2.0, 8.0, 1.0]) / copies
    # no channel could give a copy to the widest without becoming wider than it is now
    assert per_copy.max() <= min(r / (c - 1) for r, c in zip([25.0, 3.0, 2.0, 8.0, 1.0], copies) if c > 1)


def test_the_split_ffn_computes_the_checkpoints_function(tmp_path, texts):
    """FFN down(GELU(FFN up(x))) is the same function after the split (float64, to rounding), the ranges,
    the GELU fit and GPTQ's Hessian follow their channels, and each layer gains exactly the extra channels."""
    src = make_checkpoint(tmp_path / "hf", "BertForSequenceClassification", texts)
    checkpoint = load_checkpoint(src)
    params = encoder_params(checkpoint.model, checkpoint.arch)
    before = [(layer.ffn_up.weight.double().clone(), layer.ffn_up.bias.double().clone(),
               layer.ffn_down.weight.double().clone(), layer.ffn_down.bias.double().clone()) for layer in params.layers]
    rng = np.random.default_rng(0)
    widths = {f"blk.{l}.gelu": rng.uniform(0.5, 2.0, FFN) for l in range(len(params.layers))}
    widths["blk.0.gelu"][[3, 17]] = [30.0, 12.0]    # two massive channels in layer 0
    ranges = ActivationRanges(absmax={}, source="test", count=0, residual_margin=1.0,
                              channel_absmax={k: v.copy() for k, v in widths.items()},
                              gelu_fit={"blk.0.gelu": GeluFit(np.arange(FFN) + 1.0, np.arange(FFN) * 0.5, "erf3")})
    hessian = rng.normal(size=(FFN, FFN))
    hessians = split_wide_gelu_channels(params, ranges, {"blk.0.ffn_down": hessian}, extra=7)

    x = torch.from_numpy(rng.normal(size=(5, params.layers[0].ffn_up.weight.shape[1])))
    for layer, (w_up, b_up, w_down, b_down) in zip(params.layers, before):
        ffn = torch.nn.functional.gelu(x @ w_up.T + b_up) @ w_down.T + b_down
        up, down = layer.ffn_up, layer.ffn_down
        split = torch.nn.functional.gelu(x @ up.weight.double().T + up.bias.double()) @ down.weight.double().T
        assert up.weight.shape[0] == down.weight.shape[1] == FFN + 7
        torch.testing.assert_close(split + down.bias.double(), ffn, rtol=1e-6, atol=1e-6)
    copies = copies_per_channel(widths["blk.0.gelu"], 7)
    assert copies[3] >= 4 and copies[17] >= 2     # the massive channels took the copies
    order = np.concatenate([np.arange(FFN), np.repeat(np.arange(FFN), copies - 1)])
    np.testing.assert_array_equal(ranges.channel_absmax["blk.0.gelu"], widths["blk.0.gelu"][order])
    np.testing.assert_array_equal(ranges.gelu_fit["blk.0.gelu"].gain, (np.arange(FFN) + 1.0)[order])
    assert ranges.gelu_fit["blk.0.gelu"].form == "erf3"
    np.testing.assert_array_equal(hessians["blk.0.ffn_down"], hessian[np.ix_(order, order)])


@pytest.mark.parametrize("architecture", ["BertForSequenceClassification", "RobertaForSequenceClassification",
                                          "BertForTokenClassification"])
def test_a_split_file_runs_bit_exact_and_follows_hf(architecture, tmp_path, texts, calibration):
    src = make_checkpoint(tmp_path / "hf", architecture, texts)
    out = convert_checkpoint(src, tmp_path / "m.ibert", calibration=calibration, progress=False).output
    fields = {k: f.contents() for k, f in gguf.GGUFReader(out).fields.items() if k.startswith("ibert.")}
    assert fields["ibert.intermediate_size"] == FFN + GELU_SPLIT_CHANNELS
    golden, hf = GoldenModel(out), getattr(transformers, architecture).from_pretrained(src).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(src)
    with pyibert.Model(out, threads=1) as model:
        for text in sst2_sentences(12, skip=3000):
            ids = tokenizer(text, truncation=True, max_length=golden.max_tokens)["input_ids"]
            ours, scale = model.forward(ids)
            reference, _ = golden.forward(ids)
            np.testing.assert_array_equal(ours, reference)
            with torch.no_grad():
                float_logits = hf(torch.tensor([ids])).logits[0].numpy()
            assert np.abs(ours.reshape(float_logits.shape) * scale - float_logits).max() < 0.01


@pytest.mark.parametrize("architecture, options", [("IBertForSequenceClassification", ScaleOptions()),
                                                   ("IBertForTokenClassification", ScaleOptions()),
                                                   ("BertForSequenceClassification", ScaleOptions(gelu_split_channels=0))])
def test_ibert_files_and_a_split_turned_off_keep_the_checkpoints_ffn(architecture, options, tmp_path, texts, calibration):
    src = make_checkpoint(tmp_path / "hf", architecture, texts)
    out = convert_checkpoint(src, tmp_path / "m.ibert", calibration=None if architecture.startswith("IBert")
                             else calibration, progress=False, scales=options).output
    fields = {k: f.contents() for k, f in gguf.GGUFReader(out).fields.items() if k.startswith("ibert.")}
    assert fields["ibert.intermediate_size"] == FFN

"""The golden model's integer operations (models/FORMAT.md §4): exact where FORMAT.md defines an exact
result, close to the real functions they stand for (at the scales FORMAT.md and the converter use), and
within FORMAT.md's bounds on random models whose integers sit at the limits validation allows.
"""
from __future__ import annotations

import math
from re import escape as re_escape

import numpy as np
import pytest

from pyibert.convert.nonlinear import exp_constants, gelu_constants
from pyibert.golden import BoundError, GoldenModel, ops
from pyibert.golden.model_file import read_model_file

_E = exp_constants()                 # K = 10, as the converter writes it
EXP = ops.ExpDomain(_E.frac_bits, _E.poly_b, _E.poly_c)
_G = gelu_constants()                # s_g = 2^−10, E = 12
GELU = ops.Gelu(_G.b, _G.c, _G.shift, _G.one)
_G3 = gelu_constants("erf3")          # the cubic of format version 7
GELU3 = _G3.golden()
EXP_UNIT = math.log(2.0) / 2**EXP.frac_bits   # real value of one exp-domain unit


# --- exact integer definitions ---------------------------------------------------------------------

def test_rq_rounds_half_up_exactly_at_the_extremes():
    rng = np.random.default_rng(0)
    x_max = 2**31 + 2**19 - 1
    x = np.concatenate([[1, -1, 3, -3, x_max, -x_max, 0], rng.integers(-x_max, x_max + 1, 2000)])
    mult = np.concatenate([[1, 1, 1, 1, 2**31 - 1, -(2**31 - 1), 5], rng.integers(-(2**31) + 1, 2**31, 2000)])
    shift = np.concatenate([[1, 1, 1, 1, 1, 1, 62], rng.integers(1, 63, 2000)])
    got = ops.rq(x, mult, shift)
    # x · m / 2^s rounded to nearest, ties up, with Python's unbounded integers
    want = [(int(a) * int(m) + 2 ** (int(s) - 1)) // 2 ** int(s) for a, m, s in zip(x, mult, shift)]
    assert got[:4].tolist() == [1, 0, 2, -1]          # 0.5 → 1, −0.5 → 0, 1.5 → 2, −1.5 → −1
    assert got.tolist() == want


def test_rq_refuses_what_formats_bounds_exclude():
    with pytest.raises(BoundError, match="rescale shift"):
        ops.rq(np.array([5]), np.array([3]), np.array([0]))
    with pytest.raises(BoundError, match="rescale multiplier"):
        ops.rq(np.array([5]), np.array([-(2**31)]), np.array([4]))
    with pytest.raises(BoundError, match="rescale input"):
        ops.rq(np.array([2**31 + 2**19]), np.array([1]), np.array([4]))


def test_linear_is_exact_at_the_largest_accumulators():
    k = 65536   # FORMAT.md's largest K: |Σ| = 128 · 127 · 2^16
    x = np.full((2, k), -128)
    x[1, ::2] = 127
    weight = np.full((3, k), 127, dtype=np.int8)
    weight[1] = -127
    weight[2, 1::3] = -1
    bias = np.array([2**30 - 1, -(2**30), 7])
    want = [[int(bias[n]) + sum(int(a) * int(w) for a, w in zip(row, weight[n])) for n in range(3)] for row in x]
    assert ops.linear(x, weight, bias).tolist() == want


def test_isqrt_is_exact_around_squares_up_to_2_62():
    rng = np.random.default_rng(1)
    roots = np.concatenate([np.arange(0, 2000), rng.integers(0, 2**31, 3000), [2**31 - 1]])
    values = np.concatenate([roots * roots, np.maximum(roots * roots - 1, 0), roots * roots + 1,
                             rng.integers(0, 2**62, 3000), [2**62 - 1]])
    assert ops.isqrt(values).tolist() == [math.isqrt(int(v)) for v in values]


def test_iexp_edges():
    assert ops.iexp(np.array([0]), EXP)[0] == EXP.poly_c
    w = np.arange(-40 * 2**EXP.frac_bits, 1)
    e = ops.iexp(w, EXP)
    assert np.all(np.diff(e) >= 0), "i-exp must not decrease as w grows"
    assert np.all(e[w <= -31 * 2**EXP.frac_bits] == 0)
    assert ops.iexp(np.array([-(2**31)]), EXP)[0] == 0
    with pytest.raises(BoundError, match="i-exp input"):
        ops.iexp(np.array([1]), EXP)


def test_iexp_stays_positive_with_constants_at_their_bounds(random_model):
    extreme = ops.ExpDomain(**random_model.EXTREME_EXP)
    r_edge = -(2**extreme.frac_bits) + 1     # where z = r(r + b) + c is smallest
    e = ops.iexp(np.array([0, r_edge, -(2**extreme.frac_bits)]), extreme)
    assert e[0] == 2**30 and e[1] > 0 and e[2] == (2**30) >> 1


def test_softmax_masks_keys_and_caps_at_255():
    t = np.array([[5, -100, 2**30, 7], [0, 0, 0, 0]])
    mask = np.array([True, True, False, True])
    p = ops.softmax_rows(t, mask, EXP)
    assert p[:, 2].tolist() == [0, 0], "a masked key gets 0 and does not enter the max"
    third = (EXP.poly_c * (2**62 // (3 * EXP.poly_c)) + 2**53) >> 54   # three equal keys: each e = c
    assert third == 85 and p[1].tolist() == [85, 85, 0, 85]
    assert ops.softmax_rows(np.array([[123]]), np.array([True]), EXP).tolist() == [[255]]
    assert not ops.softmax_rows(t, np.zeros(4, bool), EXP).any()


def test_softmax_rounds_to_nearest_ties_up_then_caps():
    """Format version 2: P = min(255, (e · f + 2^53) >> 54). With K = 1, b = 4, c = 2^20 a key at
    w = −2q has e = 2^(20 − q) exactly (tests/c/softmax_rounding_cases.h has the same rows)."""
    exp = ops.ExpDomain(frac_bits=1, poly_b=4, poly_c=2**20)
    q = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 31])        # e sum to 2^21 (the last is 0): f = 2^41
    p = ops.softmax_rows(-2 * q[None, :], np.ones(q.size, bool), exp)
    assert p.tolist() == [[128, 64, 32, 16, 8, 4, 2, 1, 1, 1, 0]]   # e · f = 2^53 exactly: 0.5 rounds up
    # e = 2^20 and 2^10: 256 · 1024 / 1025 = 255.75 rounds to 256, which the cap makes 255; 0.25 → 0
    assert ops.softmax_rows(np.array([[0, -20]]), np.ones(2, bool), exp).tolist() == [[255, 0]]


def test_exp16_softmax_requantizes_the_exps_to_16_bits_then_floors():
    """Format version 5 (I-BERT files): e16 = min(32767, rq(e, attn_exp16)), P = ⌊e16 · ⌊2^32 / Σ e16⌋ / 2^24⌋,
    as HF's IntSoftmax. Same exp domain as above: keys at w = −2q have e = 2^(20 − q)."""
    exp = ops.ExpDomain(frac_bits=1, poly_b=4, poly_c=2**20)
    one_in_64 = (np.array([1]), np.array([6]))               # e16 = (e + 32) >> 6
    q = np.array([0, 1, 2, 15, 16])                          # e16 = 16384, 8192, 4096, 1, 0: Σ 28673
    p = ops.softmax_rows(-2 * q[None, :], np.ones(q.size, bool), exp, one_in_64)
    assert p.tolist() == [[146, 73, 36, 0, 0]]               # f = 149791: 146.27, 73.1, 36.5, 0.009 floored
    # e = 2^20 saturates at 32767; with 512 beside it P is 252.06 and 3.94: floored, not rounded (4)
    halve = (np.array([1]), np.array([1]))
    assert ops.softmax_rows(np.array([[0, -20]]), np.ones(2, bool), exp, halve).tolist() == [[252, 3]]
    masked = ops.softmax_rows(np.array([[0, -20, 5]]), np.array([True, True, False]), exp, halve)
    assert masked.tolist() == [[252, 3, 0]] and not ops.softmax_rows(np.array([[0]]), np.zeros(1, bool), exp, halve).any()


def test_layernorm_constant_row_gives_the_bias():
    mult = np.array([2**31 - 1, -5, 0])
    shift = np.array([40, 1, 62])
    bias = np.array([300 * 2**40, -(2**61), 2**61])
    out = ops.layernorm(np.full((1, 3), 2**21 - 1), mult, shift, bias)
    assert out.tolist() == [[127, -128, 0]]   # sat_8(β >> s)
    with pytest.raises(BoundError, match="layer norm input"):
        ops.layernorm(np.array([[2**21, 0, 0]]), mult, shift, bias)


# --- the integer functions approximate the real ones -----------------------------------------------

def test_iexp_approximates_exp():
    w = np.arange(-30 * 2**EXP.frac_bits, 1)
    approx = ops.iexp(w, EXP) / EXP.poly_c
    exact = np.exp(w * EXP_UNIT)
    # I-BERT's polynomial is within 0.2% of e^x on (−ln2, 0]; the shift by q only truncates
    assert np.abs(approx - exact).max() < 0.0025
    near = w >= -10 * 2**EXP.frac_bits           # values ≥ 2^−10, where z >> q keeps ≥ 12 bits
    assert (np.abs(approx - exact) / exact)[near].max() < 0.005


def _gelu_error(gelu: ops.Gelu, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, x, |integer GELU − GELU|) over every 20-bit input t at s_g = 2^−10."""
    t = np.arange(-(2**19), 2**19)
    x = t * 2.0**-10
    real = ops.igelu(t, gelu) * 2.0**-10 * sigma / 2
    return t, x, np.abs(real - x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2))))


def test_igelu_approximates_gelu():
    _, x, err = _gelu_error(GELU, _G.sigma)
    assert err[np.abs(x) <= 4].max() < 0.02       # I-BERT reports 0.018 for i-GELU
    # beyond the polynomial's range y + one is an integer approximation of 0 (x ≪ 0: −1, off by
    # |σ|/2 per unit of x) or of 2/σ (x ≫ 0): the error grows by at most 3e−4 per unit of |x|
    assert np.all(err <= 0.02 + 3e-4 * np.abs(x))


def test_the_cubic_gelu_approximates_gelu_seven_times_closer():
    t, x, err = _gelu_error(GELU3, _G3.sigma)
    # the cubic's own error is at most 0.0028 (FORMAT.md §4.4); its integers (t at s_g, D, p and L at
    # 2^-14, y's shift) add at most about s_g
    assert err[np.abs(x) <= 4].max() < 0.0028 + 2.0**-10
    _, _, erf2 = _gelu_error(GELU, _G.sigma)
    assert err[np.abs(x) <= 4].max() * 5 < erf2[np.abs(x) <= 4].max()
    # beyond the clip B = 2.27 the erf is 1: y + one is exactly 2 · one (x > 0) or 0 (x < 0)
    w = ops.igelu(t, GELU3) // np.where(t == 0, 1, t)
    assert np.all(w[t >= -_G3.b] == 2 * _G3.one) and np.all(w[t <= _G3.b] == 0)
    assert ops.igelu(np.zeros(1, dtype=np.int64), GELU3)[0] == 0


def test_the_cubic_gelu_checks_every_d_for_int32_products():
    ops.check_erf3(GELU3)
    for bad in (GELU3._replace(d_mult=2**17 - 1), GELU3._replace(c3=2**15 - 1), GELU3._replace(one=-(2**12))):
        with pytest.raises(ops.BoundError):
            ops.check_erf3(bad)
    # the largest products of the converter's constants, as FORMAT.md §4.4 states them
    d = np.arange(GELU3.b, 1)
    dd = (d * GELU3.d_mult) >> ops.ERF3_D_SHIFT
    assert dd.min() == -37200 and np.abs(d * GELU3.d_mult).max() < 1.53e8


def test_softmax_approximates_softmax():
    rng = np.random.default_rng(2)
    for n in (1, 2, 5, 33, 128):
        t = rng.normal(0, 3 / EXP_UNIT, size=(300, n)).round().astype(np.int64)
        probs = ops.softmax_rows(t, np.ones(n, bool), EXP) / 256
        real = t * EXP_UNIT
        exact = np.exp(real - real.max(axis=1, keepdims=True))
        exact /= exact.sum(axis=1, keepdims=True)
        assert np.abs(probs - exact).max() <= 2 / 256, n


def test_tanh_head_approximates_tanh():
    u = np.arange(-(2**16), 2**16) * 16
    y = ops.tanh_head(u, EXP)
    assert y.min() == -127 and y.max() == 127
    exact = np.tanh(u * EXP_UNIT / 2)        # u's scale is ln2 / 2^(K+1)
    assert np.abs(y / 127 - exact).max() <= 1 / 127


def _layer_norm_constants(gamma, beta, s_out):
    """FORMAT.md §4.5: m / 2^s = γ·√H / (2^30·s_out), β_int = round(β / s_out · 2^s) + 2^(s−1)."""
    ratio = gamma * math.sqrt(gamma.size) / (2**30 * s_out)
    shift = np.array([min(62, 30 - math.floor(math.log2(r))) for r in ratio])
    mult = np.round(ratio * 2.0**shift).astype(np.int64)
    bias = np.array([round(b / s_out * 2.0**s) + 2 ** (int(s) - 1) for b, s in zip(beta, shift)], dtype=np.int64)
    return mult, shift, bias


@pytest.mark.parametrize("hidden", [32, 384])
def test_layernorm_approximates_layer_norm(hidden):
    rng = np.random.default_rng(hidden)
    s_out = 0.05
    for trial in range(60):
        sigma = 2.0 ** rng.uniform(2, 20)
        x = np.clip(rng.normal(rng.uniform(-1e4, 1e4), sigma, size=(8, hidden)).round(), -(2**21), 2**21 - 1)
        gamma, beta = rng.uniform(0.2, 2.0, hidden), rng.uniform(-1.0, 1.0, hidden)
        out = ops.layernorm(x.astype(np.int64), *_layer_norm_constants(gamma, beta, s_out))
        mean, std = x.mean(axis=1, keepdims=True), x.std(axis=1, keepdims=True)
        normalized = (x - mean) / std * gamma / s_out
        exact = normalized + beta / s_out
        std_int = std * math.sqrt(hidden)
        # rounding the output (1/2) and the mean (1/2 an input unit); std to an integer (relative 1/std_int)
        # and 2^31/std to an integer (relative std_int/2^31) scale the normalized part
        bound = 0.5 + gamma / s_out * 0.5 / std + np.abs(normalized) * (1 / std_int + std_int / 2**31) + 1e-6
        inside = np.abs(exact) < 127
        assert np.all((np.abs(out - exact) <= bound)[inside]), trial


# --- random models: in range, deterministic, and as extreme as they claim ----------------------------

def _inputs(rng, golden, n):
    return (rng.integers(0, golden.vocab_size, n), rng.integers(0, golden.type_vocab_size, n),
            (rng.random(n) < 0.8).astype(np.int64))


@pytest.mark.parametrize("tokenizer", ["bert", "gpt2"])
@pytest.mark.parametrize("num_labels", [3, 0])
def test_extreme_models_stay_in_range_and_are_deterministic(random_model, tmp_path, tokenizer, num_labels):
    paths = [random_model.write_random_model(tmp_path / f"{i}.ibert", seed=7, extreme=True, tokenizer=tokenizer,
                                             num_labels=num_labels) for i in range(2)]
    assert paths[0].read_bytes() == paths[1].read_bytes()
    golden = GoldenModel(paths[0])
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, golden.max_tokens):
        ids, types, mask = _inputs(rng, golden, n)
        trace = {}
        # the ops raise BoundError on any value outside FORMAT.md's bounds
        out, scale = golden.forward(ids, types, mask, intermediates=trace)
        again, _ = golden.forward(ids, types, mask)
        assert out.dtype == np.int32 and np.array_equal(out, again)
        assert out.shape == ((num_labels,) if num_labels else (n, golden.hidden_size))
        assert scale == (2**31 - 1) / 2.0**62
        for name, values in trace.items():
            if name.endswith(".probs"):
                assert 0 <= values.min() and values.max() <= 255, name
                continue
            bits = 32 if name == "logits" else 31 if name == "cls_dense" or name.endswith(".scores") \
                else 22 if name.endswith("_sum") else 20 if name.endswith("gelu_in") else 8
            assert -(2 ** (bits - 1)) <= values.min() and values.max() <= 2 ** (bits - 1), name


def _layer0_probabilities(path, trace, mask):
    model = read_model_file(path)
    t, meta = model.tensors, model.meta
    exp = ops.ExpDomain(meta["exp.frac_bits"], meta["exp.poly_b"], meta["exp.poly_c"])
    n, hidden = trace["blk.0.q"].shape
    d = hidden // meta["num_heads"]
    q, k = (trace[f"blk.0.{x}"].reshape(n, -1, d).transpose(1, 0, 2) for x in "qk")
    scores = ops.rq(np.einsum("hid,hjd->hij", q, k), t["blk.0.attn_scores.rq_mult"], t["blk.0.attn_scores.rq_shift"])
    return ops.softmax_rows(scores, mask, exp)


def test_extreme_model_reaches_the_limits(random_model, tmp_path):
    path = random_model.write_random_model(tmp_path / "x.ibert", seed=11, extreme=True)
    golden = GoldenModel(path)
    n = golden.max_tokens
    ids, types, _ = _inputs(np.random.default_rng(4), golden, n)
    trace = {}
    golden.forward(ids, types, intermediates=trace)
    assert trace["embd_sum"].min() == -(2**21) and trace["embd_sum"].max() == 2**21 - 1
    gelu_in = np.concatenate([trace[f"blk.{l}.gelu_in"].ravel() for l in range(2)])
    assert gelu_in.min() == -(2**19) and gelu_in.max() == 2**19 - 1
    assert trace["blk.0.q"].min() == -128 and trace["blk.0.q"].max() == 127
    assert abs(int(trace["cls_dense"].max())) == 2**30 or abs(int(trace["cls_dense"].min())) == 2**30
    assert trace["logits"].min() == -(2**31) or trace["logits"].max() == 2**31 - 1
    probs = _layer0_probabilities(path, trace, np.ones(n, bool))
    assert np.all(probs[0] == probs[0][:, :1]), "head 0's rows are uniform (its keys are constant)"
    others = probs[1:]
    flat = np.all((others == 0) | (others == others.max(axis=-1, keepdims=True)), axis=-1)
    assert flat.mean() > 0.8, "scores 2^13 apart per unit of q·k leave mostly the keys tied at the maximum"
    assert others.max(axis=-1).min() > 0 and np.mean((others == 255).sum(axis=-1) == 1) > 0.25, \
        "no row is empty, many are one-hot"


def test_normal_model_spreads_over_int8(random_model, tmp_path):
    golden = GoldenModel(random_model.write_random_model(tmp_path / "n.ibert", seed=5))
    ids, types, _ = _inputs(np.random.default_rng(5), golden, golden.max_tokens)
    trace = {}
    golden.forward(ids, types, intermediates=trace)
    for name in ("embd", "blk.0.q", "blk.0.ctx", "blk.0.attn_norm", "blk.1.gelu", "blk.1.ffn_norm"):
        values = trace[name]
        saturated = np.mean((values == -128) | (values == 127))
        assert values.max() - values.min() >= 128, name
        assert saturated < 0.3 and np.mean(values == 0) < 0.2, (name, saturated)
    probs = _layer0_probabilities(tmp_path / "n.ibert", trace, np.ones(golden.max_tokens, bool))
    peaks = probs.max(axis=-1)
    assert np.mean(peaks >= 128) > 0.05 and np.mean(peaks < 128) > 0.05, "rows both peaked and spread"


def test_forward_rejects_bad_inputs(random_model, tmp_path):
    golden = GoldenModel(random_model.write_random_model(tmp_path / "m.ibert"))
    with pytest.raises(ValueError, match=r"input_ids\[1\] is -1"):
        golden.forward([2, -1])
    with pytest.raises(ValueError, match=r"token_type_ids\[0\] is 2"):
        golden.forward([2], [2])
    with pytest.raises(ValueError, match=r"attention_mask\[0\] is 3"):
        golden.forward([2], None, [3])
    with pytest.raises(ValueError, match="1 … 40 ids"):
        golden.forward(np.zeros(41, np.int64))
    assert golden.labels == ["LABEL_0", "LABEL_1", "LABEL_2"] and golden.num_labels == 3


# --- format version 2: what both readers refuse --------------------------------------------------

def _patched(path, out, version=None, dims=None, values=None, keys=None):
    """A copy of the model at `path` with another format version, tensor lengths {name: n}, tensor
    elements {name: {index: value}} and/or integer metadata values {key: value}."""
    from gguf import GGUFReader
    out.write_bytes(path.read_bytes())
    reader = GGUFReader(out, "r+")
    for key, value in (({"ibert.format_version": version} if version is not None else {}) | (keys or {})).items():
        field = reader.fields[key]
        field.parts[field.data[0]][0] = value
    for tensor in reader.tensors:
        if tensor.name in (dims or {}):
            tensor.field.parts[3][0] = dims[tensor.name]    # GGUF dims, fastest first; these are 1-D
        for index, value in (values or {}).get(tensor.name, {}).items():
            tensor.data[index] = value
    reader.data.flush()
    return out


def _refused_by_both_readers(path, golden_message: str, native_message: str) -> None:
    """The golden reader and libibert both refuse the file at `path`, each with its message."""
    import pyibert

    with pytest.raises(ValueError, match=re_escape(golden_message)):
        GoldenModel(path)
    with pytest.raises(pyibert.ModelFileError, match=re_escape(native_message)):
        pyibert.Model(path)


@pytest.mark.parametrize("version, dims, message", [
    (1, None, "format version 1 is no longer supported (softmax rounding changed in version 2): re-convert"),
    (None, {"blk.0.attn_res.rq_mult": 2, "blk.0.attn_res.rq_shift": 2}, "blk.0.attn_res.rq_mult"),
    (None, {"blk.1.ffn_gelu.rq_mult": 2}, "blk.1.ffn_gelu.rq_mult"),
    (None, {"blk.0.ffn_res.rq_shift": 1}, "blk.0.ffn_res.rq_shift"),    # its rq_mult is per channel
    (None, {"blk.1.attn_res.rq_shift": 2}, "blk.1.attn_res.rq_shift"),  # its rq_mult is [1]
], ids=["version-1", "attn_res-[2]", "ffn_gelu-[2]", "shift-[1]-mult-[H]", "shift-[2]-mult-[1]"])
def test_readers_refuse_version_1_and_rescales_of_other_shapes(random_model, tmp_path, version, dims, message):
    import pyibert

    valid = random_model.write_random_model(tmp_path / "valid.ibert", seed=5)
    GoldenModel(valid)       # loads: layer 0 has per-channel identity rescales, layer 1 a per-channel GELU one
    pyibert.Model(valid).close()
    _refused_by_both_readers(_patched(valid, tmp_path / "bad.ibert", version, dims), message, message)


def test_int16_tables_load_in_version_4_and_are_refused_by_name_in_version_3(random_model, tmp_path):
    import pyibert

    valid = random_model.write_random_model(tmp_path / "valid.ibert", seed=6, table_bits=16, extreme=True)
    golden = GoldenModel(valid)
    assert golden._t["pos_embd.weight"].dtype == np.int16 and np.abs(golden._t["pos_embd.weight"]).max() == 32767
    pyibert.Model(valid).close()
    _refused_by_both_readers(_patched(valid, tmp_path / "bad.ibert", version=3),
                             "pos_embd.weight is int16, which is new in format version 4",
                             "'pos_embd.weight of type I16' is new in format version 4, but the file says version 3")


def test_exp16_rescales_load_in_version_5_and_are_refused_by_name_in_version_4(random_model, tmp_path):
    import pyibert

    valid = random_model.write_random_model(tmp_path / "valid.ibert", seed=7, exp16=True, tokenizer="gpt2")
    golden = GoldenModel(valid)
    assert golden._exp16("blk.1.") is not None
    pyibert.Model(valid).close()
    _refused_by_both_readers(_patched(valid, tmp_path / "bad.ibert", version=4),
                             "tensor blk.0.attn_exp16 is new in format version 5, but the file says version 4",
                             "tensor 'blk.0.attn_exp16' is new in format version 5, but the file says version 4")


def test_the_cubic_gelu_loads_in_version_7_and_is_refused_by_name_in_version_6_or_beyond_int32(random_model,
                                                                                             tmp_path):
    import pyibert
    from pyibert._native import ffi, lib

    valid = random_model.write_random_model(tmp_path / "valid.ibert", seed=8, gelu_form="erf3")
    assert GoldenModel(valid).gelu.form == "erf3"
    with pyibert.Model(valid) as model:
        assert ffi.string(lib.ibert_model_gelu_form(model._checked_handle())) == b"erf3"
    _refused_by_both_readers(_patched(valid, tmp_path / "old.ibert", version=6),
                             "metadata key ibert.gelu.form is new in format version 7, but the file is version 6",
                             "metadata key 'ibert.gelu.form' is new in format version 7, but the file is version 6")
    # c3 = 2^15 − 1 is within its own range, but the cubic's p · D then leaves int32 for the largest d
    _refused_by_both_readers(_patched(valid, tmp_path / "wide.ibert", keys={"ibert.gelu.c3": 2**15 - 1}),
                             "the erf3 GELU constants leave their bounds: erf3 p · D",
                             "leave 32 bits (or |y + one| > 2^12 + 1) at d = ")


def test_gelu_zero_points_load_in_version_6_and_are_refused_by_name_in_version_5_or_out_of_range(random_model,
                                                                                                tmp_path):
    import pyibert

    valid = random_model.write_random_model(tmp_path / "valid.ibert", seed=8, gelu_zero_point=True, extreme=True)
    golden = GoldenModel(valid)
    assert set(np.unique(golden._t["blk.1.ffn_gelu.zero_point"])) <= {-128, 127}
    pyibert.Model(valid).close()
    _refused_by_both_readers(_patched(valid, tmp_path / "old.ibert", version=5),
                             "tensor blk.0.ffn_gelu.zero_point is new in format version 6, but the file says version 5",
                             "tensor 'blk.0.ffn_gelu.zero_point' is new in format version 6, but the file says "
                             "version 5")
    _refused_by_both_readers(_patched(valid, tmp_path / "wide.ibert", values={"blk.1.ffn_gelu.zero_point": {3: 128}}),
                             "blk.1.ffn_gelu.zero_point: a zero point outside −128 … 127",
                             "tensor 'blk.1.ffn_gelu.zero_point': element 3 is 128, outside -128 ... 127")

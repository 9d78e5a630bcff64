"""ibert-cli, the native command-line classifier, agrees with pyibert.Model.classify:
the same label for every text and the same probability to its four printed
decimals (ibert-cli computes it in fixed point, pyibert in float64). Checked on
a random model and on the shipped example model with SST-2 dev sentences.

ibert-cli is built here for the host (Release) from this source tree.
"""
from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

import pyibert

REPO = Path(__file__).resolve().parents[2]
SHIPPED_MODEL = REPO / "models" / "minilm-sst2.ibert"
SST2_DEV = REPO.parent / "shared" / "data" / "sst2" / "dev.tsv"


@pytest.fixture(scope="module")
def ibert_cli(tmp_path_factory) -> Path:
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed: cannot build ibert-cli")
    build = tmp_path_factory.mktemp("build-ibert-cli")
    for command in (["cmake", "-S", REPO, "-B", build, "-DCMAKE_BUILD_TYPE=Release", "-DIBERT_BUILD_CLI=ON"],
                    ["cmake", "--build", build, "--target", "ibert-cli", "-j2"]):
        subprocess.run(command, check=True, capture_output=True)
    return build / "tools" / "ibert-cli" / "ibert-cli"


def _random_model(path: Path) -> Path:
    spec = importlib.util.spec_from_file_location("random_model", REPO / "tests" / "fixtures" / "random_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_random_model(path, seed=11, num_labels=5, max_positions=64)


def _classify_with_cli(cli: Path, model: Path, texts: list[str], *options: str) -> list[tuple[str, float, str]]:
    result = subprocess.run([cli, model, "--stdin", *options], input="\n".join(texts) + "\n",
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t", 2) for line in result.stdout.splitlines()]
    assert all(len(row) == 3 for row in rows), result.stdout
    return [(label, float(score), text) for label, score, text in rows]


def _assert_same_as_pyibert(cli_rows, model: Path, texts: list[str]) -> None:
    with pyibert.Model(model, threads=1) as reference:
        expected = reference.classify(texts)
    assert [text for _, _, text in cli_rows] == texts
    assert [label for label, _, _ in cli_rows] == [row["label"] for row in expected]
    for (_, score, text), row in zip(cli_rows, expected):
        # both round to 4 decimals; fixed point vs float64 may straddle a rounding edge
        assert abs(score - row["score"]) <= 0.5e-4 + 1e-9, text


def _sst2_sentences(count: int) -> list[str]:
    lines = SST2_DEV.read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0].strip() for line in lines[:count]]


SENTENCES = [
    "a gripping, funny film",
    "the plot is thin and the acting is worse",
    "Ünïcödé, punctuation!!! and   extra   spaces",
    "ok",
]


# Some SST-2 sentences are longer than the random model's 64 tokens: both sides
# must cut them the same way, and both warn.
@pytest.mark.filterwarnings("ignore::pyibert.errors.TruncationWarning")
def test_random_model_matches_pyibert(ibert_cli, tmp_path):
    model = _random_model(tmp_path / "random.ibert")
    texts = SENTENCES + (_sst2_sentences(20) if SST2_DEV.is_file() else [])
    _assert_same_as_pyibert(_classify_with_cli(ibert_cli, model, texts), model, texts)


def test_random_model_padding_and_repeat_change_nothing(ibert_cli, tmp_path):
    model = _random_model(tmp_path / "random.ibert")
    plain = _classify_with_cli(ibert_cli, model, SENTENCES)
    assert _classify_with_cli(ibert_cli, model, SENTENCES, "--seq-len", "64", "--repeat", "2") == plain


@pytest.mark.skipif(not SHIPPED_MODEL.is_file(),
                    reason="models/minilm-sst2.ibert is not built yet (models/make_example_model.py makes it)")
@pytest.mark.skipif(not SST2_DEV.is_file(), reason=f"the SST-2 dev set is not at {SST2_DEV}")
def test_shipped_model_matches_pyibert_on_sst2(ibert_cli):
    texts = _sst2_sentences(40)
    cli_rows = _classify_with_cli(ibert_cli, SHIPPED_MODEL, texts)
    _assert_same_as_pyibert(cli_rows, SHIPPED_MODEL, texts)
    # the benchmarking length pads with masked positions: same results
    assert _classify_with_cli(ibert_cli, SHIPPED_MODEL, texts, "--seq-len", "128") == cli_rows


def test_fill_mask_model_prints_the_top_tokens_of_each_mask_as_pyibert(ibert_cli, tmp_path):
    spec = importlib.util.spec_from_file_location("random_model", REPO / "tests" / "fixtures" / "random_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.write_random_model(tmp_path / "fill-mask.ibert", seed=12, num_labels=0, task="fill-mask",
                                      max_positions=64)
    texts = ["the [MASK] is here", "a [MASK] b [MASK]"]
    result = subprocess.run([ibert_cli, model, "--text", texts[0], "--text", texts[1]], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == texts[0] and lines[6] == texts[1] and len(lines) == 1 + 5 + 1 + 10
    with pyibert.Model(model, threads=1) as reference:
        expected = reference.fill_mask(texts, top_k=5)
    per_mask = [expected[0]] + expected[1]
    rows = [line.split("\t") for line in lines[1:6] + lines[7:]]
    mask_numbers = [1] * 5 + [1] * 5 + [2] * 5   # text 1's mask, then text 2's two
    for number, row, prediction in zip(mask_numbers, rows, [p for mask in per_mask for p in mask]):
        assert row[0] == f"  mask {number}"
        assert abs(float(row[1]) - prediction["score"]) <= 0.5e-4 + 1e-9
        assert row[2] == prediction["token_str"]
    missing = subprocess.run([ibert_cli, model, "--text", "no mask"], capture_output=True, text=True, timeout=600)
    assert missing.returncode == 2 and "text 1 has no mask token" in missing.stderr


@pytest.mark.parametrize("task, num_labels", [("regression", 1), ("multiple-choice", 1),
                                              ("token-classification", 4), ("question-answering", 2)])
def test_each_task_prints_what_pyibert_computes(ibert_cli, tmp_path, task, num_labels):
    """Per task, ibert-cli's line (with --pair) says what pyibert.Model computes from the same integers."""
    spec = importlib.util.spec_from_file_location("random_model", REPO / "tests" / "fixtures" / "random_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = module.write_random_model(tmp_path / "m.ibert", seed=12, num_labels=num_labels, max_positions=64, task=task)
    text, pair = "who is it", "it is the bird on the tree"
    result = subprocess.run([ibert_cli, path, "--text", text, "--pair", pair], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    fields = result.stdout.rstrip("\n").split("\t")
    assert fields[-2:] == [text, pair]
    model = pyibert.Model(path, threads=1)
    truncation = "only_second" if task == "question-answering" else "longest_first"
    encoded = model.tokenize([text], [pair], return_offsets=True, truncation=truncation)
    ids, types, offsets = encoded["input_ids"][0], encoded["token_type_ids"][0], encoded["offset_mapping"][0]
    out = model.forward(ids, token_type_ids=types)[0].astype(float) * model.output_scale
    if task in ("regression", "multiple-choice"):
        assert fields[0] == "score" and float(fields[1]) == pytest.approx(out[0], abs=1e-4)
    elif task == "token-classification":
        tokens = [i for i, (s, e) in enumerate(offsets) if s != e]
        printed = fields[:-2]
        assert len(printed) == len(tokens)
        for i, line in zip(tokens, printed):
            label, span, _ = line.split(" ", 2)
            assert label == model.labels[int(out[i].argmax())] and span == f"{offsets[i][0]}-{offsets[i][1]}"
    else:
        first = types.index(1) if 1 in types else len(ids)
        spans = [(out[s, 0] + out[e, 1], s, e) for s in range(first, len(ids) - 1)
                 for e in range(s, min(len(ids) - 1, s + 30))]
        _, s, e = max(spans, key=lambda x: x[0])
        assert fields[:3] == ["answer", f"{offsets[s][0]}-{offsets[e][1]}", pair[offsets[s][0]:offsets[e][1]]]

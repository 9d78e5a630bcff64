"""The pyibert command line on the shipped model (bench on a small random one)."""
import json
import subprocess
import sys

import pytest

from pyibert.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_classify_prints_label_score_text(capsys, shipped_model_path):
    code, out, _ = run(capsys, "classify", shipped_model_path, "a gripping , funny film", "a dull mess")
    assert code == 0
    lines = [line.split("\t") for line in out.splitlines()]
    assert [(label, text) for label, _, text in lines] == [("positive", "a gripping , funny film"),
                                                          ("negative", "a dull mess")]
    assert all(0.5 < float(score) <= 1 for _, score, _ in lines)


def test_classify_json_and_file(capsys, tmp_path, shipped_model_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("a triumph\n\nan utter bore\n", encoding="utf-8")
    code, out, _ = run(capsys, "classify", shipped_model_path, "--file", texts, "--json")
    assert code == 0
    results = json.loads(out)["results"]
    assert [r["text"] for r in results] == ["a triumph", "an utter bore"]
    assert {"label", "score", "text"} <= set(results[0])


def test_classify_without_text_is_an_error(capsys, shipped_model_path):
    code, _, err = run(capsys, "classify", shipped_model_path)
    assert code == 2 and "no text" in err


def test_eval_reports_accuracy(capsys, shipped_model_path, shared_data):
    code, out, _ = run(capsys, "eval", shipped_model_path, shared_data / "sst2" / "dev.tsv", "--limit", 200, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["n"] == 200 and 0.8 < result["accuracy"] <= 1.0


def test_eval_names_a_missing_column(capsys, shipped_model_path, shared_data):
    code, _, err = run(capsys, "eval", shipped_model_path, shared_data / "sst2" / "dev.tsv", "--text-column", "text")
    assert code == 2 and "'text'" in err and "sentence" in err


def test_inspect_json(capsys, shipped_model_path):
    code, out, _ = run(capsys, "inspect", shipped_model_path, "--json")
    info = json.loads(out)
    assert code == 0
    assert info["labels"] == ["negative", "positive"] and info["layers"] == 6 and info["format_version"] == 7
    assert info["gelu"] == "erf3"
    assert info["task"] == "sequence-classification"


# A user who ran `pip install .` without the convert extra: the converter's
# dependencies cannot be imported (a finder first on sys.meta_path refuses them).
WITHOUT_CONVERT_EXTRA = """
import sys

class ConvertExtraNotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"torch", "transformers", "tokenizers", "safetensors", "gguf", "tqdm"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, ConvertExtraNotInstalled())
from pyibert.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_convert_without_the_extra_says_how_to_install_it(tmp_path):
    result = subprocess.run([sys.executable, "-c", WITHOUT_CONVERT_EXTRA, "convert", str(tmp_path / "checkpoint"),
                             "-o", str(tmp_path / "model.ibert")], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert 'pip install "pyibert[convert]"' in result.stderr and "No module named" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_model_is_a_clean_error(capsys, tmp_path):
    code, _, err = run(capsys, "classify", tmp_path / "nope.ibert", "text")
    assert code == 2 and "nope.ibert" in err


def test_bench_json_has_the_documented_keys(capsys, tmp_path, random_model):
    path = random_model.write_random_model(tmp_path / "small.ibert", seed=3)
    code, out, _ = run(capsys, "bench", path, "--seq-lens", "1,5", "--threads", "1,2", "--runs", 3, "--warmup", 0,
                       "--json")
    assert code == 0
    report = json.loads(out)
    assert {"model", "library", "kernels", "runs", "warmup", "results"} <= set(report)
    assert report["runs"] == 3 and isinstance(report["kernels"], str) and report["kernels"]
    assert [(r["seq_len"], r["threads"]) for r in report["results"]] == [(1, 1), (5, 1), (1, 2), (5, 2)]
    for r in report["results"]:
        assert 0 < r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"]
        assert r["mean_ms"] > 0


def test_bench_table(capsys, tmp_path, random_model):
    path = random_model.write_random_model(tmp_path / "small.ibert", seed=3)
    code, out, _ = run(capsys, "bench", path, "--seq-lens", "4", "--threads", "1", "--runs", 2)
    lines = out.splitlines()
    assert code == 0 and "p50 ms" in lines[1] and lines[2].split()[:2] == ["4", "1"]


@pytest.mark.parametrize("argv, message", [
    (["--runs", "0"], "--runs: 0 is not positive"),
    (["--warmup", "-1"], "--warmup: -1 is not 0 or more"),
    (["--seq-lens", "4,x"], "--seq-lens: 'x' is not an integer"),
    (["--threads", "0"], "--threads: 0 is not positive"),
])
def test_bench_rejects_bad_arguments(capsys, tmp_path, random_model, argv, message):
    path = random_model.write_random_model(tmp_path / "small.ibert", seed=3)
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", str(path), *argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_bench_rejects_a_length_the_model_cannot_take(capsys, tmp_path, random_model):
    path = random_model.write_random_model(tmp_path / "small.ibert", seed=3, max_positions=40)
    code, _, err = run(capsys, "bench", path, "--seq-lens", "8,41", "--runs", 1)
    assert code == 2 and "--seq-lens 41 is more than the 40 tokens" in err

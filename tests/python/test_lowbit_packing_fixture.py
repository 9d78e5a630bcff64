"""The C kernel tests check their own packer against tests/c/lowbit_packing_fixture.h; this keeps
that header what pyibert/qbert/packing.py writes today, so the C kernels read exactly the bytes
the converter stores."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "fixtures" / "lowbit_packing_fixture.py"


def test_header_matches_packing_py():
    spec = importlib.util.spec_from_file_location("lowbit_packing_fixture", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.HEADER.read_text() == module.header_text(), (
        "tests/c/lowbit_packing_fixture.h is out of date: run python3 tests/fixtures/lowbit_packing_fixture.py")

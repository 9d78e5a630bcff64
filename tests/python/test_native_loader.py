"""pyibert/_native.py finds libibert on Android as on Linux (sys.platform "android" on
CPython 3.13+, "linux" on Termux's older Pythons; an app's packager keeps native
libraries outside the package, where the system loader finds them by name)."""
import sys
from pathlib import Path

import pytest

import pyibert
from pyibert import _native


def test_android_platform_names_the_linux_library(monkeypatch):
    monkeypatch.setattr(sys, "platform", "android")
    assert _native._library_name() == "libibert.so"


def _no_library_in_the_package(monkeypatch, tmp_path):
    monkeypatch.delenv("PYIBERT_LIBRARY", raising=False)
    monkeypatch.setattr(pyibert, "__path__", [str(tmp_path)])
    # nor in an installed pyibert distribution (the one the tests run against has one)
    monkeypatch.setattr(_native, "_installed_library", lambda: None)


def test_android_falls_back_to_the_system_loader(monkeypatch, tmp_path):
    _no_library_in_the_package(monkeypatch, tmp_path)
    monkeypatch.setattr(sys, "getandroidapilevel", lambda: 24, raising=False)
    assert _native._find_library() == Path("libibert.so")


def test_off_android_a_missing_library_is_an_error(monkeypatch, tmp_path):
    _no_library_in_the_package(monkeypatch, tmp_path)
    monkeypatch.delattr(sys, "getandroidapilevel", raising=False)
    with pytest.raises(OSError, match="libibert was not found"):
        _native._find_library()


def test_the_header_is_found_beside_a_bare_library_name():
    assert _native._find_header(Path("libibert.so")).name == "ibert.h"

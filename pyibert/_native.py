"""The cffi binding (ABI mode) over libibert.

The declarations come from the public header itself, between its IBERT_CDEF
markers, so the C header stays the one source of truth. The library and the
header are installed inside this package by the build (CMake, via
scikit-build-core); PYIBERT_LIBRARY overrides the library's path, for testing a
library built elsewhere (a sanitizer build, say).

Python started at the root of a clone imports the clone's pyibert/ (the current
folder comes first on sys.path), which has no library: then the library of the
installed pyibert distribution (`pip install .`) is loaded, with its own header.
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import sys
from pathlib import Path

from cffi import FFI

# sys.platform is "android" on CPython for Android (3.13+) and "linux" on Termux's
# older Pythons: the same libibert.so either way.
_LIBRARY_NAMES = {"linux": "libibert.so", "android": "libibert.so", "darwin": "libibert.dylib", "win32": "ibert.dll"}
_PACKAGE_DIR = Path(__file__).resolve().parent
_SOURCE_HEADER = _PACKAGE_DIR.parent / "runtime" / "include" / "ibert.h"


def _library_name() -> str:
    return _LIBRARY_NAMES.get(sys.platform, "libibert.so")


def _on_android() -> bool:
    # CPython's documented test for Android, on every version (Termux's included)
    return hasattr(sys, "getandroidapilevel")


def _find_library() -> Path:
    override = os.environ.get("PYIBERT_LIBRARY")
    if override:
        path = Path(override)
        if not path.is_file():
            raise OSError(f"PYIBERT_LIBRARY points to {path}, which does not exist")
        return path
    import pyibert

    searched = [Path(p) / _library_name() for p in pyibert.__path__]
    installed = _installed_library()
    if installed is not None:
        searched.append(installed)
    for path in searched:
        if path.is_file():
            return path
    if _on_android():
        # An app's packager (Chaquopy, Briefcase) puts native libraries in the app's
        # library folder, not next to the Python files: there the system loader finds
        # libibert.so by its bare name.
        return Path(_library_name())
    raise OSError(
        "libibert was not found (looked in "
        + ", ".join(str(p) for p in searched)
        + "). Install the package with `pip install .` so the build puts it there, "
        "or set PYIBERT_LIBRARY to a built libibert."
    )


def _installed_library() -> Path | None:
    """Where the installed pyibert distribution's files list the library, if it is installed."""
    try:
        distribution = importlib.metadata.distribution("pyibert")
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(distribution.locate_file(f"pyibert/{_library_name()}"))


def _find_header(library: Path) -> Path:
    for path in (library.parent / "ibert.h", _PACKAGE_DIR / "ibert.h", _SOURCE_HEADER):
        if path.is_file():
            return path
    raise OSError(f"ibert.h was not found next to {library}, in {_PACKAGE_DIR} nor at {_SOURCE_HEADER}")


def _declarations(header: Path) -> str:
    text = header.read_text(encoding="utf-8")
    match = re.search(r"/\* IBERT_CDEF_BEGIN \*/(.*)/\* IBERT_CDEF_END \*/", text, re.S)
    if match is None:
        raise OSError(f"{header} has no IBERT_CDEF_BEGIN/END section")
    return match.group(1).replace("IBERT_API ", "")


_library_path = _find_library()
ffi = FFI()
ffi.cdef(_declarations(_find_header(_library_path)))
lib = ffi.dlopen(str(_library_path))
library_path = _library_path

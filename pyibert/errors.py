"""Exceptions raised by pyibert, one per kind of failure the C library reports."""
from __future__ import annotations


class IbertError(RuntimeError):
    """A failure reported by libibert; `status` is the C status name."""

    def __init__(self, message: str, status: str = ""):
        super().__init__(message)
        self.status = status


class ModelFileError(IbertError, ValueError):
    """The model file is malformed or of a kind this runtime does not support."""


class TaskError(IbertError, ValueError):
    """A Model method the file's head cannot serve (e.g. tag() on a sequence classifier)."""


class TruncationWarning(UserWarning):
    """A text had more tokens than the model takes and was cut."""

"""The numpy golden model of models/FORMAT.md's integer arithmetic (the reference for libibert)."""
from .model import GoldenModel
from .model_file import ModelFileError
from .ops import BoundError

__all__ = ["GoldenModel", "ModelFileError", "BoundError"]

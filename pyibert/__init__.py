"""pyibert: integer-only BERT inference (I-BERT) for the edge.

    import pyibert
    model = pyibert.Model("model.ibert")
    model.classify(["a gripping, funny film"])   # [{"label": "positive", "score": 0.98}]

The converter (`pyibert.convert`) and the numpy golden model (`pyibert.golden`)
are imported on demand: the device side needs numpy and cffi only.
"""
from .errors import IbertError, ModelFileError, TaskError, TruncationWarning

__version__ = "0.1.0"
__all__ = ["Model", "IbertError", "ModelFileError", "TaskError", "TruncationWarning", "__version__"]


def __getattr__(name):
    # Model loads libibert; deferring it keeps `import pyibert` cheap and lets the
    # converter run where the library is not built.
    if name == "Model":
        from .model import Model

        return Model
    raise AttributeError(f"module 'pyibert' has no attribute {name!r}")

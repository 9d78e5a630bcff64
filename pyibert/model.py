"""pyibert.Model: a converted .ibert model run by libibert (integer-only inference).

Only numpy and cffi are needed here: this is the device side. Floating point
appears in this file alone, to turn integer logits into probabilities.
"""
from __future__ import annotations

import os
import queue
import threading
import warnings
from typing import Callable, Iterable, Sequence, Union

import numpy as np

from ._native import ffi, lib
from .errors import IbertError, ModelFileError, TruncationWarning

Text = Union[str, bytes]

# The default thread count's cap: a forward pass over one short text has too little
# work to keep more threads busy.
DEFAULT_MAX_THREADS = 8


def default_threads() -> int:
    """The CPU cores this process may run on, at most DEFAULT_MAX_THREADS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, DEFAULT_MAX_THREADS))


def _raise_for(status: int) -> None:
    if status == lib.IBERT_OK:
        return
    message = ffi.string(lib.ibert_last_error()).decode("utf-8", "replace")
    name = ffi.string(lib.ibert_status_name(status)).decode()
    if status == lib.IBERT_ERR_IO:
        raise OSError(message)
    if status in (lib.IBERT_ERR_FORMAT, lib.IBERT_ERR_UNSUPPORTED):
        raise ModelFileError(message, name)
    if status in (lib.IBERT_ERR_INVALID_ARGUMENT, lib.IBERT_ERR_INVALID_TEXT):
        raise ValueError(message)
    if status == lib.IBERT_ERR_OUT_OF_MEMORY:
        raise MemoryError(message)
    raise IbertError(message, name)


def _text_list(texts: Union[Text, Iterable[Text]]) -> list[bytes]:
    """UTF-8 bytes of each text. Lone surrogates in a str become invalid UTF-8,
    which the C tokenizer rejects with the byte offset."""
    if isinstance(texts, (str, bytes, bytearray)):
        texts = [texts]
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"texts must be a string or a list of strings, not {type(texts).__name__}") from None
    if not texts:
        raise ValueError("texts is empty: pass at least one text")
    encoded = []
    for i, text in enumerate(texts):
        if isinstance(text, str):
            encoded.append(text.encode("utf-8", "surrogatepass"))
        elif isinstance(text, (bytes, bytearray)):
            encoded.append(bytes(text))
        else:
            raise TypeError(f"texts[{i}] is a {type(text).__name__}, not a string")
    return encoded


def _int32_rows(name: str, values, shape=None) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == object:
        raise ValueError(f"{name} is ragged: pad the sequences to one length and pass an attention_mask")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, not {array.dtype}")
    if array.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (one sequence) or 2-D (a batch), not {array.ndim}-D")
    if shape is not None and array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, but input_ids has {shape}")
    if array.size and (array.min() < -(2**31) or array.max() >= 2**31):
        raise ValueError(f"{name} holds values outside int32")
    return np.ascontiguousarray(array, dtype=np.int32)


class Model:
    """A loaded .ibert model.

    ``threads`` is how many threads share each forward pass (1 ... 64): the
    runtime splits every matrix product, the attention heads and the row-wise
    steps between them. None means one per CPU core this process may use, at
    most 8 (``default_threads()``). The output integers do not depend on it.

    The texts of one call run one after another. A Model may be used from several
    Python threads at once: each concurrent call gets a context of its own (the
    model's weights are shared; a context holds a forward pass's scratch memory and
    its threads), so T calls at once keep T * threads threads busy.
    """

    def __init__(self, path: Union[str, os.PathLike], threads: int | None = None):
        if threads is not None and (
            not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= lib.IBERT_MAX_THREADS
        ):
            raise ValueError(f"threads must be an integer from 1 to {lib.IBERT_MAX_THREADS} or None, not {threads!r}")
        self.path = os.fspath(path)
        self.threads = threads or default_threads()
        handle = ffi.new("ibert_model **")
        _raise_for(lib.ibert_model_load_file(os.fsencode(self.path), handle))
        self._model = handle[0]
        # contexts not in use by a call; a call takes one or makes one
        self._contexts: queue.SimpleQueue = queue.SimpleQueue()
        self._all_contexts: list = []
        self._context_lock = threading.Lock()
        self.num_labels = int(lib.ibert_model_num_labels(self._model))
        self.labels = [
            ffi.string(lib.ibert_model_label(self._model, i)).decode("utf-8") for i in range(self.num_labels)
        ]
        self.max_tokens = int(lib.ibert_model_max_tokens(self._model))
        self.hidden_size = int(lib.ibert_model_hidden_size(self._model))
        self.num_layers = int(lib.ibert_model_num_layers(self._model))
        self.vocab_size = int(lib.ibert_model_vocab_size(self._model))
        self.context_bytes = int(lib.ibert_model_context_bytes(self._model))
        self.kernels = ffi.string(lib.ibert_model_kernels(self._model)).decode("ascii")
        self.packed_bytes = int(lib.ibert_model_packed_bytes(self._model))
        scale = lib.ibert_model_output_scale(self._model)
        self.output_scale_dyadic = (int(scale.multiplier), int(scale.shift))
        self.output_scale = float(scale.multiplier) * 2.0 ** -int(scale.shift)

    # -- lifetime -------------------------------------------------------------
    def close(self) -> None:
        """Free the contexts (stopping their threads), then the model. Called on
        garbage collection too. Not while another thread is inside a call."""
        if getattr(self, "_model", None) is None:
            return
        for context in self._all_contexts:
            lib.ibert_context_free(context)
        self._all_contexts.clear()
        lib.ibert_model_free(self._model)
        self._model = None

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        head = f"{self.num_labels} labels" if self.num_labels else "no head"
        return f"Model({self.path!r}, {self.num_layers} layers, hidden {self.hidden_size}, {head})"

    # -- running --------------------------------------------------------------
    def _checked_handle(self):
        if self._model is None:
            raise ValueError("the model is closed")
        return self._model

    def _take_context(self):
        try:
            return self._contexts.get_nowait()
        except queue.Empty:
            handle = ffi.new("ibert_context **")
            _raise_for(lib.ibert_context_new_threads(self._checked_handle(), self.threads, handle))
            with self._context_lock:
                self._all_contexts.append(handle[0])
            return handle[0]

    def _map(self, function: Callable, items: Sequence) -> list:
        """function(context, item) for every item in turn, on one context that no
        other call uses meanwhile (libibert's threads split each item's pass)."""
        context = self._take_context()
        try:
            return [function(context, item) for item in items]
        finally:
            self._contexts.put(context)

    def _forward_one(self, context, ids: np.ndarray, types: np.ndarray | None, mask: np.ndarray | None):
        out = np.empty(int(lib.ibert_model_output_size(self._model, len(ids))), dtype=np.int32)

        def pointer(array):
            return ffi.NULL if array is None else ffi.from_buffer("int32_t[]", array)

        _raise_for(
            lib.ibert_forward(context, pointer(ids), pointer(types), pointer(mask), len(ids), pointer(out))
        )
        return out if self.num_labels else out.reshape(len(ids), self.hidden_size)

    def tokenize(self, texts: Union[Text, Iterable[Text]]) -> list[list[int]]:
        """Token ids of each text, special tokens included. A text longer than
        max_tokens is cut to max_tokens (TruncationWarning says which)."""
        model = self._checked_handle()
        capacity = self.max_tokens
        result = []
        for i, text in enumerate(_text_list(texts)):
            ids = ffi.new("int32_t[]", capacity)
            n_ids = ffi.new("size_t *")
            _raise_for(lib.ibert_tokenize(model, text, len(text), ids, capacity, n_ids))
            if n_ids[0] > capacity:
                warnings.warn(
                    f"text {i} has {n_ids[0]} tokens; the model takes {capacity}, so it was truncated",
                    TruncationWarning,
                    stacklevel=2,
                )
            result.append(list(ids[0 : min(n_ids[0], capacity)]))
        return result

    def forward(self, input_ids, attention_mask=None, token_type_ids=None) -> tuple[np.ndarray, float]:
        """Integer forward pass. input_ids is 1-D (one sequence) or 2-D (a batch of
        equal-length rows; mark padding with attention_mask = 0). Returns the int32
        output (logits, or hidden states for a model without a head) and the float
        scale that turns it into real values."""
        self._checked_handle()
        ids = _int32_rows("input_ids", input_ids)
        if ids.shape[-1] == 0:
            raise ValueError("input_ids is empty")
        mask = None if attention_mask is None else _int32_rows("attention_mask", attention_mask, ids.shape)
        types = None if token_type_ids is None else _int32_rows("token_type_ids", token_type_ids, ids.shape)
        single = ids.ndim == 1
        rows = [(ids, types, mask)] if single else [
            (ids[b], None if types is None else types[b], None if mask is None else mask[b]) for b in range(len(ids))
        ]
        outputs = self._map(lambda context, row: self._forward_one(context, *row), rows)
        return (outputs[0] if single else np.stack(outputs)), self.output_scale

    def logits(self, texts: Union[Text, Iterable[Text]]) -> np.ndarray:
        """Dequantized logits, float32, one row per text."""
        if not self.num_labels:
            raise ValueError(f"{self.path} has no classification head (it outputs hidden states): use forward()")
        ids = [np.asarray(row, dtype=np.int32) for row in self.tokenize(texts)]
        outputs = self._map(lambda context, row: self._forward_one(context, row, None, None), ids)
        return (np.stack(outputs).astype(np.float64) * self.output_scale).astype(np.float32)

    def classify(self, texts: Union[Text, Iterable[Text]]) -> list[dict]:
        """The most likely label of each text and its softmax probability."""
        logits = self.logits(texts).astype(np.float64)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        best = probabilities.argmax(axis=1)
        return [{"label": self.labels[k], "score": float(probabilities[i, k])} for i, k in enumerate(best)]

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
from .tasks import answer as _answer
from .tasks import choose as _choose
from .tasks import classify as _classify
from .tasks import names as _tasks
from .tasks import tag as _tag

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


def _text_list(texts: Union[Text, Iterable[Text]], name: str = "texts") -> list[tuple[bytes, bool]]:
    """UTF-8 bytes of each text, and whether it was a str (whose offsets are then
    counted in characters, else in bytes). Lone surrogates in a str become invalid
    UTF-8, which the C tokenizer rejects with the byte offset."""
    if isinstance(texts, (str, bytes, bytearray)):
        texts = [texts]
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"{name} must be a string or a list of strings, not {type(texts).__name__}") from None
    if not texts:
        raise ValueError(f"{name} is empty: pass at least one text")
    encoded = []
    for i, text in enumerate(texts):
        if isinstance(text, str):
            encoded.append((text.encode("utf-8", "surrogatepass"), True))
        elif isinstance(text, (bytes, bytearray)):
            encoded.append((bytes(text), False))
        else:
            raise TypeError(f"{name}[{i}] is a {type(text).__name__}, not a string")
    return encoded


# Model.tokenize's truncation strategies (Hugging Face's names) -> ibert_truncation.
_TRUNCATION = {
    "longest_first": lib.IBERT_TRUNCATE_LONGEST_FIRST,
    "only_first": lib.IBERT_TRUNCATE_ONLY_FIRST,
    "only_second": lib.IBERT_TRUNCATE_ONLY_SECOND,
}


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
        # which head the file has (tasks/names.py): it decides the methods that apply
        self.task = ffi.string(lib.ibert_task_name(lib.ibert_model_task(self._model))).decode("ascii")
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
        head = f", {self.num_labels} labels" if self.num_labels else ""
        return f"Model({self.path!r}, {self.task}, {self.num_layers} layers, hidden {self.hidden_size}{head})"

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
        if self.task in _tasks.FIRST_TOKEN_TASKS:
            return out
        return out.reshape(len(ids), self.num_labels if self.task in _tasks.EVERY_TOKEN_TASKS else self.hidden_size)

    def tokenize(
        self,
        texts: Union[Text, Iterable[Text]],
        text_pairs: Union[Text, Iterable[Text], None] = None,
        return_offsets: bool = False,
        truncation: str = "longest_first",
        max_length: int | None = None,
    ) -> Union[list[list[int]], dict[str, list]]:
        """Token ids of each text (or pair of texts), special tokens included,
        identical to Hugging Face's tokenizer(texts, text_pairs, truncation=...,
        max_length=..., return_offsets_mapping=...).

        A pair is [CLS] a [SEP] b [SEP] (RoBERTa: <s> a </s></s> b </s>); its token
        types are 0 up to the first [SEP] and 1 after it (RoBERTa: all 0).
        truncation is how what does not fit in max_length tokens is cut:
        "longest_first" (from the longer text), "only_first", "only_second" (e.g. a
        question-answering context); "only_*" raise ValueError when that text is too
        short to make room, as Hugging Face does. max_length None means the model's
        max_tokens, and then a cut text gets a TruncationWarning.

        Returns, with neither text_pairs nor return_offsets, a list of id lists, one
        per text. Otherwise a dict of lists, one entry per text: "input_ids",
        "token_type_ids" and, with return_offsets, "offset_mapping": per token
        (start, end) in the text it came from (a's or b's), in characters of a str
        (in bytes when a or b is bytes); special tokens (0, 0).
        """
        model = self._checked_handle()
        firsts = _text_list(texts)
        seconds = None if text_pairs is None else _text_list(text_pairs, "text_pairs")
        if seconds is not None and len(seconds) != len(firsts):
            raise ValueError(f"{len(firsts)} texts but {len(seconds)} text_pairs: pass one pair per text")
        if truncation not in _TRUNCATION:
            raise ValueError(f"truncation must be one of {', '.join(_TRUNCATION)}, not {truncation!r}")
        if max_length is not None and (not isinstance(max_length, int) or isinstance(max_length, bool)
                                       or max_length < 1):
            raise ValueError(f"max_length must be a positive integer or None, not {max_length!r}")
        capacity = self.max_tokens if max_length is None else max_length
        ids = ffi.new("int32_t[]", capacity)
        types = ffi.new("int32_t[]", capacity)
        offsets = ffi.new("ibert_offset[]", capacity) if return_offsets else ffi.NULL
        n_tokens, n_untruncated = ffi.new("size_t *"), ffi.new("size_t *")
        result: dict[str, list] = {"input_ids": [], "token_type_ids": []}
        if return_offsets:
            result["offset_mapping"] = []
        for i, (a, a_is_str) in enumerate(firsts):
            b, b_is_str = (None, True) if seconds is None else seconds[i]
            # one unit for both texts: characters when both are str
            unit = lib.IBERT_OFFSETS_CODE_POINTS if a_is_str and b_is_str else lib.IBERT_OFFSETS_BYTES
            _raise_for(lib.ibert_tokenize_pair(model, a, len(a), ffi.NULL if b is None else b, len(b or b""),
                                               _TRUNCATION[truncation], unit, capacity, ids, types, offsets,
                                               n_tokens, n_untruncated))
            n = n_tokens[0]
            if max_length is None and n_untruncated[0] > n:
                warnings.warn(
                    f"text {i} has {n_untruncated[0]} tokens; the model takes {capacity}, so it was truncated",
                    TruncationWarning,
                    stacklevel=2,
                )
            result["input_ids"].append(list(ids[0:n]))
            result["token_type_ids"].append(list(types[0:n]))
            if return_offsets:
                result["offset_mapping"].append([(o.start, o.end) for o in offsets[0:n]])
        return result["input_ids"] if text_pairs is None and not return_offsets else result

    def forward(self, input_ids, attention_mask=None, token_type_ids=None) -> tuple[np.ndarray, float]:
        """Integer forward pass. input_ids is 1-D (one sequence) or 2-D (a batch of
        equal-length rows; mark padding with attention_mask = 0). Returns the int32
        output and the float scale that turns it into real values: per sequence the
        head's C logits (sequence classification, regression, multiple choice),
        [n, C] logits per token (token classification; question answering: start,
        end), or the [n, H] hidden states of a model without a head."""
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

    def run_encoded(self, encoded: dict[str, list]) -> list[np.ndarray]:
        """The forward pass of each sequence tokenize() returned (a dict with "input_ids" and
        "token_type_ids"), one after another on one context: the int32 outputs, one per sequence."""
        self._checked_handle()
        rows = [(np.asarray(ids, dtype=np.int32), np.asarray(types, dtype=np.int32))
                for ids, types in zip(encoded["input_ids"], encoded["token_type_ids"])]
        return self._map(lambda context, row: self._forward_one(context, row[0], row[1], None), rows)

    # -- tasks (pyibert/tasks/: one module per task) ----------------------------
    def logits(self, texts: Union[Text, Iterable[Text]], text_pairs: Union[Text, Iterable[Text], None] = None
               ) -> np.ndarray:
        """Dequantized logits of a sequence classification, regression or multiple-choice head,
        float32, one row per text (or pair of texts)."""
        return _classify.logits(self, texts, text_pairs)

    def classify(self, texts: Union[Text, Iterable[Text]], text_pairs: Union[Text, Iterable[Text], None] = None
                 ) -> list[dict]:
        """Per text (or pair [CLS] text [SEP] pair [SEP]): {"label", "score"}, the most likely label and
        its softmax probability; for a regression model (one output) {"score"}, the predicted value."""
        return _classify.classify(self, texts, text_pairs)

    def tag(self, texts: Union[Text, Iterable[Text]], aggregation: str = "simple") -> list[list[dict]]:
        """Per text, its entities: {"entity", "score", "word", "start", "end"} with character offsets
        into the text, grouped as transformers' token-classification pipeline groups them
        (aggregation "none", "simple", "first", "average" or "max"); "O" tokens are left out."""
        return _tag.tag(self, texts, aggregation)

    def answer(self, questions: Union[Text, Iterable[Text]], contexts: Union[Text, Iterable[Text]], top_k: int = 1,
               max_answer_len: int = 30, doc_stride: int = 128) -> list:
        """Per question, the answer span found in its context: {"answer", "score", "start", "end"}
        (character offsets into the context), or a list of the top_k best when top_k > 1. A context
        longer than a window is read in windows that overlap by doc_stride tokens, as transformers'
        question-answering pipeline does."""
        return _answer.answer(self, questions, contexts, top_k, max_answer_len, doc_stride)

    def choose(self, prompts: Union[Text, Iterable[Text]], choices: Sequence) -> list[dict]:
        """Per prompt, {"scores": softmax over its choices, "best": index of the best choice}; each
        (prompt, choice) pair is one sequence [CLS] prompt [SEP] choice [SEP], and a prompt's choices
        run as a batch on one context."""
        return _choose.choose(self, prompts, choices)

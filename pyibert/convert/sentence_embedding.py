"""A sentence-transformers directory's pooling and normalization (modules.json, 1_Pooling/config.json),
read for a sentence-embedding .ibert file (models/FORMAT.md §2, §4.10).

sentence-transformers writes modules.json as a list of modules run in order: the Transformer (the
checkpoint in the directory itself), a Pooling module with its config.json, optionally Normalize.
Anything else (Dense projections, other poolings) has no integer form here and is refused by name.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import ConversionError

_MODULE_PREFIX = "sentence_transformers.models."
# 1_Pooling/config.json's flags -> the file's ibert.pooling.mode
_SUPPORTED_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls",
                    "pooling_mode_max_tokens": "max"}
_UNSUPPORTED_MODES = ("pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens",
                      "pooling_mode_lasttoken")


@dataclass(frozen=True)
class PoolingConfig:
    mode: str          # "mean", "cls" or "max"
    normalize: bool
    dimension: int     # word_embedding_dimension, checked against the hidden size
    max_seq_length: int | None   # sentence_bert_config.json's: sentence-transformers cuts texts there


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConversionError(f"{what}: {path} is missing") from None
    except (OSError, ValueError) as error:
        raise ConversionError(f"{what}: {path} is not readable JSON ({error})") from None


def _pooling_mode(config: dict, path: Path) -> str:
    for flag in _UNSUPPORTED_MODES:
        if config.get(flag):
            raise ConversionError(f"{path}: {flag} is not supported (the integer pool does mean, CLS or max pooling)")
    modes = [mode for flag, mode in _SUPPORTED_MODES.items() if config.get(flag)]
    if len(modes) != 1:
        raise ConversionError(f"{path}: expected exactly one of {', '.join(_SUPPORTED_MODES)} to be true, "
                              f"found {len(modes)} (concatenated poolings are not supported)")
    return modes[0]


def read_pooling(src: Path) -> PoolingConfig | None:
    """The pooling of the sentence-transformers directory `src`, or None if it has no modules.json."""
    modules_path = Path(src) / "modules.json"
    if not modules_path.exists():
        return None
    modules = _read_json(modules_path, "sentence-transformers modules")
    if not isinstance(modules, list) or not all(isinstance(m, dict) and isinstance(m.get("type"), str)
                                                for m in modules):
        raise ConversionError(f"{modules_path}: expected a list of modules, each with a 'type'")
    kinds = [m["type"].removeprefix(_MODULE_PREFIX) for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ConversionError(f"{modules_path}: modules {kinds} are not supported; a sentence-embedding file needs "
                              "Transformer, Pooling and optionally Normalize, in that order")
    if modules[0].get("path", "") not in ("", "."):
        raise ConversionError(f"{modules_path}: the Transformer lives in '{modules[0]['path']}'; convert a "
                              "directory whose own config.json and weights are the Transformer")
    pooling_dir = Path(src) / str(modules[1].get("path", ""))
    config = _read_json(pooling_dir / "config.json", "sentence-transformers pooling")
    if not isinstance(config, dict):
        raise ConversionError(f"{pooling_dir / 'config.json'}: expected a JSON object")
    dimension = config.get("word_embedding_dimension")
    if not isinstance(dimension, int) or isinstance(dimension, bool):
        raise ConversionError(f"{pooling_dir / 'config.json'}: word_embedding_dimension is missing or not an integer")
    return PoolingConfig(_pooling_mode(config, pooling_dir / "config.json"), len(kinds) == 3, dimension,
                         _max_seq_length(Path(src)))


def _max_seq_length(src: Path) -> int | None:
    path = src / "sentence_bert_config.json"
    if not path.exists():
        return None
    config = _read_json(path, "sentence-transformers config")
    length = config.get("max_seq_length") if isinstance(config, dict) else None
    if length is None:
        return None
    if not isinstance(length, int) or isinstance(length, bool) or length < 2:
        raise ConversionError(f"{path}: max_seq_length is {length!r}, expected an integer of at least 2")
    return length

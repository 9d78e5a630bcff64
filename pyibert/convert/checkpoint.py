"""Reading a local Hugging Face checkpoint directory into a float transformers model."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers
from torch import nn

from .architectures import Architecture, architecture_of
from .errors import ConversionError

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
GELU_ACTIVATIONS = ("gelu", "gelu_new", "gelu_python", "gelu_pytorch_tanh")   # i-GELU approximates all of them


@dataclass
class Checkpoint:
    path: Path
    name: str
    arch: Architecture
    config: transformers.PretrainedConfig
    model: nn.Module   # in eval mode, float32
    weights_file: str


def read_config(src: Path) -> dict:
    config_path = src / "config.json"
    if not src.is_dir():
        raise ConversionError(f"{src} is not a directory; pass a Hugging Face checkpoint directory "
                              "(config.json, model.safetensors or pytorch_model.bin, tokenizer files)")
    if not config_path.is_file():
        raise ConversionError(f"{src} has no config.json; it is not a Hugging Face checkpoint directory")
    try:
        return json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ConversionError(f"{config_path} is not valid JSON: {error}") from None


def _read_state_dict(src: Path) -> tuple[dict[str, torch.Tensor], str]:
    for file_name in WEIGHT_FILES:
        path = src / file_name
        if not path.is_file():
            continue
        try:
            if file_name.endswith(".safetensors"):
                from safetensors.torch import load_file

                return load_file(str(path)), file_name
            return torch.load(path, map_location="cpu", weights_only=True), file_name
        except Exception as error:  # a corrupt file raises whatever its reader raises
            raise ConversionError(f"cannot read the weights in {path}: {error}") from None
    raise ConversionError(f"{src} has no weights: expected {' or '.join(WEIGHT_FILES)} "
                          "(sharded checkpoints are not supported)")


def _check_config(config: transformers.PretrainedConfig, arch: Architecture) -> None:
    if config.hidden_act not in GELU_ACTIVATIONS:
        raise ConversionError(f"hidden_act {config.hidden_act!r} is not supported; the integer FFN computes GELU")
    position_type = getattr(config, "position_embedding_type", "absolute")
    if position_type != "absolute":
        raise ConversionError(f"position_embedding_type {position_type!r} is not supported; only absolute "
                              "position embeddings are")
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        raise ConversionError(f"{arch.name} is configured as a decoder; only encoders are supported")


def _tied_elsewhere(model: torch.nn.Module, stored: set[str]) -> set[str]:
    """State-dict names of tensors the model ties to another name the file holds (a masked-LM decoder
    tied to the word embeddings is saved once, as the embeddings)."""
    names_of: dict[int, list[str]] = {}
    for name, tensor in model.state_dict(keep_vars=True).items():
        names_of.setdefault(id(tensor), []).append(name)
    return {name for names in names_of.values() if len(names) > 1 and stored & set(names) for name in names}


def load_checkpoint(src: Path) -> Checkpoint:
    src = Path(src)
    config_dict = read_config(src)
    arch = architecture_of(config_dict)
    config = transformers.AutoConfig.from_pretrained(str(src))
    _check_config(config, arch)
    state, weights_file = _read_state_dict(src)
    model = getattr(transformers, arch.name)(config)
    expected = set(model.state_dict())
    if not arch.has_head and not expected & set(state):
        # a base model saved from inside a model with a head keeps the head's prefix ("bert.")
        prefix = arch.base_prefix + "."
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    missing = sorted(expected - set(state) - _tied_elsewhere(model, set(state)))
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ConversionError(f"{src / weights_file} does not match {arch.name}: missing {shown}")
    try:
        # strict=False only for the tied parameters, which the file holds once under another name
        model.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)
    except RuntimeError as error:  # shapes that disagree with config.json
        raise ConversionError(f"{src / weights_file} does not match config.json: {error}") from None
    model.float().eval()
    name = config_dict.get("_name_or_path") or src.resolve().name
    return Checkpoint(src, name, arch, config, model, weights_file)

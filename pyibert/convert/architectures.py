"""Where each tensor and activation of models/FORMAT.md lives in a Hugging Face BERT, RoBERTa or I-BERT.

The three families share one module tree (embeddings, encoder.layer[l].attention.self.query …); they
differ in the attribute holding the encoder, the head, and where positions start. Each family has
the same task classes (…Model, …ForSequenceClassification, …ForTokenClassification,
…ForQuestionAnswering, …ForMultipleChoice); FORMAT.md §4.10 names their head tensors.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..tasks import names
from .errors import ConversionError


@dataclass(frozen=True)
class Architecture:
    name: str          # the class name in config.architectures
    family: str        # "bert", "roberta" or "ibert"
    base_prefix: str   # attribute (and state-dict prefix) of the encoder in a model with a head
    task: str          # tasks.names; a sequence classifier with one label is a regression instead

    @property
    def masked_lm(self) -> bool:
        return self.task == names.FILL_MASK

    @property
    def has_head(self) -> bool:
        return self.task != names.ENCODER


_CLASS_SUFFIXES = {
    "Model": names.ENCODER,
    "ForSequenceClassification": names.SEQUENCE_CLASSIFICATION,
    "ForTokenClassification": names.TOKEN_CLASSIFICATION,
    "ForQuestionAnswering": names.QUESTION_ANSWERING,
    "ForMultipleChoice": names.MULTIPLE_CHOICE,
    "ForMaskedLM": names.FILL_MASK,
}
_FAMILIES = {"Bert": "bert", "Roberta": "roberta", "IBert": "ibert"}

SUPPORTED = {
    prefix + suffix: Architecture(prefix + suffix, family, family, task)
    for prefix, family in _FAMILIES.items()
    for suffix, task in _CLASS_SUFFIXES.items()
}


def architecture_of(config: dict) -> Architecture:
    classes = config.get("architectures") or []
    if len(classes) != 1:
        raise ConversionError(f"config.json lists architectures {classes}; expected exactly one of "
                              f"{', '.join(SUPPORTED)}")
    if classes[0] not in SUPPORTED:
        raise ConversionError(f"architecture {classes[0]} is not supported; pyibert converts "
                              f"{', '.join(SUPPORTED)}")
    return SUPPORTED[classes[0]]


@dataclass
class LinearParams:
    weight: torch.Tensor   # [out, in], float
    bias: torch.Tensor     # [out]


@dataclass
class NormParams:
    weight: torch.Tensor   # γ [H]
    bias: torch.Tensor     # β [H]


@dataclass
class LayerParams:
    attn_q: LinearParams
    attn_k: LinearParams
    attn_v: LinearParams
    attn_out: LinearParams
    attn_norm: NormParams
    ffn_up: LinearParams
    ffn_down: LinearParams
    ffn_norm: NormParams


@dataclass
class MaskedLMParams:
    """The masked-LM head: transform (dense, GELU, LayerNorm), then the decoder over the vocabulary."""

    dense: LinearParams
    norm: NormParams
    decoder: LinearParams   # weight [V, H]; tied to the word embeddings when `tied`
    tied: bool


@dataclass
class EncoderParams:
    """The float parameters FORMAT.md names, read from a loaded Hugging Face model."""

    token_embd: torch.Tensor   # [V, H]
    pos_embd: torch.Tensor     # [P, H]
    token_types: torch.Tensor  # [T, H]
    embd_norm: NormParams
    layers: list[LayerParams]
    cls_dense: LinearParams | None   # pooler dense: a head on the first token only (FORMAT.md §4.10)
    cls_out: LinearParams | None     # the classifier: on token 0's pooled state, or on every token
    task: str = names.ENCODER
    masked_lm: MaskedLMParams | None = None   # fill-mask's transform and decoder (FORMAT.md §4.11)


def base_model(model: nn.Module, arch: Architecture) -> nn.Module:
    return getattr(model, arch.base_prefix) if arch.has_head else model


def _linear(module: nn.Module) -> LinearParams:
    return LinearParams(module.weight.detach(), module.bias.detach())


def _norm(module: nn.Module) -> NormParams:
    return NormParams(module.weight.detach(), module.bias.detach())


def encoder_params(model: nn.Module, arch: Architecture) -> EncoderParams:
    base = base_model(model, arch)
    emb = base.embeddings
    layers = [
        LayerParams(
            attn_q=_linear(layer.attention.self.query),
            attn_k=_linear(layer.attention.self.key),
            attn_v=_linear(layer.attention.self.value),
            attn_out=_linear(layer.attention.output.dense),
            attn_norm=_norm(layer.attention.output.LayerNorm),
            ffn_up=_linear(layer.intermediate.dense),
            ffn_down=_linear(layer.output.dense),
            ffn_norm=_norm(layer.output.LayerNorm),
        )
        for layer in base.encoder.layer
    ]
    masked_lm = masked_lm_params(model, arch) if arch.masked_lm else None
    cls_dense, cls_out = (None, None) if arch.masked_lm else _head(model, base, arch)
    task = arch.task
    if task == names.SEQUENCE_CLASSIFICATION and cls_out.weight.shape[0] == 1:
        task = names.REGRESSION   # HF's num_labels == 1: one score, trained with a squared error
    return EncoderParams(
        token_embd=emb.word_embeddings.weight.detach(),
        pos_embd=emb.position_embeddings.weight.detach(),
        token_types=emb.token_type_embeddings.weight.detach(),
        embd_norm=_norm(emb.LayerNorm),
        layers=layers,
        cls_dense=cls_dense,
        cls_out=cls_out,
        task=task,
        masked_lm=masked_lm,
    )


def masked_lm_head(model: nn.Module, arch: Architecture) -> tuple[nn.Module, nn.Module, nn.Module]:
    """(dense, layer norm, decoder) of a *ForMaskedLM's head: BERT's cls.predictions (transform, decoder),
    RoBERTa's and I-BERT's lm_head (float in I-BERT too). The decoder holds the bias."""
    if arch.family != "bert":   # lm_head calls transformers' gelu, the erf GELU, whatever the config says
        return model.lm_head.dense, model.lm_head.layer_norm, model.lm_head.decoder
    if model.config.hidden_act != "gelu":
        raise ConversionError(f"{arch.name} with hidden_act {model.config.hidden_act!r}: the integer head computes "
                              "the erf GELU only ('gelu')")
    predictions = model.cls.predictions
    return predictions.transform.dense, predictions.transform.LayerNorm, predictions.decoder


def masked_lm_params(model: nn.Module, arch: Architecture) -> MaskedLMParams:
    dense, norm, decoder = masked_lm_head(model, arch)
    if decoder.bias is None:
        raise ConversionError(f"{arch.name}: the decoder has no bias")
    embeddings = base_model(model, arch).embeddings.word_embeddings.weight
    tied = decoder.weight is embeddings or bool(torch.equal(decoder.weight, embeddings))
    return MaskedLMParams(_linear(dense), _norm(norm), _linear(decoder), tied)


def _head(model: nn.Module, base: nn.Module, arch: Architecture) -> tuple[LinearParams | None, LinearParams | None]:
    """(cls_dense, cls_out) of the checkpoint's head, as FORMAT.md §4.10 lays them out."""
    if arch.task == names.ENCODER:
        return None, None
    if arch.task == names.TOKEN_CLASSIFICATION:
        return None, _linear(model.classifier)
    if arch.task == names.QUESTION_ANSWERING:
        if model.qa_outputs.out_features != 2:
            raise ConversionError(f"{arch.name} has {model.qa_outputs.out_features} qa_outputs; extractive "
                                  "question answering needs 2 (start, end)")
        return None, _linear(model.qa_outputs)
    if arch.task == names.SEQUENCE_CLASSIFICATION and arch.family != "bert":
        # RoBERTa and I-BERT classify with a head of their own: dense, tanh, out_proj
        return _linear(model.classifier.dense), _linear(model.classifier.out_proj)
    # BERT's sequence classifier and every family's multiple choice: the pooler, then the classifier
    if base.pooler is None:
        raise ConversionError(f"{arch.name} without a pooler: its head cannot be converted")
    return _linear(base.pooler.dense), _linear(model.classifier)


def calibration_hooks(model: nn.Module, arch: Architecture) -> dict[str, tuple[nn.Module, str]]:
    """For a float BERT/RoBERTa: point → (module, "input" or "output") whose tensor is that activation."""
    base = base_model(model, arch)
    hooks = {"embd_sum": (base.embeddings.LayerNorm, "input"), "embd_norm": (base.embeddings.LayerNorm, "output")}
    for l, layer in enumerate(base.encoder.layer):
        hooks.update({
            f"blk.{l}.q": (layer.attention.self.query, "output"),
            f"blk.{l}.k": (layer.attention.self.key, "output"),
            f"blk.{l}.v": (layer.attention.self.value, "output"),
            f"blk.{l}.ctx": (layer.attention.output.dense, "input"),
            f"blk.{l}.attn_res": (layer.attention.output.LayerNorm, "input"),
            f"blk.{l}.attn_norm": (layer.attention.output.LayerNorm, "output"),
            f"blk.{l}.gelu": (layer.output.dense, "input"),
            f"blk.{l}.ffn_res": (layer.output.LayerNorm, "input"),
            f"blk.{l}.ffn_norm": (layer.output.LayerNorm, "output"),
        })
    if arch.masked_lm:
        _, norm, _ = masked_lm_head(model, arch)
        hooks.update({"mlm_act": (norm, "input"), "mlm_norm": (norm, "output")})
    return hooks


def gelu_input_modules(model: nn.Module, arch: Architecture) -> dict[str, nn.Module]:
    """For a float BERT/RoBERTa: `blk.{l}.gelu` → the FFN up projection, whose output is that GELU's input."""
    return {f"blk.{l}.gelu": layer.intermediate.dense for l, layer in enumerate(base_model(model, arch).encoder.layer)}


def ibert_quant_acts(model: nn.Module, arch: Architecture) -> dict[str, nn.Module]:
    """For an I-BERT model: point → the QuantAct whose range HF's quant_mode uses for that activation.

    Read against transformers/models/ibert/modeling_ibert.py. embeddings_act1 requantizes both partial
    sums of the embeddings (word + type, then + position), so its range covers the whole sum. After a
    layer norm HF requantizes twice (output_activation, then the consumer's pre_*_act); the second one
    is what the next linear layer and the residual see, so its range is the one taken.
    """
    base = base_model(model, arch)
    acts = {"embd_sum": base.embeddings.embeddings_act1, "embd_norm": base.embeddings.output_activation}
    for l, layer in enumerate(base.encoder.layer):
        attn = layer.attention
        acts.update({
            f"blk.{l}.q": attn.self.query_activation,
            f"blk.{l}.k": attn.self.key_activation,
            f"blk.{l}.v": attn.self.value_activation,
            f"blk.{l}.ctx": attn.self.output_activation,
            f"blk.{l}.attn_res": attn.output.ln_input_act,
            f"blk.{l}.attn_norm": layer.pre_intermediate_act,
            f"blk.{l}.gelu": layer.pre_output_act,
            f"blk.{l}.ffn_res": layer.output.ln_input_act,
            f"blk.{l}.ffn_norm": layer.output.output_activation,
        })
    return acts

"""Writing a quantized model as a .ibert file: GGUF v3 through gguf.GGUFWriter (models/FORMAT.md §1-3, §5)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gguf import GGUFWriter

from ..golden.ops import ERF3_CONSTANTS
from .activation_points import ActivationRanges
from .errors import ConversionError
from .nonlinear import ERF3, GeluConstants
from .quantize import QuantizedModel
from .sentence_embedding import PoolingConfig
from .tokenizer_export import add_tokenizer

FORMAT_VERSION = 7


def format_version(quantized: QuantizedModel) -> int:
    """The oldest version that holds what a file has, so that older runtimes load what they can
    compute: 7 with the cubic GELU (float checkpoints), 6 with GELU zero points (an erf2 file of a float
    checkpoint), 5 with attn_exp16 rescales (I-BERT's), else 4."""
    tensors = quantized.tensors
    if quantized.gelu.form == ERF3:
        return FORMAT_VERSION
    if any(name.endswith(".ffn_gelu.zero_point") for name in tensors):
        return 6
    if any(name.endswith(".attn_exp16.rq_mult") for name in tensors):
        return 5
    return 4


def _add_gelu(writer: GGUFWriter, gelu: GeluConstants) -> None:
    """ibert.gelu.* (FORMAT.md §2): the form's constants; `ibert.gelu.form` only where it is erf3, so an
    erf2 file stays readable by the runtimes of its version (6 or older)."""
    writer.add_int32("ibert.gelu.b", gelu.b)
    writer.add_int32("ibert.gelu.one", gelu.one)
    if gelu.form == ERF3:
        writer.add_string("ibert.gelu.form", gelu.form)
        for name in ERF3_CONSTANTS:
            writer.add_int32(f"ibert.gelu.{name}", getattr(gelu, name))
    else:
        writer.add_int32("ibert.gelu.c", gelu.c)
        writer.add_uint32("ibert.gelu.shift", gelu.shift)


@dataclass
class ModelShape:
    """The hyperparameters FORMAT.md §2 stores, as the converter read them from the checkpoint."""

    name: str
    source_architecture: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_positions: int
    type_vocab_size: int
    position_offset: int
    labels: list[str]
    task: str                         # tasks.names
    mask_token_id: int | None = None  # fill-mask: the id whose positions get vocabulary logits


def write_ibert(out: Path, shape: ModelShape, quantized: QuantizedModel, ranges: ActivationRanges,
                tokenizer_dir: Path, pooling: PoolingConfig | None = None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")   # a failed write never leaves a truncated model at `out`
    writer = GGUFWriter(str(partial), "ibert")
    try:
        writer.add_name(shape.name)
        writer.add_uint32("ibert.format_version", format_version(quantized))
        writer.add_string("ibert.source_architecture", shape.source_architecture)
        writer.add_uint32("ibert.vocab_size", shape.vocab_size)
        writer.add_uint32("ibert.hidden_size", shape.hidden_size)
        writer.add_uint32("ibert.num_layers", shape.num_layers)
        writer.add_uint32("ibert.num_heads", shape.num_heads)
        writer.add_uint32("ibert.intermediate_size", shape.intermediate_size)
        writer.add_uint32("ibert.max_positions", shape.max_positions)
        writer.add_uint32("ibert.type_vocab_size", shape.type_vocab_size)
        writer.add_uint32("ibert.position_offset", shape.position_offset)
        writer.add_uint32("ibert.num_labels", len(shape.labels))
        writer.add_string("ibert.task", shape.task)   # sentence-embedding with a pool (convert_checkpoint)
        if shape.labels:
            writer.add_array("ibert.labels", shape.labels)
        if pooling is not None:
            writer.add_string("ibert.pooling.mode", pooling.mode)
            writer.add_bool("ibert.pooling.normalize", pooling.normalize)
        writer.add_uint32("ibert.exp.frac_bits", quantized.exp.frac_bits)
        writer.add_int32("ibert.exp.poly_b", quantized.exp.poly_b)
        writer.add_int32("ibert.exp.poly_c", quantized.exp.poly_c)
        _add_gelu(writer, quantized.gelu)
        writer.add_int32("ibert.output_scale.multiplier", quantized.output_scale[0])
        writer.add_int32("ibert.output_scale.shift", quantized.output_scale[1])
        writer.add_string("ibert.calibration.source", ranges.source)
        writer.add_uint32("ibert.calibration.count", ranges.count)
        try:
            add_tokenizer(writer, tokenizer_dir)
        except ValueError as error:   # a tokenizer pipeline the runtime does not implement
            raise ConversionError(f"tokenizer: {error}") from None
        if shape.mask_token_id is not None:
            writer.add_uint32("tokenizer.ggml.mask_token_id", shape.mask_token_id)
        for name, array in quantized.tensors.items():
            writer.add_tensor(name, array)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    except BaseException:
        writer.close()
        partial.unlink(missing_ok=True)
        raise
    partial.replace(out)

"""convert_checkpoint: a Hugging Face checkpoint directory → one .ibert file."""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from transformers import AutoTokenizer

from .activation_points import ACTIVATION_BITS, MASKED_LM_POINTS, RESIDUAL_BITS, ActivationRanges
from .architectures import EncoderParams, encoder_params
from .calibration import CALIBRATION_TOKENS, calibrate
from .checkpoint import Checkpoint, load_checkpoint
from .data import CalibrationLimits, calibration_texts
from ..tasks import names
from .errors import ConversionError
from .gelu_split import split_wide_gelu_channels
from .ibert_ranges import ibert_ranges
from .budget import BudgetOptions, choose_widths
from .lowbit import UNIFORM_INT8, LowBitPlan, layer_input_point
from .nonlinear import GELU_INPUT_BITS, gelu_constants
from .quantize import QuantizedModel, ScaleOptions, quantize
from .range_search import choose_ranges
from .sentence_embedding import PoolingConfig, read_pooling
from .weights import BUDGET_TABLE_BITS, WEIGHT_BITS
from .summary import ConversionSummary
from .writer import ModelShape, write_ibert

BIAS_BITS = 32


# Any one of these file sets describes a tokenizer (transformers builds a default, empty one without them).
TOKENIZER_FILES = (("tokenizer.json",), ("vocab.txt",), ("vocab.json", "merges.txt"))


def _load_tokenizer(src: Path):
    if not any(all((src / name).is_file() for name in files) for files in TOKENIZER_FILES):
        raise ConversionError(f"{src} has no usable tokenizer: expected tokenizer.json, vocab.txt (WordPiece) or "
                              "vocab.json + merges.txt (BPE); save the tokenizer with the model "
                              "(tokenizer.save_pretrained)")
    try:
        return AutoTokenizer.from_pretrained(str(src))
    except (OSError, ValueError) as error:
        raise ConversionError(f"{src} has no usable tokenizer: {error}") from None


def _mask_token_id(tokenizer, checkpoint: Checkpoint) -> int:
    if tokenizer.mask_token_id is None:
        raise ConversionError(f"{checkpoint.path} is a {checkpoint.arch.name} but its tokenizer has no mask token "
                              "(mask_token in tokenizer_config.json / special_tokens_map.json)")
    return int(tokenizer.mask_token_id)


def _head_labels(task: str, id2label: dict[int, str], count: int) -> list[str]:
    """Names of the head's C outputs: the checkpoint's labels, or what the outputs are where the task fixes
    them (HF's config of a QA or multiple-choice model keeps a meaningless default id2label)."""
    if task == names.QUESTION_ANSWERING:
        return ["start", "end"]
    if task == names.MULTIPLE_CHOICE:
        return ["score"]
    return [id2label.get(i, f"LABEL_{i}") for i in range(count)]


def _model_shape(checkpoint: Checkpoint, params: EncoderParams) -> ModelShape:
    config = checkpoint.config
    if not params.layers:
        raise ConversionError(f"{checkpoint.path}: the encoder has no layers")
    offset = config.pad_token_id + 1 if checkpoint.arch.family in ("roberta", "ibert") else 0
    max_positions = params.pos_embd.shape[0]
    if offset >= max_positions:
        raise ConversionError(f"position offset {offset} (pad_token_id + 1) leaves no room in the "
                              f"{max_positions} position embeddings")
    labels = []
    if params.cls_out is not None:
        id2label = {int(k): str(v) for k, v in (config.id2label or {}).items()}
        labels = _head_labels(params.task, id2label, params.cls_out.weight.shape[0])
    return ModelShape(
        name=checkpoint.name,
        source_architecture=checkpoint.arch.name,
        vocab_size=params.token_embd.shape[0],
        hidden_size=params.token_embd.shape[1],
        num_layers=len(params.layers),
        num_heads=config.num_attention_heads,
        intermediate_size=params.layers[0].ffn_up.weight.shape[0],
        max_positions=max_positions,
        type_vocab_size=params.token_types.shape[0],
        position_offset=offset,
        labels=labels,
        task=params.task,
    )


def _activation_ranges(checkpoint: Checkpoint, tokenizer, calibration: Path | None, text_column: str,
                       pair_column: str | None,
                       limits: CalibrationLimits, max_tokens: int, progress: bool,
                       range_rules: dict[str, str] | None, moment_points: frozenset,
                       gelu_form: str) -> tuple[ActivationRanges, dict]:
    """The ranges, and GPTQ's input moments at `moment_points` ({} for an I-BERT checkpoint); the GELU fit
    is made on the integer GELU of form `gelu_form`, the file's."""
    if checkpoint.arch.family == "ibert" and not checkpoint.arch.masked_lm:
        if calibration is not None:
            raise ConversionError(f"{checkpoint.path} is an I-BERT checkpoint: its activation ranges come from "
                                  "its own QuantAct modules; convert it without --calibration")
        return ibert_ranges(checkpoint), {}
    if checkpoint.arch.family == "ibert":
        return _ibert_masked_lm_ranges(checkpoint, tokenizer, calibration, text_column, pair_column,
                                       limits, max_tokens, progress), {}
    if calibration is None:
        raise ConversionError(
            f"{checkpoint.path} is a float {checkpoint.arch.name} checkpoint: its activation ranges must be "
            "measured on sample text. Pass --calibration FILE: a .txt file with one text per line, or a .tsv "
            "file with a header row and a 'sentence' column (another column: --text-column NAME); texts like "
            f"the ones the model will see, e.g. the task's training data ({limits.tokens} tokens of it "
            "are used: a few hundred sentences, a few thousand short phrases)")
    texts = calibration_texts(tokenizer, Path(calibration), text_column, pair_column, limits, max_tokens)
    stats = calibrate(checkpoint, tokenizer, texts, max_tokens, Path(calibration), progress,
                      moment_points=moment_points, gelu=gelu_constants(gelu_form))
    return choose_ranges(stats, range_rules), stats.input_moments


def _fixed_bytes(out: Path, shape: ModelShape, int8: QuantizedModel, ranges, src: Path,
                 pooling: PoolingConfig | None) -> int:
    """The bytes of the file that no width changes: the int8 file's size minus its encoder linear
    weights and word embedding table (with its rescale, one per row)."""
    scratch = out.with_name(out.name + ".int8-layout")
    try:
        write_ibert(scratch, shape, int8, ranges, src, pooling)
        size = scratch.stat().st_size
    finally:
        scratch.unlink(missing_ok=True)
    variable = sum(array.size for name, array in int8.tensors.items()
                   if name.startswith("blk.") and name.endswith(".weight"))
    variable += sum(int8.tensors[name].nbytes for name in ("token_embd.weight", "token_embd.rq_mult", "token_embd.rq_shift"))
    return size - variable


def _width_counts(plan: LowBitPlan, num_layers: int) -> dict[int, int]:
    """{bits: encoder linear layers at that width}."""
    counts: dict[int, int] = {}
    for prefix in _encoder_linears(num_layers):
        counts[plan.width(prefix)] = counts.get(plan.width(prefix), 0) + 1
    return dict(sorted(counts.items()))


def _encoder_linears(num_layers: int) -> list[str]:
    return [f"blk.{l}.{kind}" for l in range(num_layers)
            for kind in ("attn_q", "attn_k", "attn_v", "attn_out", "ffn_up", "ffn_down")]


def _resolve_auto(plan: LowBitPlan, hf_ibert: bool, task: str) -> LowBitPlan:
    """The plan with "auto" settled for this file: nearest rounding where the output is per word of the
    vocabulary or of the hidden size (hidden states, sentence embeddings, fill-mask), since GPTQ lost there
    (all-MiniLM-L6-v2's embeddings: 1-NN topic accuracy −0.55 points against float where nearest has
    −0.10; a masked LM's top-1 agreement 75.7% → 74.2%; README), while on every classification,
    regression, tagging, QA and multiple-choice head measured it lowered the output error or kept it;
    and for an I-BERT checkpoint, which keeps HF's integers. Elsewhere "auto" stays, and
    LowBitPlan.rounds_with_gptq picks the layers (int8 ones)."""
    if plan.rounding == "auto" and (hf_ibert or task in (names.ENCODER, names.SENTENCE_EMBEDDING, names.FILL_MASK)):
        return dataclasses.replace(plan, rounding="nearest")
    return plan


def _moment_points(num_layers: int) -> frozenset:
    """The calibration points whose input moments GPTQ needs: every encoder linear layer's input (with
    --max-size the widths, hence "auto"'s choices, are known only after calibration)."""
    return frozenset(layer_input_point(prefix) for prefix in _encoder_linears(num_layers))


def _with_hessians(plan: LowBitPlan, moments: dict, num_layers: int) -> LowBitPlan:
    """GPTQ's H = 2·XᵀX/rows of the float inputs of every encoder linear layer the plan rounds with it."""
    layers = [prefix for prefix in _encoder_linears(num_layers) if plan.rounds_with_gptq(prefix)]
    if not layers:
        return plan
    if not moments:
        raise ConversionError("--rounding gptq needs calibration activations: a float checkpoint and --calibration")
    return dataclasses.replace(plan, hessians={prefix: moments[layer_input_point(prefix)] for prefix in layers})


def _rounding_report(plan: LowBitPlan, num_layers: int) -> str:
    """How the encoder linear layers were rounded, as the summary says it."""
    gptq, layers = len(plan.hessians), len(_encoder_linears(num_layers))
    if gptq in (0, layers):
        return "gptq" if gptq else "nearest"
    return f"gptq on {gptq} of {layers} layers, nearest on the rest"


def _splits_gelu_channels(shape: ModelShape, hf_ibert: bool, budget: BudgetOptions | None, plan: LowBitPlan,
                          scales: ScaleOptions) -> bool:
    """Where the wide GELU channels are split (gelu_split.py): files of float checkpoints, whatever their
    task, whose GELU channels have their own scales and whose FFN down layers are all int8. I-BERT files
    keep HF's arithmetic; a low-bit FFN down keeps its GELU channels within the tensor's range anyway,
    and a --max-size file's sizes are counted on the checkpoint's shape."""
    return (not hf_ibert and budget is None and scales.gelu_alpha > 0 and scales.gelu_split_channels > 0
            and all(plan.width(f"blk.{l}.ffn_down") == 8 for l in range(shape.num_layers)))


def _ibert_masked_lm_ranges(checkpoint: Checkpoint, tokenizer, calibration: Path | None, text_column: str,
                            pair_column: str | None,
                            limits: CalibrationLimits, max_tokens: int, progress: bool) -> ActivationRanges:
    """IBertForMaskedLM: the encoder's ranges from its QuantActs, the head's (float in HF, no QuantAct)
    measured on sample text."""
    if calibration is None:
        raise ConversionError(f"{checkpoint.path} is an IBertForMaskedLM: its encoder's ranges come from its "
                              "QuantAct modules, but its prediction head runs in float and has none. Pass "
                              "--calibration FILE (sample text) to measure the head's ranges")
    ranges = ibert_ranges(checkpoint)
    texts = calibration_texts(tokenizer, Path(calibration), text_column, pair_column, limits, max_tokens)
    head = choose_ranges(calibrate(checkpoint, tokenizer, texts, max_tokens, Path(calibration), progress,
                                   points=MASKED_LM_POINTS))
    ranges.absmax.update(head.absmax)
    ranges.channel_absmax.update(head.channel_absmax)
    ranges.source += f"; masked-LM head: {head.source}"
    return ranges
def _sentence_pooling(src: Path, params: EncoderParams, shape: ModelShape) -> PoolingConfig | None:
    """The pool of a sentence-transformers directory (modules.json), checked against the encoder."""
    pooling = read_pooling(src)
    if pooling is None:
        return None
    if params.cls_out is not None:
        raise ConversionError(f"{src} is a sentence-transformers directory (modules.json) whose checkpoint "
                              f"{shape.source_architecture} has a classification head; a sentence-embedding "
                              "file pools the encoder's output instead")
    if pooling.dimension != shape.hidden_size:
        raise ConversionError(f"{src}: the pooling's word_embedding_dimension is {pooling.dimension}, the "
                              f"encoder's hidden size {shape.hidden_size}")
    return pooling


def convert_checkpoint(src: Path, out: Path, *, calibration: Path | None, text_column: str = "sentence",
                       pair_column: str | None = None,
                       max_calibration: int | None = None, calibration_tokens: int = CALIBRATION_TOKENS,
                       progress: bool = True,
                       scales: ScaleOptions = ScaleOptions(), range_rules: dict[str, str] | None = None,
                       plan: LowBitPlan = UNIFORM_INT8, budget: BudgetOptions | None = None) -> ConversionSummary:
    """Convert the Hugging Face checkpoint directory `src` into the .ibert file `out`.

    Float BERT/RoBERTa checkpoints need `calibration` (a .txt or .tsv file of sample text; at most
    its first texts are used, as many as hold `calibration_tokens` tokens and at most `max_calibration`
    of them; `pair_column` makes each .tsv row a pair, text and that column,
    for models that read two texts); I-BERT checkpoints carry their own activation ranges.
    `scales` says how far layer-norm and GELU outputs get per-channel scales, `range_rules` how each kind
    of activation range is picked from the calibration (range_search.py; float checkpoints only).
    `plan` gives the low-bit widths of the encoder's linear layers and word embeddings (Q-BERT);
    `budget` (--max-size) chooses them instead, by Hessian sensitivity under the file size.
    Raises ConversionError with a message saying what is wrong.
    """
    start = time.perf_counter()
    src, out = Path(src), Path(out)
    if max_calibration is not None and max_calibration < 1:
        raise ConversionError(f"--max-calibration must be at least 1, not {max_calibration}")
    if calibration_tokens < 1:
        raise ConversionError(f"--calibration-tokens must be at least 1, not {calibration_tokens}")
    checkpoint = load_checkpoint(src)
    tokenizer = _load_tokenizer(src)
    params = encoder_params(checkpoint.model, checkpoint.arch)
    shape = _model_shape(checkpoint, params)
    if len(tokenizer) != shape.vocab_size:
        raise ConversionError(f"the tokenizer has {len(tokenizer)} tokens but the word embeddings have "
                              f"{shape.vocab_size} rows; FORMAT.md needs them equal")
    if checkpoint.arch.masked_lm:
        shape.mask_token_id = _mask_token_id(tokenizer, checkpoint)
    pooling = _sentence_pooling(src, params, shape)
    if pooling is not None:
        shape.task = names.SENTENCE_EMBEDDING
    if pooling is not None and pooling.max_seq_length is not None:
        # sentence-transformers cuts texts at max_seq_length tokens: the file keeps only the positions it
        # uses, so the runtime cuts where the float model does (and the table is smaller)
        rows = min(shape.max_positions, pooling.max_seq_length + shape.position_offset)
        params.pos_embd = params.pos_embd[:rows]
        shape.max_positions = rows
    max_tokens = shape.max_positions - shape.position_offset
    plan.validate()
    hf_ibert = checkpoint.arch.family == "ibert"
    plan = _resolve_auto(plan, hf_ibert, shape.task)
    ranges, moments = _activation_ranges(checkpoint, tokenizer, calibration, text_column, pair_column,
                                         CalibrationLimits(max_calibration, calibration_tokens), max_tokens, progress, range_rules,
                                         frozenset() if plan.rounding == "nearest" else _moment_points(shape.num_layers),
                                         scales.gelu_form)
    choices = []
    if budget is not None:
        # the budget counts bytes on the checkpoint's shape: no split (_splits_gelu_channels) and no GELU
        # zero points, whose [F] tensors a layer would keep or drop with its FFN down's width
        scales = dataclasses.replace(scales, gelu_zero_point=False)
        plan = dataclasses.replace(plan, added_table_bits=BUDGET_TABLE_BITS)
        int8 = quantize(params, ranges, shape.num_heads, hf_ibert, scales, pooling,
                        dataclasses.replace(UNIFORM_INT8, added_table_bits=BUDGET_TABLE_BITS))
        fixed = _fixed_bytes(out, shape, int8, ranges, src, pooling)
        plan, choices = choose_widths(checkpoint, params, tokenizer, calibration, text_column, pair_column, plan,
                                      budget, fixed, shape.labels, max_tokens, progress)
    plan = _with_hessians(plan, moments, shape.num_layers)
    if _splits_gelu_channels(shape, hf_ibert, budget, plan, scales):
        plan = dataclasses.replace(plan, hessians=split_wide_gelu_channels(params, ranges, plan.hessians,
                                                                              scales.gelu_split_channels))
        shape.intermediate_size = params.layers[0].ffn_up.weight.shape[0]
    quantized = quantize(params, ranges, shape.num_heads, hf_ibert=hf_ibert, options=scales, pooling=pooling,
                         plan=plan, progress=progress)
    write_ibert(out, shape, quantized, ranges, src, pooling)
    if budget is not None and out.stat().st_size > budget.max_size:
        raise ConversionError(f"wrote {out}, {out.stat().st_size} B, over --max-size {budget.max_size} B: the size "
                              "estimate of pyibert/qbert/sizes.py is off, a bug")
    return ConversionSummary(
        output=out,
        file_size=out.stat().st_size,
        architecture=checkpoint.arch.name,
        num_layers=shape.num_layers,
        hidden_size=shape.hidden_size,
        num_labels=len(shape.labels),
        weight_bits=WEIGHT_BITS,
        activation_bits=ACTIVATION_BITS,
        residual_bits=RESIDUAL_BITS,
        gelu_input_bits=GELU_INPUT_BITS,
        bias_bits=BIAS_BITS,
        calibration_source=ranges.source,
        calibration_count=ranges.count,
        calibration_tokens=ranges.tokens,
        seconds=time.perf_counter() - start,
        task=shape.task,
        pooling="" if pooling is None else pooling.mode + (", normalized" if pooling.normalize else ""),
        fp32_bytes=(src / checkpoint.weights_file).stat().st_size,
        weight_widths=_width_counts(plan, shape.num_layers),
        embedding_bits=plan.embedding_bits,
        group_size=plan.group_size,
        rounding=_rounding_report(plan, shape.num_layers),
        layers=[dataclasses.asdict(choice) for choice in choices],
    )

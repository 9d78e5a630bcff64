"""Writing a Hugging Face tokenizer into a .ibert file (the tokenizer keys of models/FORMAT.md).

The C runtime re-implements two tokenizer pipelines of the `tokenizers` library bit for bit:
WordPiece with BertNormalizer + BertPreTokenizer ("bert") and byte-level BPE with the ByteLevel
pre-tokenizer ("gpt2"), each wrapped as [CLS] ... [SEP] / <s> ... </s>. This module reads the
tokenizer of a checkpoint directory (tokenizer.json, else vocab.txt, else vocab.json + merges.txt),
checks that it is one of those pipelines with options the runtime implements, and writes the keys.
Anything else raises ValueError saying what is not supported.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gguf import GGUFValueType, GGUFWriter
from tokenizers import AddedToken, Tokenizer
from tokenizers.implementations import BertWordPieceTokenizer, ByteLevelBPETokenizer
from tokenizers.processors import RobertaProcessing

# Flags of ibert.tokenizer.added_token_flags (runtime/src/tokenizer.h ADDED_TOKEN_*).
ADDED_LSTRIP = 1
ADDED_RSTRIP = 2
ADDED_SINGLE_WORD = 4
ADDED_NORMALIZED = 8


def add_tokenizer(writer: GGUFWriter, hf_dir: Path) -> str:
    """Write the tokenizer of `hf_dir` to `writer`; returns "bert" or "gpt2"."""
    hf_dir = Path(hf_dir)
    tokenizer = _load(hf_dir)
    spec = json.loads(tokenizer.to_str())
    model = spec.get("model") or {}
    model_type = model.get("type")
    if model_type == "WordPiece":
        kind = "bert"
        _check_wordpiece(spec)
    elif model_type == "BPE":
        kind = "gpt2"
        _check_byte_level_bpe(spec)
    else:
        raise ValueError(f"{hf_dir}: tokenizer model {model_type!r} is not supported "
                         "(supported: WordPiece with BertNormalizer, byte-level BPE)")

    tokens = _tokens_by_id(tokenizer, hf_dir)
    vocab = {token: i for i, token in enumerate(tokens)}
    model_vocab_size = _model_vocab_size(tokenizer, hf_dir)
    cls_id, sep_id = _cls_sep_ids(spec.get("post_processor"), vocab, hf_dir)
    separators, pair_type_id, trim = _pair_layout(spec.get("post_processor"), hf_dir)
    if kind == "bert" and trim is not None and trim[0]:
        raise ValueError(f"{hf_dir}: a WordPiece tokenizer whose post-processor trims offsets is not supported")

    writer.add_tokenizer_model(kind)
    writer.add_token_list(tokens)
    writer.add_uint32("ibert.tokenizer.model_vocab_size", model_vocab_size)
    writer.add_uint32("tokenizer.ggml.cls_token_id", cls_id)
    writer.add_uint32("tokenizer.ggml.seperator_token_id", sep_id)
    writer.add_uint32("tokenizer.ggml.padding_token_id", _pad_id(spec, vocab, hf_dir))
    writer.add_uint32("ibert.tokenizer.pair_separators", separators)
    writer.add_uint32("ibert.tokenizer.pair_type_id", pair_type_id)
    unk_token = model.get("unk_token")
    if kind == "bert" or unk_token is not None:
        if unk_token not in vocab:
            raise ValueError(f"{hf_dir}: the unknown token {unk_token!r} is not in the vocabulary")
        writer.add_uint32("tokenizer.ggml.unknown_token_id", vocab[unk_token])

    if kind == "bert":
        _write_wordpiece_options(writer, spec)
    else:
        writer.add_token_merges(_merges(model, hf_dir))
        writer.add_bool("ibert.tokenizer.add_prefix_space", _byte_level(spec)["add_prefix_space"])
        trim_offsets, trim_prefix_space = trim or (False, False)
        writer.add_bool("ibert.tokenizer.trim_offsets", trim_offsets)
        writer.add_bool("ibert.tokenizer.trim_offsets_prefix_space", trim_prefix_space)
    _write_added_tokens(writer, tokenizer, spec, vocab, hf_dir)
    return kind


def _load(hf_dir: Path) -> Tokenizer:
    if (hf_dir / "tokenizer.json").is_file():
        return Tokenizer.from_file(str(hf_dir / "tokenizer.json"))
    options = _json_or_empty(hf_dir / "tokenizer_config.json")
    specials = {**options, **_json_or_empty(hf_dir / "special_tokens_map.json")}
    if (hf_dir / "vocab.txt").is_file():
        # What transformers' BertTokenizer converts vocab.txt into.
        tokenizer = BertWordPieceTokenizer(
            str(hf_dir / "vocab.txt"),
            unk_token=_token_text(specials.get("unk_token", "[UNK]")),
            sep_token=_token_text(specials.get("sep_token", "[SEP]")),
            cls_token=_token_text(specials.get("cls_token", "[CLS]")),
            pad_token=_token_text(specials.get("pad_token", "[PAD]")),
            mask_token=_token_text(specials.get("mask_token", "[MASK]")),
            clean_text=True,
            handle_chinese_chars=options.get("tokenize_chinese_chars", True),
            strip_accents=options.get("strip_accents"),
            lowercase=options.get("do_lower_case", True),
        )
        return tokenizer._tokenizer
    if (hf_dir / "vocab.json").is_file() and (hf_dir / "merges.txt").is_file():
        # What transformers' RobertaTokenizer converts vocab.json + merges.txt into.
        add_prefix_space = options.get("add_prefix_space", False)
        tokenizer = ByteLevelBPETokenizer(str(hf_dir / "vocab.json"), str(hf_dir / "merges.txt"),
                                          add_prefix_space=add_prefix_space)
        names = {role: _token_text(specials.get(role + "_token", default)) for role, default in
                 (("bos", "<s>"), ("eos", "</s>"), ("unk", "<unk>"), ("pad", "<pad>"), ("mask", "<mask>"))}
        tokenizer.add_special_tokens([names["bos"], names["pad"], names["eos"], names["unk"],
                                      AddedToken(names["mask"], lstrip=True, special=True)])
        tokens = tokenizer.get_vocab()
        for role in ("bos", "eos"):
            if names[role] not in tokens:
                raise ValueError(f"{hf_dir}: the {role} token {names[role]!r} is not in vocab.json")
        tokenizer.post_processor = RobertaProcessing((names["eos"], tokens[names["eos"]]),
                                                     (names["bos"], tokens[names["bos"]]),
                                                     add_prefix_space=add_prefix_space)
        return tokenizer._tokenizer
    raise ValueError(f"{hf_dir}: no tokenizer found (expected tokenizer.json, vocab.txt, "
                     "or vocab.json + merges.txt)")


def _json_or_empty(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _token_text(token: Any) -> str:
    """A special token as tokenizer_config.json stores it: a string or an AddedToken dict."""
    return token["content"] if isinstance(token, dict) else str(token)


def _check_wordpiece(spec: dict[str, Any]) -> None:
    normalizer = spec.get("normalizer")
    if normalizer is not None and normalizer.get("type") != "BertNormalizer":
        raise ValueError(f"WordPiece with normalizer {normalizer.get('type')!r} is not supported "
                         "(supported: BertNormalizer or none)")
    pre_tokenizer = spec.get("pre_tokenizer")
    if (pre_tokenizer or {}).get("type") != "BertPreTokenizer":
        raise ValueError(f"WordPiece with pre-tokenizer {(pre_tokenizer or {}).get('type')!r} is not "
                         "supported (supported: BertPreTokenizer)")
    model = spec["model"]
    if not model.get("continuing_subword_prefix"):
        raise ValueError("WordPiece without a continuing subword prefix is not supported")


def _write_wordpiece_options(writer: GGUFWriter, spec: dict[str, Any]) -> None:
    normalizer = spec.get("normalizer") or {}
    lowercase = bool(normalizer.get("lowercase", False))
    strip_accents = normalizer.get("strip_accents")
    if strip_accents is None:  # BertNormalizer: strip accents when lowercasing unless told
        strip_accents = lowercase
    writer.add_bool("ibert.tokenizer.clean_text", bool(normalizer.get("clean_text", False)))
    writer.add_bool("ibert.tokenizer.handle_chinese_chars", bool(normalizer.get("handle_chinese_chars", False)))
    writer.add_bool("ibert.tokenizer.strip_accents", bool(strip_accents))
    writer.add_bool("ibert.tokenizer.lowercase", lowercase)
    model = spec["model"]
    writer.add_string("ibert.tokenizer.continuing_prefix", model["continuing_subword_prefix"])
    writer.add_uint32("ibert.tokenizer.max_word_chars", int(model.get("max_input_chars_per_word", 100)))


def _byte_level(spec: dict[str, Any]) -> dict[str, Any]:
    pre_tokenizer = spec.get("pre_tokenizer") or {}
    if pre_tokenizer.get("type") == "Sequence" and len(pre_tokenizer.get("pretokenizers", [])) == 1:
        pre_tokenizer = pre_tokenizer["pretokenizers"][0]
    if pre_tokenizer.get("type") != "ByteLevel":
        raise ValueError(f"BPE with pre-tokenizer {pre_tokenizer.get('type')!r} is not supported "
                         "(supported: ByteLevel)")
    if not pre_tokenizer.get("use_regex", True):
        raise ValueError("a ByteLevel pre-tokenizer with use_regex=false is not supported")
    return {"add_prefix_space": bool(pre_tokenizer.get("add_prefix_space", False))}


def _check_byte_level_bpe(spec: dict[str, Any]) -> None:
    normalizer = spec.get("normalizer")
    if normalizer is not None and not (normalizer.get("type") == "Sequence" and not normalizer.get("normalizers")):
        raise ValueError(f"byte-level BPE with normalizer {normalizer.get('type')!r} is not supported "
                         "(supported: none)")
    _byte_level(spec)
    model = spec["model"]
    unsupported = {
        "dropout": model.get("dropout") not in (None, 0, 0.0),
        "continuing_subword_prefix": bool(model.get("continuing_subword_prefix")),
        "end_of_word_suffix": bool(model.get("end_of_word_suffix")),
        "byte_fallback": bool(model.get("byte_fallback")),
        "ignore_merges": bool(model.get("ignore_merges")),
        "fuse_unk": bool(model.get("fuse_unk")) and model.get("unk_token") is not None,
    }
    used = [name for name, on in unsupported.items() if on]
    if used:
        raise ValueError(f"byte-level BPE with {', '.join(used)} is not supported")


def _tokens_by_id(tokenizer: Tokenizer, hf_dir: Path) -> list[str]:
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    tokens: list[str | None] = [None] * (max(vocab.values()) + 1 if vocab else 0)
    for token, i in vocab.items():
        if tokens[i] is not None:
            raise ValueError(f"{hf_dir}: id {i} is both {tokens[i]!r} and {token!r}")
        tokens[i] = token
    missing = [i for i, token in enumerate(tokens) if token is None]
    if missing or not tokens:
        raise ValueError(f"{hf_dir}: the vocabulary has no token for ids {missing[:10]}"
                         if missing else f"{hf_dir}: the vocabulary is empty")
    return tokens  # type: ignore[return-value]


def _model_vocab_size(tokenizer: Tokenizer, hf_dir: Path) -> int:
    """The model's own vocabulary must be ids 0..n-1; added tokens it lacks come after."""
    model_ids = sorted(tokenizer.get_vocab(with_added_tokens=False).values())
    if model_ids != list(range(len(model_ids))):
        raise ValueError(f"{hf_dir}: the model's vocabulary ids are not 0..{len(model_ids) - 1}")
    return len(model_ids)


def _merges(model: dict[str, Any], hf_dir: Path) -> list[str]:
    merges = []
    for merge in model.get("merges", []):
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        if not left or not right or " " in left or " " in right:
            raise ValueError(f"{hf_dir}: merge {merge!r} is not two tokens without spaces")
        merges.append(f"{left} {right}")
    if not merges:
        raise ValueError(f"{hf_dir}: the BPE model has no merges")
    return merges


def _cls_sep_ids(processor: dict[str, Any] | None, vocab: dict[str, int], hf_dir: Path) -> tuple[int, int]:
    """[CLS]/<s> and [SEP]/</s> of the single-sequence template the post-processor applies."""
    if processor and processor.get("type") == "Sequence":
        wrapping = [p for p in processor.get("processors", []) if p.get("type") != "ByteLevel"]
        processor = wrapping[0] if len(wrapping) == 1 else None
    kind = (processor or {}).get("type")
    if kind in ("BertProcessing", "RobertaProcessing"):
        return int(processor["cls"][1]), int(processor["sep"][1])
    if kind == "TemplateProcessing":
        single = processor["single"]
        shape = ["SpecialToken" if "SpecialToken" in part else "Sequence" for part in single]
        if shape == ["SpecialToken", "Sequence", "SpecialToken"]:
            ids = []
            for part in (single[0], single[2]):
                special = processor["special_tokens"][part["SpecialToken"]["id"]]
                if len(special["ids"]) != 1:
                    break
                ids.append(int(special["ids"][0]))
            else:
                return ids[0], ids[1]
    raise ValueError(f"{hf_dir}: the post-processor must wrap one sequence as <one special token> "
                     f"text <one special token> (BertProcessing, RobertaProcessing or such a "
                     f"TemplateProcessing); got {kind!r}")


def _pair_layout(processor: dict[str, Any] | None, hf_dir: Path) -> tuple[int, int, tuple[bool, bool] | None]:
    """How the post-processor encodes a pair, as (separators between the texts, token type
    of the second text and its closing separator, (trim_offsets, add_prefix_space) of the
    processor that trims offsets or None). BertProcessing: [CLS] a [SEP] b [SEP], types 0/1;
    RobertaProcessing: <s> a </s></s> b </s>, types 0; a TemplateProcessing of either shape;
    a template without a pair: 0 separators (the model encodes no pairs)."""
    trimmers = []
    if processor and processor.get("type") == "Sequence":
        parts = processor.get("processors", [])
        trimmers = [p for p in parts if p.get("type") == "ByteLevel"]
        wrapping = [p for p in parts if p.get("type") != "ByteLevel"]
        processor = wrapping[0] if len(wrapping) == 1 else None
    kind = (processor or {}).get("type")
    if kind == "RobertaProcessing":
        trimmers.append(processor)
    trims = [(bool(p.get("trim_offsets", True)), bool(p.get("add_prefix_space", True))) for p in trimmers]
    if sum(trim_offsets for trim_offsets, _ in trims) > 1:
        raise ValueError(f"{hf_dir}: more than one post-processor trims offsets")
    trim = next((t for t in trims if t[0]), trims[0] if trims else None)
    if kind == "BertProcessing":
        return 1, 1, trim
    if kind == "RobertaProcessing":
        return 2, 0, trim
    pair = (processor or {}).get("pair")
    if kind == "TemplateProcessing" and not pair:
        return 0, 0, trim
    if kind == "TemplateProcessing":
        # the specials of the pair must be those of the single template (_cls_sep_ids)
        cls, sep = (processor["single"][i]["SpecialToken"]["id"] for i in (0, 2))
        shape = [(p["SpecialToken"]["id"], p["SpecialToken"]["type_id"]) if "SpecialToken" in p else
                 ("$" + p["Sequence"]["id"], p["Sequence"]["type_id"]) for p in pair]
        for separators in (1, 2):
            for type_id in (0, 1):
                if shape == [(cls, 0), ("$A", 0)] + [(sep, 0)] * separators + [("$B", type_id), (sep, type_id)]:
                    return separators, type_id, trim
    raise ValueError(f"{hf_dir}: the post-processor's pair template is not supported (supported: "
                     "[CLS] $A [SEP] $B [SEP] and <s> $A </s> </s> $B </s>, the first text of type 0, "
                     "the second and its closing separator of one type, 0 or 1)")


def _pad_id(spec: dict[str, Any], vocab: dict[str, int], hf_dir: Path) -> int:
    padding = spec.get("padding")
    if padding and padding.get("pad_token") in vocab:
        return vocab[padding["pad_token"]]
    options = {**_json_or_empty(hf_dir / "tokenizer_config.json"),
               **_json_or_empty(hf_dir / "special_tokens_map.json")}
    candidates = [_token_text(options["pad_token"])] if options.get("pad_token") else []
    for name in candidates + ["[PAD]", "<pad>"]:
        if name in vocab:
            return vocab[name]
    raise ValueError(f"{hf_dir}: no padding token found (tokenizer.json padding, pad_token in "
                     "tokenizer_config.json, [PAD] or <pad>)")


def _write_added_tokens(writer: GGUFWriter, tokenizer: Tokenizer, spec: dict[str, Any],
                        vocab: dict[str, int], hf_dir: Path) -> None:
    ids, texts, flags = [], [], []
    for added in spec.get("added_tokens", []):
        content = added["content"]
        if vocab.get(content) != added["id"]:
            raise ValueError(f"{hf_dir}: added token {content!r} has id {added['id']} but the "
                             f"vocabulary says {vocab.get(content)}")
        text = content
        if added.get("normalized") and tokenizer.normalizer is not None:
            # HF matches a normalized added token in normalized text, by its normalized form
            text = tokenizer.normalizer.normalize_str(content)
        if not text:
            raise ValueError(f"{hf_dir}: added token {content!r} normalizes to nothing")
        ids.append(added["id"])
        texts.append(text)
        flags.append((ADDED_LSTRIP if added.get("lstrip") else 0)
                     | (ADDED_RSTRIP if added.get("rstrip") else 0)
                     | (ADDED_SINGLE_WORD if added.get("single_word") else 0)
                     | (ADDED_NORMALIZED if added.get("normalized") else 0))
    if not ids:
        return  # the three keys are absent together (gguf writes no empty arrays)
    writer.add_key_value("ibert.tokenizer.added_token_ids", ids, GGUFValueType.ARRAY, GGUFValueType.UINT32)
    writer.add_array("ibert.tokenizer.added_token_texts", texts)
    writer.add_key_value("ibert.tokenizer.added_token_flags", flags, GGUFValueType.ARRAY, GGUFValueType.UINT32)

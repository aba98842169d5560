# SPDX-License-Identifier: Apache-2.0
"""BERT uncased tokenizers with one interface: the C one and Hugging Face's.

`CTokenizer` runs the on-device tokenizer (subsys/mcubert/tokenizer.c) on the
host through ctypes; `mcubert.tokenization.HFTokenizer` wraps tokenizers'
`BertWordPieceTokenizer(vocab, lowercase=True)`, and
`mcubert.tokenization.make_tokenizer` builds either. Both take `str` or
`bytes` text and return `(ids, type_ids)` lists of the same values: bytes that are
not valid UTF-8 are handled by the C side as by Python's
`bytes.decode("utf-8", "replace")` followed by tokenizers (docs/tokenizer.md).
`encode_with_spans` adds each token's `mcubert.slots.Span` (mcubert_tok_encode_spans);
`CSlotTags` runs the C slot decoder (subsys/mcubert/slots.c).
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path
from typing import Iterable, Union

import numpy as np

from mcubert.formats.vocab import pack_vocab
from mcubert.slots import Slot, Span, TagSet
from mcubert.targets import native

log = logging.getLogger(__name__)

Text = Union[str, bytes]
Encoded = tuple[list[int], list[int]]
EncodedSpans = tuple[list[int], list[int], list[Span]]

# struct mcubert_tok_span and struct mcubert_slot, as numpy records.
SPAN_DTYPE = np.dtype([("start", "<u4"), ("end", "<u4"), ("word", "<u2"), ("text", "u1"), ("flags", "u1")])
SLOT_DTYPE = np.dtype([("start", "<u4"), ("end", "<u4"), ("slot", "<u2"), ("text", "u1"), ("pad", "u1")])
NO_WORD = 0xFFFF
WORD_START = 0x01

# struct mcubert_tok is far smaller than this; it lives in a Python-owned buffer.
_HANDLE_BYTES = 512
_configured = False


def _lib() -> ctypes.CDLL:
    """The host runtime with the tokenizer's prototypes set."""
    global _configured
    lib = native.load()
    if not _configured:
        vp, sz = ctypes.c_void_p, ctypes.c_size_t
        lib.mcubert_tok_init.restype = ctypes.c_int
        lib.mcubert_tok_init.argtypes = [vp, vp, sz]
        lib.mcubert_tok_vocab_size.restype = ctypes.c_uint32
        lib.mcubert_tok_vocab_size.argtypes = [vp]
        lib.mcubert_tok_encode.restype = ctypes.c_int
        lib.mcubert_tok_encode.argtypes = [vp, ctypes.c_char_p, sz, ctypes.c_char_p, sz, vp, vp, ctypes.c_uint16]
        lib.mcubert_tok_tokenize.restype = ctypes.c_long
        lib.mcubert_tok_tokenize.argtypes = [vp, ctypes.c_char_p, sz, vp, sz]
        lib.mcubert_tok_words.restype = ctypes.c_long
        lib.mcubert_tok_words.argtypes = [ctypes.c_char_p, sz, ctypes.c_char_p, sz]
        lib.mcubert_tok_encode_spans.restype = ctypes.c_int
        lib.mcubert_tok_encode_spans.argtypes = [vp, ctypes.c_char_p, sz, ctypes.c_char_p, sz, vp, vp, vp,
                                                 ctypes.c_uint16]
        lib.mcubert_tok_case_types.restype = ctypes.c_int
        lib.mcubert_tok_case_types.argtypes = [ctypes.c_char_p, sz, vp, ctypes.c_uint16, vp]
        lib.mcubert_slot_tags_init.restype = ctypes.c_int
        lib.mcubert_slot_tags_init.argtypes = [vp, vp, ctypes.c_uint16, vp]
        lib.mcubert_slot_name.restype = ctypes.c_char_p
        lib.mcubert_slot_name.argtypes = [vp, ctypes.c_uint16, vp]
        lib.mcubert_slots_decode.restype = ctypes.c_int
        lib.mcubert_slots_decode.argtypes = [vp, vp, vp, ctypes.c_uint16, vp, ctypes.c_uint16]
        _configured = True
    return lib


def to_bytes(text: Text) -> bytes:
    """UTF-8 bytes of a text (lone surrogates become ill-formed bytes)."""
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")


def to_str(text: Text) -> str:
    """The string tokenizers sees for a text: bytes decoded with U+FFFD."""
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else \
        text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def words(text: Text) -> list[str]:
    """The words WordPiece sees (mcubert_tok_words); over-long words are U+FFFD."""
    lib = _lib()
    raw = to_bytes(text)
    n = lib.mcubert_tok_words(raw, len(raw), None, 0)
    if n < 0:
        raise native.RuntimeErrno("mcubert_tok_words", int(n))
    buf = ctypes.create_string_buffer(n + 1)
    lib.mcubert_tok_words(raw, len(raw), buf, n + 1)
    out = buf.raw[:n].decode("utf-8")
    return out.split(" ") if out else []


class CTokenizer:
    """The C tokenizer over a packed vocabulary (built from vocab.txt, or given)."""

    def __init__(self, vocab_path: str | Path | None = None, *, packed: bytes | None = None) -> None:
        if packed is None:
            if vocab_path is None:
                raise ValueError("give a vocab.txt path or a packed vocabulary")
            packed = pack_vocab(vocab_path)
        self.lib = _lib()
        self.packed = bytes(packed)
        self._image = np.frombuffer(self.packed, dtype=np.uint8).copy()  # aligned, kept alive
        self._handle = np.zeros(_HANDLE_BYTES // 8, dtype=np.uint64)
        rc = self.lib.mcubert_tok_init(self._handle.ctypes.data, self._image.ctypes.data, len(self._image))
        if rc != 0:
            raise native.RuntimeErrno("mcubert_tok_init", rc)
        self._cap = 0
        self._grow(512)

    def _grow(self, n: int) -> None:
        if n > self._cap:
            self._cap = n
            self._ids = np.zeros(n, dtype=np.int32)
            self._types = np.zeros(n, dtype=np.uint8)
            self._spans = np.zeros(n, dtype=SPAN_DTYPE)

    @property
    def vocab_size(self) -> int:
        return int(self.lib.mcubert_tok_vocab_size(self._handle.ctypes.data))

    def _encode(self, text: Text, text_b: Text | None, max_len: int, spans: bool) -> int:
        """Run mcubert_tok_encode (or _spans) into the buffers; returns the number of ids."""
        if not 0 <= max_len <= 0xFFFF:
            raise ValueError("max_len must be in [0, 65535]")
        a = to_bytes(text)
        b = None if text_b is None else to_bytes(text_b)
        self._grow(max_len)
        args = [self._handle.ctypes.data, a, len(a), b, 0 if b is None else len(b), self._ids.ctypes.data,
                self._types.ctypes.data]
        name = "mcubert_tok_encode_spans" if spans else "mcubert_tok_encode"
        rc = getattr(self.lib, name)(*args, *([self._spans.ctypes.data] if spans else []), max_len)
        if rc < 0:
            raise native.RuntimeErrno(name, rc)
        return rc

    def encode(self, text: Text, text_b: Text | None = None, max_len: int = 512) -> Encoded:
        """[CLS] text [SEP] (text_b [SEP]) truncated to max_len ids, and type ids."""
        n = self._encode(text, text_b, max_len, spans=False)
        return self._ids[:n].tolist(), self._types[:n].tolist()

    def encode_with_spans(self, text: Text, text_b: Text | None = None, max_len: int = 512) -> EncodedSpans:
        """encode(), and each token's `Span` in its original text (mcubert_tok_encode_spans)."""
        n = self._encode(text, text_b, max_len, spans=True)
        return self._ids[:n].tolist(), self._types[:n].tolist(), spans_from_c(self._spans[:n])

    def encode_batch(self, items: Iterable[Text | tuple[Text, Text]], max_len: int = 512) -> list[Encoded]:
        return [self.encode(*it, max_len=max_len) if isinstance(it, tuple) else self.encode(it, max_len=max_len)
                for it in items]

    def tokenize(self, text: Text) -> list[int]:
        """Word-piece ids of one text: no special tokens, no truncation."""
        raw = to_bytes(text)
        n = self.lib.mcubert_tok_tokenize(self._handle.ctypes.data, raw, len(raw), self._ids.ctypes.data,
                                          self._cap)
        if n < 0:
            raise native.RuntimeErrno("mcubert_tok_tokenize", int(n))
        if n > self._cap:
            self._grow(int(n))
            n = self.lib.mcubert_tok_tokenize(self._handle.ctypes.data, raw, len(raw), self._ids.ctypes.data,
                                              self._cap)
        return self._ids[:n].tolist()


def spans_from_c(rec: np.ndarray) -> list[Span]:
    """`Span`s of an array of struct mcubert_tok_span."""
    return [Span(int(r["start"]), int(r["end"]), None if r["word"] == NO_WORD else int(r["word"]), int(r["text"]),
                 bool(r["flags"] & WORD_START)) for r in rec]


def spans_to_c(spans: list[Span]) -> np.ndarray:
    """An array of struct mcubert_tok_span from `Span`s."""
    rec = np.zeros(len(spans), dtype=SPAN_DTYPE)
    for i, sp in enumerate(spans):
        rec[i] = (sp.start, sp.end, NO_WORD if sp.word is None else sp.word, sp.text,
                  WORD_START if sp.word_start else 0)
    return rec


def case_types(text: Text, spans: list[Span]) -> list[int]:
    """The case types of `spans` in `text` as C computes them (mcubert_tok_case_types)."""
    raw = to_bytes(text)
    rec = spans_to_c(spans)
    out = np.zeros(max(1, len(spans)), dtype=np.uint8)
    rc = _lib().mcubert_tok_case_types(raw, len(raw), rec.ctypes.data, len(spans), out.ctypes.data)
    if rc != 0:
        raise native.RuntimeErrno("mcubert_tok_case_types", rc)
    return out[:len(spans)].tolist()


class CSlotTags:
    """A tag set in C (mcubert_slot_tags_init) and its decoder (mcubert_slots_decode)."""

    def __init__(self, tags: TagSet | list[str]) -> None:
        names = tags.names if isinstance(tags, TagSet) else list(tags)
        self.lib = _lib()
        self._names = [ctypes.create_string_buffer(n.encode("utf-8")) for n in names]
        self._array = (ctypes.c_char_p * len(names))(*[ctypes.addressof(b) for b in self._names])
        self._tags = np.zeros(max(1, len(names)), dtype=np.uint32)  # struct mcubert_slot_tag: 4 bytes each
        self._handle = np.zeros(4, dtype=np.uint64)  # struct mcubert_slot_tags: 2 pointers, 2 uint16
        self.n_slots = self.lib.mcubert_slot_tags_init(self._handle.ctypes.data, ctypes.addressof(self._array),
                                                       len(names), self._tags.ctypes.data)
        if self.n_slots < 0:
            raise native.RuntimeErrno("mcubert_slot_tags_init", self.n_slots)

    def slot_name(self, slot: int) -> str | None:
        name = self.lib.mcubert_slot_name(self._handle.ctypes.data, slot, None)
        return None if name is None else name.decode("utf-8")

    def decode(self, tag_ids: list[int], spans: list[Span], cap: int | None = None) -> tuple[int, list[Slot]]:
        """(number of slots in all, the first `cap` of them) of one encoding."""
        ids = np.asarray(tag_ids, dtype=np.uint16)
        rec = spans_to_c(spans)
        cap = len(spans) if cap is None else cap
        out = np.zeros(max(1, cap), dtype=SLOT_DTYPE)
        n = self.lib.mcubert_slots_decode(self._handle.ctypes.data, ids.ctypes.data, rec.ctypes.data, len(spans),
                                          out.ctypes.data, cap)
        if n < 0:
            raise native.RuntimeErrno("mcubert_slots_decode", n)
        return n, [Slot(int(r["slot"]), int(r["start"]), int(r["end"]), int(r["text"])) for r in out[:min(n, cap)]]

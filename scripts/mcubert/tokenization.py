# SPDX-License-Identifier: Apache-2.0
"""One factory for the BERT uncased tokenizers: Hugging Face's and the on-device C one.

`make_tokenizer(vocab, kind="hf")` wraps tokenizers' `BertWordPieceTokenizer`;
`make_tokenizer(vocab, kind="c")` (or `packed=` a packed vocabulary) runs the
C tokenizer (subsys/mcubert/tokenizer.c) through ctypes. Both give the same
ids for the same text and share one interface (`Tokenizer`):

    encode(text, text_b=None, max_len=512) -> (ids, type_ids)
    encode_batch(items, max_len=512)       -> [(ids, type_ids), ...]
    tokenize(text)                         -> word-piece ids, no special tokens
    encode_with_spans(text, text_b=None, max_len=512) -> (ids, type_ids, spans)
    vocab_size

`items` are texts or `(text, text_b)` pairs (`text_b` may be None); texts are
`str` or `bytes` (docs/tokenizer.md). `spans` are `mcubert.slots.Span`s: each
token's bytes in its original text and its word, for slot decoding. The HF one also has what training needs:
`get_vocab()` and `save_pretrained(dir)` (the Hugging Face tokenizer files).
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Protocol, Sequence, Union

from mcubert.slots import Span, case_types, hf_spans
from mcubert.targets.ctokenizer import to_bytes, to_str

log = logging.getLogger(__name__)

Text = Union[str, bytes]
Encoded = tuple[list[int], list[int]]
EncodedSpans = tuple[list[int], list[int], list[Span]]
Item = Union[Text, tuple[Text, Union[Text, None]]]
WordEncoded = tuple[list[int], list[Union[int, None]], list[tuple[int, int]]]

KINDS = ("hf", "c")


class TokenizerError(ValueError):
    """A tokenizer that cannot be built (missing or inconsistent vocabulary, unknown kind)."""


class Tokenizer(Protocol):
    """What every tokenizer of `make_tokenizer` offers."""

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: Text, text_b: Text | None = None, max_len: int = 512) -> Encoded: ...

    def encode_batch(self, items: Sequence[Item], max_len: int = 512) -> list[Encoded]: ...

    def tokenize(self, text: Text) -> list[int]: ...

    def encode_with_spans(self, text: Text, text_b: Text | None = None, max_len: int = 512) -> EncodedSpans: ...


class HFTokenizer:
    """tokenizers' BertWordPieceTokenizer(vocab, lowercase) with the `Tokenizer` interface."""

    def __init__(self, vocab_path: str | Path, lowercase: bool = True) -> None:
        from tokenizers import BertWordPieceTokenizer

        self.vocab_path = Path(vocab_path)
        if not self.vocab_path.is_file():
            raise TokenizerError(f"{vocab_path}: vocabulary file not found")
        self.lowercase = lowercase
        try:
            self.tok = BertWordPieceTokenizer(str(vocab_path), lowercase=lowercase)
        except Exception as e:  # noqa: BLE001 - tokenizers raises TypeError for a vocabulary without [SEP]
            raise TokenizerError(f"{vocab_path}: not a BERT vocabulary ({e})") from None
        self._max_len: int | None = None

    def _truncate(self, max_len: int) -> None:
        if max_len != self._max_len:
            self.tok.enable_truncation(max_len)
            self._max_len = max_len

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def get_vocab(self) -> dict[str, int]:
        return self.tok.get_vocab()

    def encode(self, text: Text, text_b: Text | None = None, max_len: int = 512) -> Encoded:
        self._truncate(max_len)
        e = self.tok.encode(to_str(text), None if text_b is None else to_str(text_b))
        return list(e.ids), list(e.type_ids)

    def encode_with_spans(self, text: Text, text_b: Text | None = None, max_len: int = 512) -> EncodedSpans:
        """encode(), and each token's `Span`: tokenizers' offsets and word ids, in bytes."""
        self._truncate(max_len)
        e = self.tok.encode(to_str(text), None if text_b is None else to_str(text_b))
        raws = [to_bytes(text)] + ([] if text_b is None else [to_bytes(text_b)])
        spans = hf_spans(e.offsets, e.word_ids, e.sequence_ids, e.type_ids, raws)
        return list(e.ids), list(e.type_ids), spans

    def encode_batch(self, items: Sequence[Item], max_len: int = 512) -> list[Encoded]:
        self._truncate(max_len)
        return [(list(e.ids), list(e.type_ids)) for e in self.tok.encode_batch([_hf_input(it) for it in items])]

    def tokenize(self, text: Text) -> list[int]:
        self.tok.no_truncation()
        self._max_len = None
        return list(self.tok.encode(to_str(text), add_special_tokens=False).ids)

    def encode_words(self, text: str | Sequence[str], max_len: int = 512) -> WordEncoded:
        """(ids, word index of each token (None: [CLS]/[SEP]), character offsets of each token) of a text
        (its words: the pre-tokenizer's, offsets into the text) or of a list of words (offsets into each word)."""
        self._truncate(max_len)
        e = self.tok.encode(list(text), is_pretokenized=True) if not isinstance(text, str) else self.tok.encode(text)
        return list(e.ids), list(e.word_ids), [tuple(o) for o in e.offsets]

    def words(self, text: Text) -> list[str]:
        """Normalized, pre-tokenized words; as mcubert_tok_words() (no special tokens)."""
        s = self.tok.normalizer.normalize_str(to_str(text))
        return [w if len(w) <= 100 else "\ufffd" for w, _ in self.tok.pre_tokenizer.pre_tokenize_str(s)]

    def save_pretrained(self, out: str | Path) -> None:
        """The Hugging Face tokenizer files (as BertTokenizerFast writes them) into `out`."""
        from transformers import BertTokenizerFast

        # transformers 5 takes the vocabulary as `vocab`, 4.x as `vocab_file`
        key = "vocab" if "vocab" in inspect.signature(BertTokenizerFast.__init__).parameters else "vocab_file"
        BertTokenizerFast(**{key: str(self.vocab_path)}, do_lower_case=self.lowercase).save_pretrained(str(out))


def encode_cased(tok: Tokenizer, text: Text, max_len: int = 512) -> Encoded:
    """encode() of one text with its case types (mcubert.slots.case_types) as the type ids: the input of a
    model trained with `--case-types` (MCUB_FLAG_CASE_TYPES)."""
    ids, _, spans = tok.encode_with_spans(text, None, max_len=max_len)
    return ids, case_types(to_bytes(text), spans)


def _hf_input(item: Item) -> str | tuple[str, str]:
    if isinstance(item, tuple):
        return to_str(item[0]) if item[1] is None else (to_str(item[0]), to_str(item[1]))
    return to_str(item)


def make_tokenizer(vocab: str | Path | None = None, kind: str = "hf", *, packed: bytes | None = None,
                   lowercase: bool = True) -> Tokenizer:
    """A tokenizer by kind: "hf" (Hugging Face `tokenizers`) or "c" (the on-device one, from vocab.txt
    or from `packed`, a packed vocabulary as in a blob)."""
    if kind == "c":
        from mcubert.targets.ctokenizer import CTokenizer

        if packed is None:
            if vocab is None:
                raise TokenizerError("the C tokenizer needs a vocab.txt path or a packed vocabulary")
            if not Path(vocab).is_file():
                raise TokenizerError(f"{vocab}: vocabulary file not found")
        return CTokenizer(vocab, packed=packed)
    if kind == "hf":
        if vocab is None:
            raise TokenizerError("the Hugging Face tokenizer needs a vocab.txt path")
        return HFTokenizer(vocab, lowercase=lowercase)
    raise TokenizerError(f"unknown tokenizer {kind!r}: use 'c' or 'hf'")


def encode_ids(tok: Tokenizer, texts: Sequence[Item], max_len: int) -> list[list[int]]:
    """Token ids ([CLS] ... [SEP], truncated to max_len) of each text or pair."""
    return [ids for ids, _ in tok.encode_batch(texts, max_len=max_len)]

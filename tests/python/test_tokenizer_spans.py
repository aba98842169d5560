# SPDX-License-Identifier: Apache-2.0
"""Token spans of the C tokenizer (mcubert_tok_encode_spans) against Hugging Face tokenizers.

The spans must equal tokenizers' `offsets` (character offsets into the decoded
text) converted to bytes of the original text, and the words its `word_ids()`,
on GLUE and SNIPS text, the tokenizer fuzz corpus and its edge cases, for single
texts and truncated pairs; the ids stay those of `mcubert_tok_encode`.
"""

from __future__ import annotations

import ctypes
import errno
import random
import unicodedata
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tokenizers")

from test_slots import read_snips  # noqa: E402
from test_tokenizer import EDGE, _fuzz_text, _pools, _tsv, ctok, hftok, packed, vocab_path  # noqa: E402, F401

from mcubert.slots import Span, utf8_char_starts  # noqa: E402
from mcubert.targets.ctokenizer import CTokenizer, _lib, to_str  # noqa: E402
from mcubert.tokenization import HFTokenizer  # noqa: E402


def snips_utterances(data_dir: Path) -> list[str]:
    return [text for text, _ in read_snips(data_dir)]


def _kept_nonstarter(hftok: HFTokenizer, texts: tuple) -> bool:
    """A text with a non-starter that accent stripping keeps (U+1D165, U+1B44, ...): the documented
    case where a span may differ from tokenizers' (docs/tokenizer.md, "Spans")."""
    norm = hftok.tok.normalizer
    return any(unicodedata.combining(c) for t in texts for c in norm.normalize_str(to_str(t)))


def _compare(ctok: CTokenizer, hftok: HFTokenizer, items: list, max_len: int) -> int:
    """Compare ids, type ids and spans; returns the number of encodings whose spans were compared."""
    n = 0
    for item in items:
        args = item if isinstance(item, tuple) else (item,)
        got = ctok.encode_with_spans(*args, max_len=max_len)
        want = hftok.encode_with_spans(*args, max_len=max_len)
        assert got[:2] == want[:2] == ctok.encode(*args, max_len=max_len), repr(item)
        if got[2] != want[2] and _kept_nonstarter(hftok, args):
            continue
        assert got == want, f"{item!r} (max_len {max_len}):\n  C  {got}\n  HF {want}"
        n += 1
    return n


def test_glue(ctok: CTokenizer, hftok: HFTokenizer, data_dir: Path) -> None:
    sst = [r["sentence"] for r in _tsv(data_dir / "glue" / "SST-2" / "dev.tsv")]
    rows = _tsv(data_dir / "glue" / "QNLI" / "dev.tsv")[:1500]
    pairs = [(r["question"], r["sentence"]) for r in rows]
    n = _compare(ctok, hftok, sst, 512) + _compare(ctok, hftok, sst[:300], 8)
    for max_len in (512, 48, 20):
        n += _compare(ctok, hftok, pairs, max_len)
    assert n == len(sst) + 300 + 3 * len(pairs)
    print(f"GLUE: {n} encodings with identical spans")


def test_snips(ctok: CTokenizer, hftok: HFTokenizer, data_dir: Path) -> None:
    if not (data_dir / "nlu" / "snips").is_dir():
        pytest.skip("nlu/snips not found")
    utts = snips_utterances(data_dir)
    assert len(utts) == 13784
    assert any(not u.isascii() for u in utts)
    n = _compare(ctok, hftok, utts, 64)
    assert n == len(utts)
    print(f"SNIPS: {n} utterances with identical spans")


def test_fuzz(ctok: CTokenizer, hftok: HFTokenizer) -> None:
    rng = random.Random(20261207)
    pools = _pools()
    texts = [_fuzz_text(rng, pools) for _ in range(1500)]
    texts += [bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) for _ in range(300)]
    n = _compare(ctok, hftok, texts, 512) + _compare(ctok, hftok, texts[:500], rng.randint(2, 40))
    pairs = [(texts[i], texts[-1 - i]) for i in range(len(texts) // 2)]
    total = len(texts) + 500
    for max_len in (512, 16, 3):
        n += _compare(ctok, hftok, pairs, max_len)
        total += len(pairs)
    assert n > 0.97 * total
    print(f"fuzz: {n} of {total} encodings with identical spans (the rest have kept non-starters)")


def test_edge_cases(ctok: CTokenizer, hftok: HFTokenizer) -> None:
    for max_len in (512, 10, 2):
        _compare(ctok, hftok, EDGE, max_len)
    _compare(ctok, hftok, [(a, b) for a in EDGE[::3] for b in EDGE[1::5]], max_len=16)


def _pieces(ctok: CTokenizer, text: str | bytes) -> list[tuple[bytes, int | None, bool]]:
    raw = text if isinstance(text, bytes) else text.encode()
    _, _, spans = ctok.encode_with_spans(text)
    return [(raw[s.start:s.end], s.word, s.word_start) for s in spans[1:-1]]


def test_spans_keep_the_original_bytes(ctok: CTokenizer) -> None:
    assert _pieces(ctok, "Café à Zürich!") == [
        ("Café".encode(), 0, True), ("à".encode(), 1, True), ("Zürich".encode(), 2, True), (b"!", 3, True)]
    assert _pieces(ctok, "unaffable ZÜRICH") == [
        (b"una", 0, True), (b"ffa", 0, False), (b"ble", 0, False), ("ZÜRICH".encode(), 1, True)]
    # NFD: "e" + U+0301 is one character of the word; the mark is stripped but stays inside the span.
    assert _pieces(ctok, "Cafe\u0301s") == [("Cafe\u0301s".encode(), 0, True)]
    assert _pieces(ctok, "中文") == [("中".encode(), 0, True), ("文".encode(), 1, True)]
    assert _pieces(ctok, "") == []
    # Ill-formed UTF-8 is dropped: inside a token's span only between two of its characters.
    assert _pieces(ctok, b"ab\xffcd \xff x\xe2\x82") == [(b"ab\xffc", 0, True), (b"d", 0, False), (b"x", 1, True)]


def test_spans_of_special_tokens(ctok: CTokenizer) -> None:
    ids, _, spans = ctok.encode_with_spans("hello[SEP]world", "b")
    assert ids == [101, 7592, 102, 2088, 102, 1038, 102]
    assert spans == [Span(0, 0, None, 0, False), Span(0, 5, 0, 0, True), Span(5, 10, 1, 0, True),
                     Span(10, 15, 2, 0, True), Span(0, 0, None, 0, False), Span(0, 1, 0, 1, True),
                     Span(0, 0, None, 1, False)]


def test_utf8_char_starts() -> None:
    for raw in (b"", b"abc", "é中😀".encode(), b"\xe2\x82\xe2\x82\xac\xff", b"\xed\xa0\x80\xf4\x90"):
        starts = utf8_char_starts(raw)
        assert len(starts) == len(raw.decode("utf-8", "replace")) + 1
        assert starts[-1] == len(raw)
        assert [raw[a:b].decode("utf-8", "replace") for a, b in zip(starts, starts[1:])] == \
            list(raw.decode("utf-8", "replace"))


def test_encode_spans_errors(ctok: CTokenizer) -> None:
    lib = _lib()
    h = ctok._handle.ctypes.data
    ids = np.zeros(8, dtype=np.int32)
    spans = np.zeros(8 * 12, dtype=np.uint8)
    enc = lib.mcubert_tok_encode_spans
    assert enc(h, b"a", 1, None, 0, ids.ctypes.data, None, None, 8) == -errno.EFAULT
    assert enc(h, b"a", 1, None, 0, ids.ctypes.data, None, spans.ctypes.data, 1) == -errno.ENOSPC
    assert enc(h, None, 1, None, 0, ids.ctypes.data, None, spans.ctypes.data, 8) == -errno.EFAULT
    assert enc(None, b"a", 1, None, 0, ids.ctypes.data, None, spans.ctypes.data, 8) == -errno.EFAULT
    assert enc(h, b"a", 1, None, 0, ids.ctypes.data, None, spans.ctypes.data, 8) == 3
    assert ctypes.sizeof(ctypes.c_uint32) * 3 == 12  # struct mcubert_tok_span is 12 bytes

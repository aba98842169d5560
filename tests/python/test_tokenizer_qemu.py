# SPDX-License-Identifier: Apache-2.0
"""The on-device tokenizer on the emulated Cortex-M7, reading the vocabulary stored in the blob:
the same ids as on the host, invalid UTF-8 and pairs of lengths included."""

from __future__ import annotations

import pytest

from conftest import FIXTURES
from mcubert.conversion import checkpoint
from mcubert.formats import blob, vocab
from mcubert.numerics import quantize
from mcubert.slots import Slot, Span, TagSet, decode_slots
from mcubert.targets import qemu
from mcubert.targets.ctokenizer import NO_WORD, WORD_START, CTokenizer

pytestmark = pytest.mark.qemu

TEXTS = ["a charming and funny film .", "The MOVIE was Très bien!!", "naïve café", "水 mixed 漢字 text",
         b"bad \xff\xfe utf-8 \xc3", "x" * 150, "", "   "]


def _blob_with_vocab() -> tuple[bytes, bytes]:
    """The packed small vocabulary and a tiny random blob that carries it."""
    words = len((FIXTURES / "vocab-small.txt").read_text().splitlines())
    ck = checkpoint.random_checkpoint(vocab_size=words, hidden=32, n_layers=1, n_heads=2, ffn=64, max_pos=64)
    packed = vocab.pack_vocab(FIXTURES / "vocab-small.txt")
    return packed, quantize.quantize(ck, quantize.calibrate(ck, [([1, 2, 3], None)]), 32, vocab=packed)


def test_tokenizer_on_m7_matches_host():
    if qemu.missing_prerequisites():
        pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(qemu.missing_prerequisites()))
    packed, data = _blob_with_vocab()
    assert bytes(blob.unpack(data).sections[blob.Sec.VOCAB]) == packed
    host = CTokenizer(packed=packed)
    got = qemu.tokenize(data, TEXTS, target="m7")
    for text, r in zip(TEXTS, got):
        ids = host.encode(text, max_len=4096)[0]
        assert r["rc"] == len(ids) and r["ids"] == ids, text
        assert r["insns"] > 0


def test_spans_and_slots_on_m7_match_host():
    """mcubert_tok_encode_spans and mcubert_slots_decode on the M7: the host's spans and Python's slots."""
    if qemu.missing_prerequisites():
        pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(qemu.missing_prerequisites()))
    packed, data = _blob_with_vocab()
    host = CTokenizer(packed=packed)
    texts = TEXTS + ["Café à Zürich, unbelievably [SEP] done", "book a table for two at O'Brien's tonight"]
    tags = TagSet(["O", "B-a", "I-a", "B-b", "I-b"])
    got = qemu.tokenize(data, texts, target="m7", spans=True)
    for text, r in zip(texts, got):
        ids, _, spans = host.encode_with_spans(text, max_len=4096)
        assert r["ids"] == ids, text
        assert [Span(a, b, None if w == NO_WORD else w, 0, bool(f & WORD_START))
                for a, b, w, f in r["tokspans"]] == spans, text
        want = decode_slots(tags, [(3 * k + 1) % 5 for k in range(len(ids))], spans)
        assert [Slot(s, a, b, t) for s, t, a, b in r["slots"]] == want, text
        assert r["insns"] > 0 and r["stack_peak"] > 0
    print("stack_peak of mcubert_tok_encode_spans on m7:", max(r["stack_peak"] for r in got))

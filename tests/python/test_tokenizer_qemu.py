# SPDX-License-Identifier: Apache-2.0
"""The on-device tokenizer on the emulated Cortex-M7, reading the vocabulary stored in the blob:
the same ids as on the host, invalid UTF-8 and pairs of lengths included."""

from __future__ import annotations

import pytest

from conftest import FIXTURES
from mcubert.conversion import checkpoint
from mcubert.formats import blob, vocab
from mcubert.numerics import quantize
from mcubert.targets import qemu
from mcubert.targets.ctokenizer import CTokenizer

pytestmark = pytest.mark.qemu

TEXTS = ["a charming and funny film .", "The MOVIE was Très bien!!", "naïve café", "水 mixed 漢字 text",
         b"bad \xff\xfe utf-8 \xc3", "x" * 150, "", "   "]


def test_tokenizer_on_m7_matches_host():
    if qemu.missing_prerequisites():
        pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(qemu.missing_prerequisites()))
    words = len((FIXTURES / "vocab-small.txt").read_text().splitlines())
    ck = checkpoint.random_checkpoint(vocab_size=words, hidden=32, n_layers=1, n_heads=2, ffn=64, max_pos=64)
    packed = vocab.pack_vocab(FIXTURES / "vocab-small.txt")
    data = quantize.quantize(ck, quantize.calibrate(ck, [([1, 2, 3], None)]), 32, vocab=packed)
    assert bytes(blob.unpack(data).sections[blob.Sec.VOCAB]) == packed
    host = CTokenizer(packed=packed)
    got = qemu.tokenize(data, TEXTS, target="m7")
    for text, r in zip(TEXTS, got):
        ids = host.encode(text, max_len=4096)[0]
        assert r["rc"] == len(ids) and r["ids"] == ids, text
        assert r["insns"] > 0

# SPDX-License-Identifier: Apache-2.0
"""Facts C and Python share have one source: the packed-vocabulary layout and the CRC-32."""

from __future__ import annotations

import ctypes
import re
import zlib

import numpy as np

from conftest import ROOT
from mcubert.formats import vocab

SUB = ROOT / "subsys" / "mcubert"


def test_tokenizer_c_mirrors_nothing_by_hand():
    """tokenizer.c takes the generated header's constants instead of defining its own copies."""
    text = (SUB / "tokenizer.c").read_text()
    assert '#include "vocab_format.h"' in text
    generated = set(re.findall(r"^#define (\w+)", vocab.render_c_header(), re.M))
    assert generated & set(re.findall(r"^#define (\w+)", text, re.M)) == set()


def test_public_tokenizer_header_agrees_with_vocab_py():
    defines = dict(re.findall(r"^#define (MCUBERT_\w+)\s+(\S+)", (ROOT / "include/mcubert/tokenizer.h").read_text(),
                              re.M))
    want = {"MCUBERT_VOCAB_MAGIC": f'"{vocab.MAGIC.decode()}"', "MCUBERT_VOCAB_VERSION": vocab.VERSION,
            "MCUBERT_VOCAB_HEADER_SIZE": vocab.HEADER_SIZE, "MCUBERT_VOCAB_CRC_START": vocab.CRC_START,
            "MCUBERT_VOCAB_FLAG_UNCASED": vocab.FLAG_UNCASED, "MCUBERT_VOCAB_SPECIAL_SIZE": vocab.SPECIAL_SIZE,
            "MCUBERT_VOCAB_SPECIAL_TEXT_MAX": vocab.SPECIAL_TEXT_MAX,
            "MCUBERT_VOCAB_MAX_ID_BITS": vocab.MAX_ID_BITS, "MCUBERT_TOK_MAX_WORD_CHARS": vocab.MAX_WORD_CHARS}
    for name, value in want.items():
        got = defines[name]
        assert (got == value if isinstance(value, str) else int(got, 0) == value), name


def test_header_offsets_match_the_struct_layout():
    off = vocab.field_offsets()
    assert off["crc32"] == vocab.CRC_OFFSET and off["reserved"] + 4 == vocab.HEADER_SIZE


def test_one_crc32_in_c_equals_zlib():
    """blob.c and tokenizer.c share mcubert_crc32_ieee (crc.c); it gives zlib's values."""
    from mcubert.targets import native

    assert "crc32_ieee(const" not in (SUB / "blob.c").read_text() + (SUB / "tokenizer.c").read_text()
    fn = native.load().mcubert_crc32_ieee
    fn.restype, fn.argtypes = ctypes.c_uint32, [ctypes.c_char_p, ctypes.c_size_t]
    rng = np.random.default_rng(0)
    for n in (0, 1, 3, 16, 1000):
        data = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
        assert fn(data, n) == zlib.crc32(data) & 0xFFFFFFFF

# SPDX-License-Identifier: Apache-2.0
"""The blob layout and arithmetic tables: one source of truth, checked-in C in sync with it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from conftest import SHAPES
from mcubert.formats import blob
from mcubert.numerics import arith


def test_pack_unpack_roundtrip(blob_of):
    _, data = blob_of("odd")
    b = blob.unpack(data)
    assert b.cfg.hidden == 96 and b.cfg.n_layers == 3 and b.cfg.n_labels == 3
    assert blob.pack(b.cfg, {k: bytes(v) for k, v in b.sections.items()}) == data
    assert int(b.header["total_size"]) == len(data)


def test_sections_are_aligned(blob_of):
    import struct

    _, data = blob_of("tiny")
    h = blob.unpack(data).header
    for i in range(int(h["section_count"])):
        _, off, _, _ = struct.unpack_from(blob.SECTION_ENTRY_FORMAT, data, int(h["section_offset"]) + 16 * i)
        assert off % blob.SECTION_ALIGN == 0


@pytest.mark.parametrize("name", sorted(SHAPES))
@pytest.mark.parametrize("seq_len", [0, 1, 7, 128, 129])
def test_arena_size_python_equals_c(blob_of, name, seq_len):
    import errno

    from mcubert.targets.native import load

    _, data = blob_of(name)
    b = blob.unpack(data)
    buf = np.frombuffer(data, np.uint8).copy()
    want = -errno.E2BIG if seq_len > b.cfg.max_seq_len else b.arena_bytes
    assert load().mcubert_arena_size(buf.ctypes.data, len(buf), seq_len) == want
    assert b.arena_bytes == sum(b.plan()["region_bytes"])


def test_config_validation_rejects_bad_shapes():
    good = blob.Config(vocab_size=10, n_layers=1, hidden=8, n_heads=2, ffn=16, max_pos=8, type_vocab=2,
                       n_labels=0, max_seq_len=8, flags=blob.FLAG_POOLER)
    good.validate()
    for change in (dict(hidden=9), dict(n_heads=0), dict(max_seq_len=9), dict(ffn=4097), dict(n_labels=2),
                   dict(flags=blob.FLAG_CLASSIFIER, n_labels=2), dict(flags=0x80), dict(n_layers=0)):
        with pytest.raises(blob.BlobError):
            dataclasses.replace(good, **change).validate()


def test_quantize_multiplier_is_exact_enough():
    for real in (1e-9, 3.1e-5, 0.25, 0.5, 0.999999, 1.0, 1.5, 12345.678):
        m, s = arith.quantize_multiplier(real)
        assert 1 <= s <= 62 and 0 <= m < 2**31
        assert abs(m / 2**s - real) <= real * 2**-29 + 2**-62
    assert arith.quantize_multiplier(0.0) == (0, 31)
    with pytest.raises(ValueError):
        arith.quantize_multiplier(2.0**40)

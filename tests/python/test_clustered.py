# SPDX-License-Identifier: Apache-2.0
"""Clustered low-rank word embeddings in the blob and the runtime: bit-exact, validated, and small."""

from __future__ import annotations

import errno
import struct

import numpy as np
import pytest
from test_bitexact import assert_same, cases
from test_errors import recrc

from conftest import clusterize
from mcubert.conversion import checkpoint
from mcubert.formats import blob
from mcubert.numerics import quantize
from mcubert.numerics.reference import Reference
from mcubert.targets.native import Runtime


@pytest.fixture(scope="module")
def clustered():
    ck = checkpoint.random_checkpoint(vocab_size=3000, hidden=64, n_layers=2, n_heads=2, ffn=128, n_labels=2,
                                      max_pos=64, seed=3)
    ckc = clusterize(ck, n_clusters=5, rank=6)
    rng = np.random.default_rng(0)
    seqs = [(rng.integers(0, 3000, size=n), None) for n in (5, 64)]
    return ck, ckc, quantize.quantize(ckc, quantize.calibrate(ckc, seqs), 64)


def test_clustered_blob_is_bit_exact_and_smaller(clustered):
    ck, ckc, data = clustered
    b = blob.unpack(data)
    assert b.cfg.flags & blob.FLAG_EMB_CLUSTERED and blob.Sec.WORD_EMB not in b.sections
    rt, ref = Runtime(data), Reference(b)
    for ids, types in cases(3000, 64):
        assert_same(rt, ref, b.cfg, ids, types)
    dense = quantize.quantize(ck, quantize.calibrate(ck, [(np.arange(64), None)]), 64)
    assert len(data) < len(dense) - 3000 * 64 // 2


def test_clustered_word_vectors_follow_the_float_ones(clustered):
    _, ckc, data = clustered
    ref = Reference(blob.unpack(data))
    ids = np.arange(0, 3000, 7)
    got = ref._words(ids).astype(np.float64)
    want = ckc.word_embeddings()[ids].astype(np.float64)
    cos = np.sum(got * want, 1) / np.linalg.norm(got, axis=1) / np.linalg.norm(want, axis=1)
    assert cos.min() > 0.99


def _clusters_offset(data: bytes) -> int:
    h = blob.unpack(data).header
    for i in range(int(h["section_count"])):
        sid, off, _, _ = struct.unpack_from(blob.SECTION_ENTRY_FORMAT, data, int(h["section_offset"]) + 16 * i)
        if sid == blob.Sec.EMB_CLUSTERS:
            return off
    raise AssertionError


@pytest.mark.parametrize("field,delta", [("rank", 1), ("shift", 40), ("row_start", 1), ("proj_offset", 4)])
def test_inconsistent_cluster_records_are_einval(clustered, field, delta):
    data = clustered[2]
    bad = bytearray(data)
    off = _clusters_offset(data) + blob.EMB_CLUSTER_SIZE  # second cluster
    fmt = dict((n, c) for n, c, _ in blob.EMB_CLUSTER_FIELDS)
    pos = struct.calcsize("<" + "".join(c for n, c, _ in blob.EMB_CLUSTER_FIELDS[:[n for n, _, _ in
                                                                                    blob.EMB_CLUSTER_FIELDS].index(field)]))
    (v,) = struct.unpack_from("<" + fmt[field], bad, off + pos)
    struct.pack_into("<" + fmt[field], bad, off + pos, v + delta if field != "shift" else delta)
    assert Runtime.init_errno(recrc(bad)) == -errno.EINVAL
    with pytest.raises(blob.BlobError):
        blob.unpack(recrc(bad))

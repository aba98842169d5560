# SPDX-License-Identifier: Apache-2.0
"""Bit-exact equality: numpy integer reference == C runtime on the host (== QEMU Cortex-M7 in test_qemu_*).

Four model shapes (BERT-tiny, BERT-mini, an odd one with a small vocab, one without a classifier),
random weights, sequence lengths 1, a middle one and the maximum, single sentences and pairs.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SHAPES
from mcubert.formats import blob
from mcubert.numerics.reference import Reference
from mcubert.targets.native import Runtime


def cases(vocab: int, max_len: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    out = []
    for n in (1, max_len // 2 + 3, max_len):
        ids = rng.integers(0, vocab, size=n)
        out.append((ids, None))  # single sentence, type ids all zero
        if n >= 3:
            cut = n // 3
            out.append((ids, np.r_[np.zeros(cut, int), np.ones(n - cut, int)]))  # sentence pair
    return out


def assert_same(rt: Runtime, ref: Reference, cfg, ids, types):
    o = ref.run(ids, types)
    rt.infer(ids, types)
    np.testing.assert_array_equal(rt.hidden(len(ids), cfg.hidden), o.hidden)
    if o.pooled is not None:
        np.testing.assert_array_equal(rt.pooled(cfg.hidden), o.pooled)
    if o.logits is not None:
        np.testing.assert_array_equal(rt.logits(cfg.n_labels), o.logits)
    if o.token_logits is not None:
        np.testing.assert_array_equal(rt.token_logits(len(ids), cfg.n_tags), o.token_logits)
        assert [rt.token_label(t) for t in range(len(ids))] == o.tags
    else:
        assert rt.token_logits(len(ids), cfg.n_tags) is None
    return o


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_reference_equals_c(blob_of, name):
    _, data = blob_of(name)
    b = blob.unpack(data)
    rt, ref = Runtime(data), Reference(b)
    for ids, types in cases(b.cfg.vocab_size, b.cfg.max_seq_len):
        assert_same(rt, ref, b.cfg, ids, types)
    assert rt.arena_peak == b.arena_bytes


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reference_equals_c_more_weights(blob_of, seed):
    _, data = blob_of("odd", 64, seed)
    b = blob.unpack(data)
    rt, ref = Runtime(data), Reference(b)
    for ids, types in cases(b.cfg.vocab_size, 64, seed):
        assert_same(rt, ref, b.cfg, ids, types)


def test_bert_tiny_at_512_tokens(blob_of):
    _, data = blob_of("tiny", 512)
    b = blob.unpack(data)
    rt, ref = Runtime(data), Reference(b)
    ids = np.random.default_rng(5).integers(0, b.cfg.vocab_size, size=512)
    assert_same(rt, ref, b.cfg, ids, None)
    assert rt.arena_peak == b.arena_bytes


def test_arena_peak_matches_planner_for_each_length(blob_of):
    from mcubert.planning import planner

    _, data = blob_of("odd")
    b = blob.unpack(data)
    for n in (1, 10, 128):
        rt = Runtime(data, max_len=n)
        rt.infer(np.arange(n) % b.cfg.vocab_size)
        assert rt.arena_peak == planner.runtime_peak(b.cfg, b.plan(), n)


def test_extreme_inputs_stay_exact(blob_of):
    """Saturating inputs: one token repeated, all positions, the largest ids."""
    _, data = blob_of("tiny")
    b = blob.unpack(data)
    rt, ref = Runtime(data), Reference(b)
    for ids in (np.full(128, b.cfg.vocab_size - 1), np.zeros(128, int), np.full(5, 101)):
        assert_same(rt, ref, b.cfg, ids, np.ones(len(ids), int))

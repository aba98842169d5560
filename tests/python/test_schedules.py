# SPDX-License-Identifier: Apache-2.0
"""Schedules and memory plans: every schedule and tile size gives the same bits; the runtime's arena
high-water mark equals the planner's figure exactly; the planner fits budgets or says it cannot."""

from __future__ import annotations

import errno

import numpy as np
import pytest
from test_bitexact import assert_same, cases

from mcubert.formats import blob
from mcubert.formats.blob import Schedule
from mcubert.numerics.reference import Reference
from mcubert.planning import buffers, planner
from mcubert.planning.planner import Tiles
from mcubert.targets.native import Runtime, RuntimeErrno

SWEEP = [(Schedule.NAIVE, Tiles(48, 48, 48))] + \
        [(Schedule.TILED, Tiles(g, t, 48)) for g, t in ((1, 1), (3, 5), (16, 16), (48, 7), (47, 48))] + \
        [(Schedule.LEAN, Tiles(g, t, b)) for g, t, b in ((1, 1, 1), (4, 3, 16), (16, 16, 7), (48, 48, 48),
                                                           (5, 16, 47))]


@pytest.mark.parametrize("name", ["odd", "tiny", "nohead"])
@pytest.mark.parametrize("sched,tiles", SWEEP, ids=[f"{s.name.lower()}-{t.q_group}-{t.ffn_tile}-{t.key_block}"
                                                     for s, t in SWEEP])
def test_every_schedule_and_tile_is_bit_exact(blob_of, name, sched, tiles):
    _, base = blob_of(name)
    data = planner.replan(base, seq_len=48, schedule=sched, tiles=tiles)
    b = blob.unpack(data)
    assert b.header["schedule"] == sched and b.plan()["q_group"] == tiles.q_group
    rt, ref = Runtime(data), Reference(b)
    for ids, types in cases(b.cfg.vocab_size, 48):
        assert_same(rt, ref, b.cfg, ids, types)
    # measured high-water mark == the planner's figure
    assert rt.arena_peak == b.arena_bytes == planner.make_plan(b.cfg, 48, sched, tiles).arena_bytes


def test_runtime_can_pick_any_plan_in_the_blob(blob_of):
    _, data = blob_of("odd", 64)
    b = blob.unpack(data)
    ids = np.arange(64) % b.cfg.vocab_size
    outs = []
    for s in Schedule:
        rt = Runtime(data, schedule=int(s))
        rt.infer(ids)
        outs.append(rt.logits(b.cfg.n_labels))
        assert rt.arena_peak == sum(b.plan(s)["region_bytes"])
    assert all(np.array_equal(outs[0], o) for o in outs)


def test_two_regions_put_hot_buffers_first(blob_of):
    _, base = blob_of("tiny")
    data = planner.replan(base, seq_len=128, schedule=Schedule.TILED, region0=16 * 1024)
    b = blob.unpack(data)
    plan = b.plan()
    assert 0 < plan["region_bytes"][0] <= 16 * 1024
    in_fast = {planner.Buf(i) for i, off in enumerate(plan["offsets"]) if off != blob.PLAN_NONE and off >> 31 == 0}
    assert planner.Buf.S in in_fast and planner.Buf.H not in in_fast
    rt, ref = Runtime(data, regions=tuple(plan["region_bytes"])), Reference(b)
    for ids, types in cases(b.cfg.vocab_size, 128):
        assert_same(rt, ref, b.cfg, ids, types)
    assert rt.arena_peak == sum(plan["region_bytes"])
    with pytest.raises(RuntimeErrno) as e:
        Runtime(data, regions=(plan["region_bytes"][0] - 4, plan["region_bytes"][1]))
    assert e.value.code == -errno.ENOMEM
    # one arena: region 1 follows region 0
    rt1 = Runtime(data)
    rt1.infer([1, 2, 3])
    rt.infer([1, 2, 3])
    assert np.array_equal(rt1.logits(2), rt.logits(2))


def test_planner_fits_budgets_or_says_why():
    cfg = blob.Config(vocab_size=30522, n_layers=2, hidden=128, n_heads=2, ffn=512, max_pos=1024, type_vocab=2,
                      n_labels=2, max_seq_len=1024, flags=3)
    tiled = planner.choose(cfg, 512, budget=200 * 1024)
    assert tiled.arena_bytes <= 200 * 1024
    lean = planner.choose(cfg, 1024, budget=300 * 1024)
    assert lean.schedule == Schedule.LEAN and lean.arena_bytes <= 300 * 1024
    assert planner.choose(cfg, 128).schedule == Schedule.TILED  # cheapest without a budget
    with pytest.raises(planner.NoPlanFits, match="no schedule fits"):
        planner.choose(cfg, 1024, budget=100 * 1024)
    naive = planner.make_plan(cfg, 128, Schedule.NAIVE, planner.default_tiles(cfg, 128, Schedule.NAIVE))
    assert naive.arena_bytes >= 4 * planner.choose(cfg, 128, schedule=Schedule.TILED).arena_bytes


def test_first_fit_never_overlaps_live_buffers():
    cfg = blob.Config(vocab_size=100, n_layers=1, hidden=96, n_heads=3, ffn=200, max_pos=256, type_vocab=2,
                      n_labels=3, max_seq_len=200, flags=3)
    for s in Schedule:
        for t in list(planner.candidate_tiles(cfg, 200, s))[:40]:
            p = planner.make_plan(cfg, 200, s, t)
            assert not buffers.overlapping_live_buffers(s, p.placement()), (s, t)

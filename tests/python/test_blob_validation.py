# SPDX-License-Identifier: Apache-2.0
"""A blob with a valid CRC and structure but a value outside its bound is refused at init (-EINVAL).

Each bounded field (numerics/bounds.py) is set just outside its range, the CRC recomputed: the host runtime
says -EINVAL, the reference and blob checks raise BoundsError. Just inside the range the blob is accepted and
runs bit-exact. The crafted blobs of issue 14 too, and a few on QEMU (Cortex-M7).
"""

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
from mcubert.formats.blob import LayerSec, Sec, layer_sec
from mcubert.numerics import bounds, quantize
from mcubert.numerics.reference import Reference
from mcubert.planning import planner
from mcubert.targets.native import Runtime

L1 = 1  # the last layer of the "odd" shape is 2; layer 1 is a middle one

# bound name -> (section id, byte offset of the field in an element, element size, struct code)
FIELDS: dict[str, tuple[int, int, int, str]] = {
    "RQ_BIAS": (layer_sec(L1, LayerSec.FFN_OUT_RQ), 0, 12, "i"),
    "RQ_MULT": (layer_sec(L1, LayerSec.Q_RQ), 4, 12, "i"),
    "RQ_SHIFT": (layer_sec(L1, LayerSec.O_RQ), 8, 12, "i"),
    "SCORE_MULT": (layer_sec(L1, LayerSec.PARAMS), 0, 16, "i"),
    "SCORE_SHIFT": (layer_sec(L1, LayerSec.PARAMS), 4, 16, "i"),
    "CTX_MULT": (layer_sec(L1, LayerSec.PARAMS), 8, 16, "i"),
    "CTX_SHIFT": (layer_sec(L1, LayerSec.PARAMS), 12, 16, "i"),
    "EMB_MULT": (Sec.MODEL_PARAMS, 0, 8, "i"),
    "RES_MULT": (layer_sec(L1, LayerSec.FFN_RES_MULT), 0, 4, "i"),
    "LN_GAMMA": (layer_sec(L1, LayerSec.LN_ATTN_GAMMA), 0, 4, "i"),
    "LN_BETA": (Sec.EMB_LN_BETA, 0, 4, "i"),
    "ACT_LUT": (layer_sec(L1, LayerSec.GELU_LUT), 0, 2, "h"),
}
TYPE_RANGE = {"i": (-(2**31), 2**31 - 1), "h": (-(2**15), 2**15 - 1), "H": (0, 2**16 - 1)}

# issue 14's crafted blobs: (section, offset, element size, code, value)
ISSUE = {
    "requant shift 0": (layer_sec(0, LayerSec.Q_RQ), 8, 12, "i", 0),
    "requant shift 63": (layer_sec(0, LayerSec.FFN_IN_RQ), 8, 12, "i", 63),
    "requant shift -5": (Sec.CLS_RQ, 8, 12, "i", -5),
    "requant mult -2^31": (layer_sec(0, LayerSec.V_RQ), 4, 12, "i", -(2**31)),
    "pooler mult -2^31": (Sec.POOLER_RQ, 4, 12, "i", -(2**31)),
    "score mult -2^31": (layer_sec(0, LayerSec.PARAMS), 0, 16, "i", -(2**31)),
    "context shift 100": (layer_sec(0, LayerSec.PARAMS), 12, 16, "i", 100),
    "position mult 2^31-1": (Sec.MODEL_PARAMS, 0, 8, "i", 2**31 - 1),
    "type mult 2^31-1": (Sec.MODEL_PARAMS, 4, 8, "i", 2**31 - 1),
    "residual mult 2^31-1": (layer_sec(0, LayerSec.ATTN_RES_MULT), 0, 4, "i", 2**31 - 1),
    "gamma 2^31-1": (Sec.EMB_LN_GAMMA, 0, 4, "i", 2**31 - 1),
}


def section_place(data: bytes, sid: int) -> tuple[int, int]:
    """(offset, size) of section `sid`."""
    h = blob.unpack(data).header
    for i in range(int(h["section_count"])):
        s, off, size, _ = struct.unpack_from(blob.SECTION_ENTRY_FORMAT, data,
                                             int(h["section_offset"]) + blob.SECTION_ENTRY_SIZE * i)
        if s == sid:
            return off, size
    raise KeyError(sid)


def with_value(data: bytes, sid: int, off: int, size: int, code: str, value: int, index: int = 0) -> bytes:
    """The blob with one field of element `index` of section `sid` set to `value`, its CRC recomputed."""
    bad = bytearray(data)
    start, n = section_place(data, sid)
    assert (index + 1) * size <= n
    struct.pack_into("<" + code, bad, start + index * size + off, value)
    return recrc(bad)


def at_limits(data: bytes, name: str) -> list[bytes]:
    """The blob with the field of bound `name` at its lower and its upper limit (element 1 where there is one)."""
    sid, off, size, code = FIELDS[name]
    index = min(1, section_place(data, sid)[1] // size - 1)
    bd = bounds.BY_NAME[name]
    return [with_value(data, sid, off, size, code, v, index) for v in (bd.lo, bd.hi)]


def refused(data: bytes) -> None:
    assert Runtime.init_errno(data) == -errno.EINVAL
    with pytest.raises(bounds.BoundsError):
        Reference(blob.unpack(data))


@pytest.fixture(scope="module")
def good(blob_of) -> bytes:
    return blob_of("odd", 32)[1]


def out_of_range(name: str) -> list[int]:
    bd, code = bounds.BY_NAME[name], FIELDS[name][3]
    lo, hi = TYPE_RANGE[code]
    return [v for v in (bd.lo - 1, bd.hi + 1, lo, hi) if lo <= v <= hi and not bd.lo <= v <= bd.hi]


def test_the_table_covers_every_field():
    assert set(FIELDS) | {"CLUSTER_RANK", "CLUSTER_SHIFT"} == {b.name for b in bounds.BOUNDS}


def test_good_blob_is_within_bounds(good):
    bounds.check(blob.unpack(good))
    assert Runtime.init_errno(good) == 0


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_each_field_out_of_range_is_einval(good, name):
    sid, off, size, code = FIELDS[name]
    values = out_of_range(name)
    assert values
    for v in values:
        refused(with_value(good, sid, off, size, code, v))


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_each_field_at_its_limits_is_accepted_and_bit_exact(good, name):
    for data in at_limits(good, name):
        b = blob.unpack(data)
        rt, ref = Runtime(data), Reference(b)
        for ids, types in cases(b.cfg.vocab_size, b.cfg.max_seq_len)[-2:]:
            assert_same(rt, ref, b.cfg, ids, types)


def anywhere_in_bounds(data: bytes, seed: int, extremes: bool) -> bytes:
    """The blob with every bounded value redrawn inside its bound: at either limit, or uniformly."""
    rng = np.random.default_rng(seed)
    out = bytearray(data)
    for p in bounds.places(blob.unpack(data).cfg):
        bd = bounds.BY_NAME[p.bound]
        off, size = section_place(data, p.sid)
        a = np.frombuffer(out, p.dtype, size // p.dtype.itemsize, off).copy()
        n = len(a)
        v = rng.choice([bd.lo, bd.hi], n) if extremes else rng.integers(bd.lo, bd.hi, n, endpoint=True)
        if p.field is None:
            a[:] = v
        else:
            a[p.field] = v
        out[off:off + size] = a.tobytes()
    return recrc(out)


@pytest.mark.parametrize("seed,extremes", [(0, True), (1, True), (2, False), (3, False)])
def test_any_values_within_bounds_run_bit_exact(good, seed, extremes):
    """Every bounded value redrawn within its bound: accepted, and the runtime computes the reference's bits
    (under MCUBERT_SANITIZE=1 also: without an undefined operation)."""
    data = anywhere_in_bounds(good, seed, extremes)
    b = blob.unpack(data)
    rt, ref = Runtime(data), Reference(b)
    for ids, types in cases(b.cfg.vocab_size, b.cfg.max_seq_len, seed):
        assert_same(rt, ref, b.cfg, ids, types)


@pytest.mark.parametrize("case", sorted(ISSUE))
def test_issue_14_crafted_blobs_are_einval(good, case):
    refused(with_value(good, *ISSUE[case]))


def test_the_converter_refuses_what_the_runtime_would(monkeypatch):
    ck = checkpoint.random_checkpoint(vocab_size=100, hidden=32, n_layers=1, n_heads=2, ffn=64, n_labels=2,
                                      max_pos=16, seed=0)
    seqs = [(np.arange(16), None)]
    absmax = quantize.calibrate(ck, seqs)
    monkeypatch.setattr(bounds, "BY_NAME", {**bounds.BY_NAME, "RQ_MULT": bounds.Bound("RQ_MULT", 0, 1, "", "")})
    with pytest.raises(quantize.QuantError, match="the runtime would refuse this blob: .*mult"):
        quantize.quantize(ck, absmax, 16)


@pytest.fixture(scope="module")
def clustered() -> bytes:
    ck = checkpoint.random_checkpoint(vocab_size=500, hidden=32, n_layers=1, n_heads=2, ffn=64, n_labels=2,
                                      max_pos=32, seed=4)
    ckc = clusterize(ck, n_clusters=3, rank=4)
    return quantize.quantize(ckc, quantize.calibrate(ckc, [(np.arange(32), None)]), 32)


@pytest.mark.parametrize("field,off,bad,ok", [("rank", 12, 0, None), ("shift", 14, 31, 30)])
def test_cluster_record_bounds(clustered, field, off, bad, ok):
    assert Runtime.init_errno(with_value(clustered, Sec.EMB_CLUSTERS, off, 16, "H", bad)) == -errno.EINVAL
    if ok is not None:
        data = with_value(clustered, Sec.EMB_CLUSTERS, off, 16, "H", ok)
        b = blob.unpack(data)
        rt, ref = Runtime(data), Reference(b)
        for ids, types in cases(b.cfg.vocab_size, b.cfg.max_seq_len)[-2:]:
            assert_same(rt, ref, b.cfg, ids, types)


@pytest.mark.qemu
def test_crafted_blobs_are_einval_on_m7(good):
    from mcubert.targets import qemu

    missing = qemu.missing_prerequisites()
    if missing:
        pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(missing))
    for case in ("requant shift 63", "score mult -2^31", "gamma 2^31-1"):
        assert qemu.init_errno(with_value(good, *ISSUE[case]), target="m7") == -errno.EINVAL
    sid, off, size, code = FIELDS["ACT_LUT"]
    assert qemu.init_errno(with_value(good, sid, off, size, code, 2048), target="m7") == -errno.EINVAL


@pytest.mark.qemu
@pytest.mark.parametrize("name", ["RQ_BIAS", "RQ_MULT", "RQ_SHIFT", "SCORE_SHIFT", "CTX_SHIFT", "LN_GAMMA"])
def test_limits_are_bit_exact_on_m7(good, name):
    """The DSP kernels' requantisation and LayerNorm forms at the limits give the reference's bits."""
    from mcubert.targets import qemu

    if qemu.missing_prerequisites():
        pytest.skip("QEMU/Arm toolchain missing")
    for data in at_limits(good, name):
        b = blob.unpack(data)
        ref = Reference(b)
        seqs = cases(b.cfg.vocab_size, b.cfg.max_seq_len)[-1:]
        for (ids, types), r in zip(seqs, qemu.run(data, seqs, target="m7", dump="hidden")):
            o = ref.run(ids, types)
            assert r["rc"] == 0
            np.testing.assert_array_equal(r["hidden"], o.hidden)
            assert r["logits"] == o.logits.tolist()


@pytest.mark.qemu
@pytest.mark.parametrize("seed,extremes", [(0, True), (2, False)])
def test_any_values_within_bounds_are_bit_exact_on_m7(good, seed, extremes):
    """The same on the Cortex-M7's DSP kernels (their 32-bit requantisation and LayerNorm forms)."""
    from mcubert.targets import qemu

    if qemu.missing_prerequisites():
        pytest.skip("QEMU/Arm toolchain missing")
    data = anywhere_in_bounds(good, seed, extremes)
    b = blob.unpack(data)
    ref = Reference(b)
    seqs = cases(b.cfg.vocab_size, b.cfg.max_seq_len, seed)
    for (ids, types), r in zip(seqs, qemu.run(data, seqs, target="m7", dump="hidden")):
        o = ref.run(ids, types)
        assert r["rc"] == 0
        np.testing.assert_array_equal(r["hidden"], o.hidden)
        assert r["logits"] == o.logits.tolist()


def test_token_classifier_requantisation_is_bounded(blob_of):
    """The token classifier (tag and joint heads) is checked like every other linear layer."""
    joint = blob_of("joint")[1]
    size = blob.REQUANT_DTYPE.itemsize
    shift_off = blob.REQUANT_DTYPE.fields["shift"][1]
    code = {1: "b", 2: "h", 4: "i"}[blob.REQUANT_DTYPE.fields["shift"][0].itemsize]
    refused(with_value(joint, int(blob.Sec.TOK_RQ), shift_off, size, code, 0))
    assert Runtime.init_errno(with_value(joint, int(blob.Sec.TOK_RQ), shift_off, size, code, 40)) == 0


def with_offset(data: bytes, sched: blob.Schedule, buf: blob.Buf, offset: int) -> bytes:
    """The blob with buffer `buf`'s offset in the plan of `sched` replaced (region bit included), CRC recomputed."""
    start, _ = section_place(data, int(blob.PLAN_SECTIONS[sched]))
    field = struct.calcsize("<" + "".join(c for n, c, _ in blob.PLAN_FIELDS if n != "offsets"))
    bad = bytearray(data)
    struct.pack_into("<I", bad, start + field + 4 * int(buf), offset)
    return recrc(bad)


def live_pairs(data: bytes, sched: blob.Schedule) -> list[tuple[blob.Buf, blob.Buf, int]]:
    """Pairs (a, b) of buffers live at a common step where b moved onto a's offset still fits its region."""
    from mcubert.planning import buffers

    b_ = blob.unpack(data)
    plan, cfg = blob.unpack_plan(b_.sections[int(blob.PLAN_SECTIONS[sched])]), b_.cfg
    tiles = planner.Tiles(plan["q_group"], plan["ffn_tile"], plan["key_block"])
    sizes = buffers.buffer_sizes(cfg, plan["seq_len"], sched, tiles)
    pairs = []
    for a, others in sorted(buffers.conflicts(sched).items()):
        for b in sorted(others):
            off = plan["offsets"][int(a)]
            region = off >> planner.REGION_BIT
            room = plan["region_bytes"][region] - (off & ~(1 << planner.REGION_BIT))
            if a < b and sizes[a] and sizes[b] and sizes[b] <= room:
                pairs.append((a, b, off))
    return pairs


@pytest.mark.parametrize("sched", list(blob.Schedule), ids=lambda s: s.name.lower())
def test_plans_with_live_buffers_overlapping_are_refused(good, sched):
    """A plan that puts two buffers live at the same step on common bytes (how fuzz_blob_struct made the FFN's
    residual sums overwrite themselves through the hidden state) is refused at init: -EINVAL for the blob's
    default schedule, -ENOENT (no usable plan) for another; the planner's own sharing is accepted."""
    header_sched = blob.Schedule(blob.unpack(good).header["schedule"])
    pairs = live_pairs(good, sched)
    assert pairs
    for a, b, off in pairs:
        bad = with_offset(good, sched, b, off)
        want = -errno.EINVAL if sched == header_sched else -errno.ENOENT
        assert Runtime.init_errno(bad, schedule=int(sched)) == want, (a, b)
    assert Runtime.init_errno(good, schedule=int(sched)) == 0

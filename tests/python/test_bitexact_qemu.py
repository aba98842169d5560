# SPDX-License-Identifier: Apache-2.0
"""Bit-exact equality on emulated Cortex-M: numpy reference == C on host == C on QEMU.

mps2-an500 (Cortex-M7: the DSP kernels) and mps3-an547 (Cortex-M55: the MVE kernels) for every model shape
of test_bitexact.py (every head), mps2-an385 (M3) for every head beyond plain classification; mps2-an385 (M3) and
mps2-an521 (M33 without DSP: the portable kernels), mps2-an505 (M33 with DSP) and the M7 with the DSP
kernels switched off (m7p) for one. Skips (saying why) where arm-none-eabi-gcc or qemu-system-arm is missing.
"""

from __future__ import annotations

import errno

import numpy as np
import pytest
from test_bitexact import cases

from conftest import SHAPES
from mcubert.formats import blob
from mcubert.numerics.reference import Reference
from mcubert.planning import planner
from mcubert.targets import qemu
from mcubert.targets.native import Runtime

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module", autouse=True)
def toolchain():
    missing = qemu.missing_prerequisites()
    if missing:
        pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(missing))


def check(data: bytes, target: str, seqs) -> None:
    b = blob.unpack(data)
    ref, rt = Reference(b), Runtime(data)
    got = qemu.run(data, [(ids, types) for ids, types in seqs], target=target, dump="hidden")
    for (ids, types), r in zip(seqs, got):
        o = ref.run(ids, types)
        rt.infer(ids, types)
        assert r["rc"] == 0
        np.testing.assert_array_equal(r["hidden"], o.hidden)
        np.testing.assert_array_equal(r["hidden"], rt.hidden(len(ids), b.cfg.hidden))
        if o.pooled is not None:
            np.testing.assert_array_equal(r["pooled"], o.pooled)
        if o.logits is not None:
            assert r["logits"] == o.logits.tolist() and r["label"] == o.label
        if o.token_logits is not None:
            np.testing.assert_array_equal(r["token_logits"], o.token_logits)
            assert r["tags"] == o.tags
        else:
            assert r["token_logits"] is None and r["tokens_err"] == "ENOENT"
        assert r["arena_peak"] >= planner.runtime_peak(b.cfg, b.plan(), len(ids))


@pytest.mark.parametrize("target", ["m7", "m55"])
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_equals_reference(blob_of, name, target):
    _, data = blob_of(name)
    cfg = blob.unpack(data).cfg
    check(data, target, cases(cfg.vocab_size, cfg.max_seq_len))


@pytest.mark.parametrize("target", ["m3", "m33", "m33dsp", "m7p", "m55", "m55d"])
def test_other_cores_equal_reference(blob_of, target):
    _, data = blob_of("odd")
    cfg = blob.unpack(data).cfg
    check(data, target, cases(cfg.vocab_size, cfg.max_seq_len))


@pytest.mark.parametrize("name", ["pair", "regress", "tag", "joint"])
def test_m3_every_head_equals_reference(blob_of, name):
    _, data = blob_of(name)
    cfg = blob.unpack(data).cfg
    check(data, "m3", cases(cfg.vocab_size, cfg.max_seq_len))


def test_errors_on_target_match_host(blob_of):
    _, data = blob_of("odd")
    bad = bytearray(data)
    bad[300] ^= 4
    assert qemu.init_errno(bytes(bad)) == Runtime.init_errno(bytes(bad)) == -errno.EBADMSG
    assert qemu.init_errno(b"XCUB" + data[4:]) == -errno.ENOEXEC
    assert qemu.init_errno(data[:-16]) == -errno.ENODATA
    r = qemu.run(data, [([0, 99999], None), (list(range(129)), None)], target="m7")
    assert [x["rc"] for x in r] == [-errno.ERANGE, -errno.E2BIG]


def test_every_schedule_on_the_dsp_path(blob_of):
    """Naive, tiled and lean schedules with tiles that split the DSP kernels' 4-row blocks and
    column groups (query groups of 1, 3, 5 rows; key blocks of 7 and 47 keys) on the M7 and on the
    M33 with DSP and on the M55 (MVE): bit-exact with the reference."""
    from mcubert.formats.blob import Schedule
    from mcubert.planning import planner
    from mcubert.planning.planner import Tiles

    _, base = blob_of("odd")
    for sched, tiles in ((Schedule.NAIVE, Tiles(48, 48, 48)), (Schedule.TILED, Tiles(3, 5, 48)),
                         (Schedule.TILED, Tiles(16, 16, 48)), (Schedule.LEAN, Tiles(5, 16, 7)),
                         (Schedule.LEAN, Tiles(1, 1, 47))):
        data = planner.replan(base, seq_len=48, schedule=sched, tiles=tiles)
        cfg = blob.unpack(data).cfg
        for target in ("m7", "m33dsp", "m55"):
            check(data, target, cases(cfg.vocab_size, 48))

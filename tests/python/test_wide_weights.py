# SPDX-License-Identifier: Apache-2.0
"""int16 pre-extended encoder weights (FLAG_WEIGHTS_S16, formats/wide_weights.py): the same bits as int8.

A widened blob gives the same hidden states, logits and tags as its int8 original in the numpy reference, in
the host C runtime (the portable path) and on the emulated Cortex-M7 (the DSP kernel's int16 chain, every
schedule and awkward tiles) and Cortex-M3 (portable); the Helium build refuses it (-ENOTSUP); a weight
outside the int8 range is refused at init (-EINVAL) and by `unpack`.
"""

from __future__ import annotations

import errno
import struct
import zlib

import numpy as np
import pytest
from test_bitexact import assert_same, cases

from mcubert.formats import blob, wide_weights
from mcubert.numerics.reference import Reference
from mcubert.targets.native import Runtime


def test_pair_order_round_trips():
    w = np.arange(-64, 64, dtype=np.int8).reshape(4, 32)
    w16 = wide_weights.to_pairs(w)
    assert w16.dtype == np.dtype("<i2")
    assert w16[0, :8].tolist() == [-64, -62, -63, -61, -60, -58, -59, -57]
    np.testing.assert_array_equal(wide_weights.from_pairs(w16), w)


@pytest.mark.parametrize("name", ["odd", "joint", "tag"])
def test_wide_blob_runs_the_same(blob_of, name):
    _, data = blob_of(name)
    wide = wide_weights.widen(data)
    b, bw = blob.unpack(data), blob.unpack(wide)
    assert bw.cfg.flags & blob.FLAG_WEIGHTS_S16
    assert len(wide) - len(data) >= wide_weights.wide_bytes(b.cfg)
    assert wide_weights.widen(wide) == wide
    ref, ref_w, rt = Reference(b), Reference(bw), Runtime(wide)
    for ids, types in cases(b.cfg.vocab_size, b.cfg.max_seq_len):
        o, ow = ref.run(ids, types), ref_w.run(ids, types)
        np.testing.assert_array_equal(o.hidden, ow.hidden)
        assert_same(rt, ref_w, bw.cfg, ids, types)


def _reseal(data: bytearray) -> bytes:
    crc = zlib.crc32(bytes(data[blob.CRC_START:])) & 0xFFFFFFFF
    struct.pack_into("<I", data, blob.CRC_OFFSET, crc)
    return bytes(data)


def _weight_offset(wide: bytes) -> int:
    """Byte offset of the first int16 weight (layer 0's query weights)."""
    h = dict(zip([n for n, _, _, _ in blob.HEADER_FIELDS], struct.unpack_from(blob.HEADER_FORMAT, wide)))
    sid = blob.layer_sec(0, blob.LayerSec.Q_W)
    for i in range(int(h["section_count"])):
        s, off, _, _ = struct.unpack_from(blob.SECTION_ENTRY_FORMAT, wide, int(h["section_offset"]) + 16 * i)
        if s == sid:
            return off
    raise AssertionError("no Q_W section")


def test_weight_outside_int8_is_refused(blob_of):
    _, data = blob_of("odd")
    bad = bytearray(wide_weights.widen(data))
    struct.pack_into("<h", bad, _weight_offset(bytes(bad)) + 6, 200)
    bad = _reseal(bad)
    assert Runtime.init_errno(bad) == -errno.EINVAL
    with pytest.raises(blob.BlobError, match="outside the int8 range"):
        blob.unpack(bad)


@pytest.mark.qemu
class TestOnTargets:
    @pytest.fixture(scope="class", autouse=True)
    def toolchain(self):
        from mcubert.targets import qemu

        missing = qemu.missing_prerequisites()
        if missing:
            pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(missing))

    @pytest.mark.parametrize("name,target", [("odd", "m7"), ("joint", "m7"), ("tiny", "m7"), ("odd", "m3"),
                                             ("odd", "m33dsp")])
    def test_equals_reference(self, blob_of, name, target):
        from test_bitexact_qemu import check

        _, data = blob_of(name)
        wide = wide_weights.widen(data)
        cfg = blob.unpack(wide).cfg
        check(wide, target, cases(cfg.vocab_size, min(cfg.max_seq_len, 48)))

    def test_every_schedule_on_the_dsp_path(self, blob_of):
        from test_bitexact_qemu import check

        from mcubert.planning import planner
        from mcubert.planning.planner import Tiles

        _, base = blob_of("odd")
        base = wide_weights.widen(base)
        for sched, tiles in ((blob.Schedule.NAIVE, Tiles(48, 48, 48)), (blob.Schedule.TILED, Tiles(3, 5, 48)),
                             (blob.Schedule.LEAN, Tiles(5, 16, 7)), (blob.Schedule.LEAN, Tiles(1, 1, 47))):
            data = planner.replan(base, seq_len=48, schedule=sched, tiles=tiles)
            assert blob.unpack(data).cfg.flags & blob.FLAG_WEIGHTS_S16
            check(data, "m7", cases(blob.unpack(data).cfg.vocab_size, 48))

    def test_helium_refuses(self, blob_of):
        from mcubert.targets import qemu

        _, data = blob_of("odd")
        assert qemu.init_errno(wide_weights.widen(data), target="m55") == -errno.ENOTSUP

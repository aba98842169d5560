# SPDX-License-Identifier: Apache-2.0
"""The bare-metal QEMU harness: exact instruction counts, bit-exact results, errno mapping, limits.

Tests that need arm-none-eabi-gcc, newlib, qemu-system-arm (and, for counting,
qemu-plugin.h from the qemu source package) skip with the reason when those
are missing. The model tests compare the target against the same C runtime
built for the host (mcubert.targets.native), so they hold whatever the runtime does.
"""

from __future__ import annotations

import errno
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import mcubert  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from mcubert.targets import qemu  # noqa: E402
from mcubert.targets.qemu import plugin as qemu_plugin  # noqa: E402

TARGETS = list(qemu.TARGETS)
HIDDEN = 64


# ---------------------------------------------------------------- no toolchain needed

def test_missing_toolchain_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(qemu.ToolchainMissing) as e:
        qemu.check_prerequisites()
    msg = str(e.value)
    assert "\n" not in msg
    assert "arm-none-eabi-gcc" in msg and "qemu-system-arm" in msg and "apt-get install" in msg


def test_input_record_layout() -> None:
    rec = qemu.encode_input([[5, 6, 7], ([1, 2], [0, 1]), []], blob_len=1234, flags=qemu.FLAG_LOGITS,
                            max_len=64, arena_len=4096)
    magic, ver, mode, flags, blob_len, total, n_seq, max_len, _, arena_len = struct.unpack_from(
        "<IHHIIIIHHI", rec)
    assert (magic, ver, mode, flags, blob_len, n_seq, max_len, arena_len) == (
        qemu.INPUT_MAGIC, 1, qemu.MODE_RUN, 1, 1234, 3, 64, 4096)
    assert total == len(rec) and total % 4 == 0
    assert struct.unpack_from("<I", rec, len(rec) - 4)[0] == qemu.INPUT_END_MAGIC
    # Sequence 0: no types; sequence 1: ids then types then padding; sequence 2: empty.
    assert struct.unpack_from("<HH3i", rec, 32) == (3, 0, 5, 6, 7)
    assert struct.unpack_from("<HH2i2B", rec, 48) == (2, 1, 1, 2, 0, 1)
    assert struct.unpack_from("<HH", rec, 64) == (0, 0)
    assert len(rec) == 64 + 4 + 4


def test_sequence_forms() -> None:
    ids, types = qemu.split_sequence((101, 102))  # a tuple of ids, not a pair
    assert ids.tolist() == [101, 102] and types is None
    ids, types = qemu.split_sequence(([101, 102], None))
    assert ids.tolist() == [101, 102] and types is None
    ids, types = qemu.split_sequence((np.array([3, 4]), np.array([0, 1])))
    assert types is not None and types.tolist() == [0, 1]
    with pytest.raises(ValueError):
        qemu.split_sequence(([1, 2, 3], [0, 1]))
    with pytest.raises(ValueError):
        qemu.split_sequence([2**31])


def test_patch_extraction() -> None:
    diff = ("diff --git a/x/a.c b/x/a.c\n--- a/x/a.c\n+++ b/x/a.c\n@@ -1 +1 @@\n-a\n+b\n"
            "diff --git a/include/qemu/qemu-plugin.h b/include/qemu/qemu-plugin.h\n"
            "--- a/include/qemu/qemu-plugin.h\n+++ b/include/qemu/qemu-plugin.h\n@@ -1 +1 @@\n-x\n+y\n")
    part = qemu_plugin.extract_patch_for(diff, "include/qemu/qemu-plugin.h")
    assert part is not None and part.startswith("diff --git a/include/qemu/qemu-plugin.h") and "x/a.c" not in part
    assert qemu_plugin.extract_patch_for(diff, "include/qemu/osdep.h") is None


# ---------------------------------------------------------------- toolchain fixtures

@pytest.fixture(scope="module")
def toolchain() -> None:
    missing = qemu.missing_prerequisites()
    if missing:
        pytest.skip("QEMU harness prerequisites missing: " + "; ".join(missing))


@pytest.fixture(scope="module")
def plugin(toolchain: None) -> Path:
    try:
        return qemu.build_plugin()
    except qemu.PluginHeaderUnavailable as e:
        pytest.skip(f"no qemu-plugin.h: {e}")


def _make_blob(n_labels: int = 2, pooler: bool = True, seed: int = 3) -> bytes:
    pytest.importorskip("torch")
    from mcubert.conversion import checkpoint
    from mcubert.numerics import quantize

    ck = checkpoint.random_checkpoint(vocab_size=2000, hidden=HIDDEN, n_layers=2, n_heads=2, ffn=128, max_pos=64,
                                      n_labels=n_labels, pooler=pooler, seed=seed)
    rng = np.random.default_rng(seed)
    calib = [(rng.integers(5, 2000, size=16).tolist(), None) for _ in range(4)]
    return quantize.quantize(ck, quantize.calibrate(ck, calib), 32)


@pytest.fixture(scope="module")
def blob(toolchain: None) -> bytes:
    return _make_blob()


@pytest.fixture(scope="module")
def native():
    from mcubert.targets import native as native_mod

    try:
        native_mod.build_host_library()
    except RuntimeError as e:
        pytest.skip(f"host build of the runtime failed: {e}")
    return native_mod


def _seqs() -> list:
    rng = np.random.default_rng(7)
    a = rng.integers(5, 2000, size=9).tolist()
    b = rng.integers(5, 2000, size=32).tolist()
    return [(a, None), (b, ([0] * 16 + [1] * 16)), ([101], None)]


# ---------------------------------------------------------------- the counter

@pytest.mark.qemu
@pytest.mark.parametrize("target", TARGETS)
def test_counter_is_exact(plugin: Path, target: str) -> None:
    for loops in (1, 12345):
        assert qemu.selftest(loops, target) == 2 * loops
    assert qemu.selftest(777, target, count_mode="insn") == 2 * 777


@pytest.mark.qemu
def test_calibration_interval(plugin: Path) -> None:
    res = qemu.run_harness(b"", (), mode=qemu.MODE_SELFTEST, n_seq=10)
    assert res.calibration == 2  # bench_start's return, the call of bench_stop
    assert res.intervals[1] == 2 * 10 + 2


# ---------------------------------------------------------------- the real runtime

@pytest.mark.qemu
@pytest.mark.parametrize("target", TARGETS)
def test_bit_exact_with_host_runtime(plugin: Path, blob: bytes, native, target: str) -> None:
    seqs = _seqs()
    res = qemu.run(blob, seqs, target=target, dump="hidden")
    rt = native.Runtime(blob)
    d = HIDDEN
    for (ids, types), r in zip(seqs, res):
        rt.infer(ids, types)
        assert r["rc"] == 0 and r["err"] is None
        assert r["logits"] == rt.logits(2).tolist()
        assert r["label"] == int(np.argmax(rt.logits(2)))
        np.testing.assert_array_equal(r["pooled"], rt.pooled(d))
        np.testing.assert_array_equal(r["hidden"], rt.hidden(len(ids), d))
        assert r["arena_peak"] == rt.arena_peak
        assert r["insns"] > 0 and r["insns_raw"] == r["insns"] + 2
        assert 0 < r["stack_peak"] < 64 * 1024
        assert r["static_ram"] > 0


@pytest.mark.qemu
def test_counts_are_deterministic(plugin: Path, blob: bytes) -> None:
    seqs = _seqs()
    seqs += [seqs[0], seqs[0]]
    a = qemu.run(blob, seqs)
    b = qemu.run(blob, seqs, dump="pooled")
    assert [r["insns"] for r in a] == [r["insns"] for r in b]
    # The first call may differ by a few instructions (the runtime's own
    # bookkeeping, e.g. a new arena peak); repeats of a call are identical.
    assert a[3]["insns"] == a[4]["insns"]
    assert abs(a[0]["insns"] - a[3]["insns"]) < 1000
    # Per-instruction counting agrees with per-block counting.
    c = qemu.run_harness(blob, seqs, count_mode="insn")
    assert [r["insns"] for r in c.sequences] == [r["insns"] for r in a]
    assert c.init["insns"] > 0


@pytest.mark.qemu
def test_per_op_breakdown(plugin: Path, blob: bytes) -> None:
    (r,) = qemu.run(blob, _seqs()[:1], per_op=True)
    per_op = r["per_op"]
    assert sum(per_op.values()) == r["insns_raw"]
    assert per_op.get("bench_start") == 1
    assert max(per_op, key=per_op.__getitem__) != "main"


@pytest.mark.qemu
def test_runtime_errors_use_host_errno(plugin: Path, blob: bytes) -> None:
    seqs = [([], None), ([1, 2, 99999], None), (list(range(5, 5 + 33)), None), ([5, 6], [0, 2])]
    res = qemu.run(blob, seqs)
    assert [r["rc"] for r in res] == [-errno.EINVAL, -errno.ERANGE, -errno.E2BIG, -errno.ERANGE]
    assert [r["err"] for r in res] == ["EINVAL", "ERANGE", "E2BIG", "ERANGE"]
    assert all(r["logits"] is None and r["label"] is None for r in res)


@pytest.mark.qemu
def test_no_classifier(toolchain: None, plugin: Path, native) -> None:
    data = _make_blob(n_labels=0, pooler=False, seed=5)
    (r,) = qemu.run(data, [([7, 8, 9], None)], dump="hidden")
    assert r["rc"] == 0
    assert r["logits"] is None and r["label"] is None and r["logits_err"] == "ENOENT"
    assert r["pooled"] is None and r["pooled_err"] == "ENOENT"
    rt = native.Runtime(data)
    rt.infer([7, 8, 9])
    np.testing.assert_array_equal(r["hidden"], rt.hidden(3, HIDDEN))


@pytest.mark.qemu
def test_bad_blobs_match_host(toolchain: None, blob: bytes, native) -> None:
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x40
    bad_magic = b"XXXX" + blob[4:]
    cases = {"empty": b"", "short": blob[:16], "truncated": blob[:-64], "magic": bad_magic,
             "flipped": bytes(flipped), "ok": blob}
    got = {k: qemu.init_errno(v) for k, v in cases.items()}
    want = {k: native.Runtime.init_errno(v, arena_bytes=1 << 21) for k, v in cases.items()}
    assert got == want
    assert got["ok"] == 0 and got["magic"] == -errno.ENOEXEC
    assert qemu.init_errno(blob, arena_len=64) == -errno.ENOMEM
    with pytest.raises(qemu.QemuError, match="mcubert_init failed"):
        qemu.run(bad_magic, [[1, 2]])


# ---------------------------------------------------------------- limits

@pytest.mark.qemu
@pytest.mark.parametrize("target", TARGETS)
def test_blob_too_big_is_refused(toolchain: None, target: str) -> None:
    h = qemu.build_harness(target)
    assert h.blob_max >= 14 * 2**20
    with pytest.raises(qemu.QemuError, match="does not fit"):
        qemu.run(bytes(h.blob_max + 1), [[1]], target=target)


@pytest.mark.qemu
def test_input_too_big_is_refused(toolchain: None) -> None:
    with pytest.raises(qemu.QemuError, match="input record"):
        qemu.run(b"MCUB", [list(range(60000))] * 5)


@pytest.mark.qemu
def test_timeout(plugin: Path, blob: bytes) -> None:
    with pytest.raises(qemu.QemuError, match="timed out"):
        qemu.run(blob, _seqs(), timeout=0.01)

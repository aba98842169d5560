# SPDX-License-Identifier: Apache-2.0
"""Per-kernel golden tests: numpy reference (mcubert.arith) == portable C (host, M3) == DSP path (M7, M33+DSP).

Every kernel runs on the same cases through one C dispatcher (tools/baremetal/kernel_calls.c): on the
host, and on QEMU with the bare-metal kernel tester (mcubert.kernels_qemu). The cases aim at each code
path of the DSP kernels: requantisation shifts below, at and above 32, saturation, row counts that are
not a multiple of 4, unaligned weight rows, column tails, column chunks beyond MCUBERT_DSP_KC (128),
output chunks beyond MCUBERT_DSP_CH (64), fewer than 8 column groups, and LayerNorm rows outside the
DSP path's range (which must fall back to the portable path).
"""

from __future__ import annotations

import numpy as np
import pytest

from mcubert.formats.blob import REQUANT_DTYPE
from mcubert.numerics import arith
from mcubert.targets import kernels_qemu, qemu
from mcubert.targets.kernels_qemu import Case, Ref

RES_MIN, RES_MAX = arith.RES_MIN, arith.RES_MAX


def _rq(rng, n: int, shifts=(20, 31, 32, 33, 36, 40, 45, 52, 62)) -> np.ndarray:
    rq = np.zeros(n, dtype=REQUANT_DTYPE)
    rq["bias"] = rng.integers(-(1 << 20), 1 << 20, size=n)
    rq["mult"] = rng.integers(1 << 30, 1 << 31, size=n)
    rq["shift"] = rng.choice(shifts, size=n)
    rq["mult"][::7] = rng.integers(0, 1 << 12, size=len(rq["mult"][::7]))  # small multipliers too
    return rq


def _i8(rng, *shape):
    return rng.integers(-128, 128, size=shape).astype(np.int8)


def _linear_kernels(rng, rows: int, n_in: int, n_out: int, shifts=None) -> list:
    """(case, expected) pairs of the four linear kernels and the transposed one on one shape."""
    out = []
    x = _i8(rng, rows, n_in)
    w = _i8(rng, n_out, n_in)
    rq = _rq(rng, n_out) if shifts is None else _rq(rng, n_out, shifts)
    args = [w, rq, n_in, n_out, x, rows]
    out.append((Case("linear_s8", args + [np.zeros((rows, n_out), np.int8)], out=6),
                arith.linear(x, w, rq, -128, 127)))
    out.append((Case("linear_s8_s16", args + [np.zeros((rows, n_out), np.int16)], out=6),
                arith.linear(x, w, rq, arith.PRE_MIN, arith.PRE_MAX)))
    for lo, hi in ((RES_MIN, RES_MAX), (arith.INT32_MIN, arith.INT32_MAX), (-1000, 70000)):
        out.append((Case("linear_s8_s32", args + [np.zeros((rows, n_out), np.int32), lo, hi], out=6),
                    arith.linear(x, w, rq, lo, hi)))
    x16 = rng.integers(-2047, 2048, size=(rows, n_in)).astype(np.int16)
    out.append((Case("linear_s16_s32", [w, rq, n_in, n_out, x16, rows, np.zeros((rows, n_out), np.int32),
                                        RES_MIN, RES_MAX], out=6),
                arith.linear(x16, w, rq, RES_MIN, RES_MAX)))
    stride = rows + 3
    exp_t = np.zeros((n_out, stride), np.int64)
    exp_t[:, :rows] = arith.linear(x, w, rq, -128, 127).T
    out.append((Case("linear_s8_t", args + [np.zeros((n_out, stride), np.int8), stride], out=6), exp_t))
    return out


def linear_cases(rng):
    """(case, expected) pairs for the four linear kernels and the transposed one."""
    out = []
    shapes = [(1, 4, 1), (3, 7, 5), (4, 32, 64), (5, 128, 70), (9, 200, 33), (4, 260, 16), (6, 512, 8),
              (8, 36, 12), (2, 20, 3)]
    for rows, n_in, n_out in shapes:
        out += _linear_kernels(rng, rows, n_in, n_out)
    # groups of 4 outputs in one shift class (the MVE path requantises them together): all in [2, 32]
    # (saturating with small shifts), all >= 32, all >= 33, and shifts of 1
    for shifts in ((2, 3, 20, 31, 32), (32, 33, 40), (33, 62), (1, 2)):
        out += _linear_kernels(rng, 8, 64, 16, shifts)
    # saturating sums: all-extreme inputs
    x = np.full((4, 64), -128, np.int8)
    w = np.full((6, 64), -128, np.int8)
    rq = _rq(rng, 6, shifts=(20, 32, 34))
    out.append((Case("linear_s8", [w, rq, 64, 6, x, 4, np.zeros((4, 6), np.int8)], out=6),
                arith.linear(x, w, rq, -128, 127)))
    return out


def attention_cases(rng):
    out = []
    # scores: head_dim below 8 groups, with a remainder, with a tail; odd strides (unaligned key rows)
    for rows, dh, length, q_stride, k_stride in ((4, 16, 9, 16, 16), (5, 64, 70, 96, 128), (3, 36, 13, 40, 37),
                                                 (4, 6, 5, 6, 7), (8, 32, 130, 32, 96), (1, 64, 1, 64, 64)):
        q = _i8(rng, rows, q_stride)
        k = _i8(rng, length, k_stride)
        s_stride = length + 2
        exp = np.zeros((rows, s_stride), np.int64)
        exp[:, :length] = q[:, :dh].astype(np.int64) @ k[:, :dh].astype(np.int64).T
        out.append((Case("scores_rows_s8", [q, rows, q_stride, k, k_stride, length, dh,
                                            np.zeros((rows, s_stride), np.int32), s_stride], out=7), exp))
    # softmax: shift > 32 (DSP and MVE paths), == 32 and < 32 (portable form); odd lengths; a wide score range
    for length, mult, shift, spread in ((1, 1 << 30, 40, 100), (7, 1518500250, 38, 3000), (64, 1 << 30, 33, 200),
                                        (129, 1900000000, 40, 1 << 18), (50, 1 << 30, 32, 5), (33, 1 << 30, 31, 2),
                                        (512, 1234567890, 44, 1 << 20),
                                        # equal scores: a power-of-two sum (the MVE path's reciprocal)
                                        (4, 1 << 30, 40, 0), (4096, 1 << 30, 40, 0), (1003, 1 << 30, 36, 3)):
        s = rng.integers(-spread, spread + 1, size=length).astype(np.int32)
        z = s.astype(np.int64) - s.max()
        exp = arith.softmax_probs(arith.softmax_exp(z, mult, shift))
        out.append((Case("softmax_s32_s16", [s, length, mult, shift, np.zeros(length, np.int16)], out=4), exp))
    # ties of the DSP path's SMMLS form, (max - s) * mult = 2^(shift-1) mod 2^shift, at scores max - u * step:
    # "round" multipliers (the exact negation instead) and multipliers with as many trailing zero bits as
    # shift - 32 whose ties lie beyond e = 0; scores at the contract's bounds (+-2^30); a lone max (sum 2^15)
    for mult, shift in ((1023 << 20, 36), (3 << 29, 40), (8191 << 17, 49), (8193 << 17, 49), (8195 << 3, 35),
                        (1518500249, 62), (1717341947, 33)):
        a = (mult & -mult).bit_length() - 1
        step = 1 << max(31 + shift - 32 - a, 0)
        ties = [(1 << 30) - u * step for u in range(1, 64)]
        s = np.array([1 << 30, -(1 << 30)] + [t for t in ties if t >= -(1 << 30)], dtype=np.int64)
        s = np.concatenate([s, rng.integers(-(1 << 30), (1 << 30) + 1, size=37)]).astype(np.int32)
        z = s.astype(np.int64) - s.max()
        exp = arith.softmax_probs(arith.softmax_exp(z, mult, shift))
        out.append((Case("softmax_s32_s16", [s, len(s), mult, shift, np.zeros(len(s), np.int16)], out=4), exp))
    # P.V: lengths with tails, beyond one column chunk (128); dh beyond one output chunk (64)
    for rows, length, dh, mult, shift in ((4, 64, 64, 1 << 30, 38), (3, 3, 16, 1 << 30, 33),
                                          (5, 129, 70, 1 << 30, 32), (4, 300, 64, 1200000000, 40),
                                          (1, 1, 8, 1 << 30, 28), (6, 17, 20, 1 << 30, 36)):
        p_stride, vt_stride = length + 1, length + 3
        p = rng.integers(0, 32768, size=(rows, p_stride)).astype(np.int16)
        vt = _i8(rng, dh, vt_stride)
        acc = p[:, :length].astype(np.int64) @ vt[:, :length].astype(np.int64).T
        ctx_stride = dh + 5
        exp = np.zeros((rows, ctx_stride), np.int64)
        exp[:, :dh] = arith.sat8(arith.requant(acc, mult, shift))
        out.append((Case("pv_rows_s16_s8", [p, rows, p_stride, vt, vt_stride, length, dh, mult, shift,
                                            np.zeros((rows, ctx_stride), np.int8), ctx_stride], out=9), exp))
        acc0 = rng.integers(-(1 << 20), 1 << 20, size=(rows, dh)).astype(np.int32)
        out.append((Case("pv_acc_rows_s16", [p, rows, p_stride, vt, vt_stride, length, dh, acc0, dh], out=7),
                    acc0.astype(np.int64) + acc))
    # the composite, with the context written over the queries
    for rows, length, dh in ((4, 40, 64), (3, 9, 32), (4, 128, 64)):
        q = _i8(rng, rows, dh)
        k = _i8(rng, length, dh)
        vt = _i8(rng, dh, length)
        sm, ss, cm, cs = 1518500250, 40, 1 << 30, 39
        sc = q.astype(np.int64) @ k.astype(np.int64).T
        prob = arith.softmax_probs(arith.softmax_exp(sc - sc.max(axis=1, keepdims=True), sm, ss))
        exp = arith.sat8(arith.requant(prob @ vt.astype(np.int64).T, cm, cs))
        out.append((Case("attention_rows_s8", [q, rows, dh, k, dh, vt, length, length, dh, sm, ss, cm, cs, Ref(0), dh,
                                               np.zeros((rows, length), np.int32), np.zeros((rows, length), np.int16)],
                         out=0), exp))
    return out


def norm_cases(rng):
    out = []
    for d, scale in ((128, 1 << 20), (96, 1 << 22), (7, 1 << 19), (256, 1 << 23), (128, 300), (64, 1 << 28),
                     (1, 5000), (33, 1 << 17)):
        x = rng.integers(-scale, scale + 1, size=d).astype(np.int32)
        gamma = rng.integers(-(1 << 18), 1 << 18, size=d).astype(np.int32)
        beta = rng.integers(-(1 << 24), 1 << 24, size=d).astype(np.int32)
        gamma[:3] = [2**31 - 1, -2**31, 0][:min(3, d)]  # extreme scales saturate
        out.append((Case("layernorm_s32_s8", [x, d, gamma, beta, np.zeros(d, np.int8)], out=4),
                    arith.layernorm(x, gamma, beta)))
    # the DSP path's largest |norm| (|c| / std up to sqrt(d - 1): one outlier) against the extreme gamma and
    # beta (+-2^30) and the largest |x| it takes (2^25 - 1), both signs, and d up to the bound (2^11 - 1)
    for d, big in ((2047, (1 << 25) - 1), (1024, -(1 << 25) + 1), (2, 1 << 24), (3, -(1 << 20))):
        x = np.zeros(d, np.int32)
        x[d // 2] = big
        for g, b in ((1 << 30, -(1 << 30)), (-(1 << 30), 1 << 30), (1 << 12, 0), (-(1 << 12), 1 << 16)):
            gamma, beta = np.full(d, g, np.int32), np.full(d, b, np.int32)
            out.append((Case("layernorm_s32_s8", [x, d, gamma, beta, np.zeros(d, np.int8)], out=4),
                        arith.layernorm(x, gamma, beta)))
    # a sweep of row scales (std from below the DSP path's 2^15 bound to ~2^25) and widths: every 32-bit
    # long-division step of the DSP path (var = css / d, inv = 2^46 / std) on many divisors
    for i in range(48):
        d = int(rng.integers(2, 400))
        scale = int(2 ** (14 + 11 * i / 47))
        x = rng.integers(-scale, scale + 1, size=d).astype(np.int32)
        gamma = rng.integers(-(1 << 14), 1 << 14, size=d).astype(np.int32)
        beta = rng.integers(-(1 << 18), 1 << 18, size=d).astype(np.int32)
        out.append((Case("layernorm_s32_s8", [x, d, gamma, beta, np.zeros(d, np.int8)], out=4),
                    arith.layernorm(x, gamma, beta)))
    lut = np.sort(rng.integers(-2047, 2048, size=arith.ACT_LUT_SIZE)).astype(np.int16)
    for n in (1, 5, 512):
        x = rng.integers(-32768, 32768, size=n).astype(np.int16)
        x[:2] = [-32768, 32767][:n]
        out.append((Case("act_interp_s16", [x, n, lut], out=0), arith.act_interp(x, lut)))
    # any int16 table (steps of either sign, up to 65535): exact on every path (MVE: int32 lanes)
    wild = rng.integers(-32768, 32768, size=arith.ACT_LUT_SIZE).astype(np.int16)
    x = rng.integers(-32768, 32768, size=67).astype(np.int16)
    out.append((Case("act_interp_s16", [x, 67, wild], out=0), arith.act_interp(x, wild)))
    return out


@pytest.fixture(scope="module")
def cases():
    rng = np.random.default_rng(2026)
    return linear_cases(rng) + attention_cases(rng) + norm_cases(rng)


def _check(results, cases, where):
    assert len(results) == len(cases)
    for (case, exp), r in zip(cases, results):
        assert r["rc"] == 0, (where, case.kernel)
        np.testing.assert_array_equal(r["out"].astype(np.int64), np.asarray(exp, dtype=np.int64),
                                      err_msg=f"{case.kernel} on {where}")


def test_host_portable_equals_reference(cases):
    _check(kernels_qemu.run_host([c for c, _ in cases]), cases, "host")


@pytest.mark.qemu
@pytest.mark.parametrize("target", ["m7", "m33dsp", "m3", "m55"])
def test_target_equals_reference(cases, target):
    """m7 and m33dsp run the DSP path, m3 the portable one."""
    missing = qemu.missing_prerequisites()
    if missing:
        pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(missing))
    _check(kernels_qemu.run_qemu([c for c, _ in cases], target), cases, target)


@pytest.mark.qemu
@pytest.mark.parametrize("fast, slow, per_mac, ratio", [("m7", "m7p", 1.0, 3), ("m55", "m55d", 0.3, 2)])
def test_simd_path_is_faster(fast, slow, per_mac, ratio):
    """A BERT-tiny-sized linear layer: the DSP path needs under 1 instruction per MAC on the M7 and 3x fewer
    than the portable one; the MVE path under 0.3 per MAC on the M55 and 2x fewer than the DSP one; same bits."""
    if qemu.missing_prerequisites():
        pytest.skip("QEMU/Arm toolchain missing")
    rng = np.random.default_rng(1)
    x, w, rq = _i8(rng, 16, 128), _i8(rng, 128, 128), _rq(rng, 128, shifts=(36, 40))
    c = Case("linear_s8", [w, rq, 128, 128, x, 16, np.zeros((16, 128), np.int8)], out=6)
    f = kernels_qemu.run_qemu([c], fast)[0]
    s = kernels_qemu.run_qemu([c], slow)[0]
    np.testing.assert_array_equal(f["out"], s["out"])
    macs = 16 * 128 * 128
    assert f["insns"] < per_mac * macs and ratio * f["insns"] < s["insns"]

# SPDX-License-Identifier: Apache-2.0
"""Integer arithmetic primitives shared by the converter and the reference.

docs/arithmetic.md is the prose version of this module; the C runtime
(subsys/mcubert/kernels/) implements the same operations. Every function
here works on numpy int64 arrays and reproduces the C results exactly.
"""

from __future__ import annotations

import math

import numpy as np

INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
RES_MIN, RES_MAX = -(2**23), 2**23 - 1  # residual-sum clamp: keeps LayerNorm in int64
EMB_MULT_BITS = 14  # embedding rows are rescaled to a common scale with <= 2^14 multipliers
RES_MULT_BITS = 11  # per-dim hidden int8 -> residual-sum multipliers are <= 2^11
LN_GAMMA_FRAC = 12  # LayerNorm gamma is stored as Q12 of gamma / s_out
LN_BETA_FRAC = 16  # LayerNorm beta is stored as Q16 of beta / s_out
LN_INV_BITS = 46  # 1/std is computed as floor(2^46 / std)
LN_NORM_FRAC = 16  # the normalised value is kept in Q16
SCORE_FRAC = 8  # softmax exponents are base-2, in Q8
EXP2_ONE = 1 << 15  # EXP2_LUT[0]: exp values are Q15
PRE_MIN, PRE_MAX = -32768, 32767  # FFN pre-activation: int16
ACT_MAX = 2047  # FFN activation: 12 bits in an int16, so ffn <= 4096 products fit int32
ACT_LUT_SIZE = 257  # interpolation table over the int16 pre-activation range
PROB_MAX = 32767  # probabilities are int16 in [0, 32767], scale 1/32767


def _make_exp2_lut() -> np.ndarray:
    return np.array([round(EXP2_ONE * 2.0 ** (-i / 256.0)) for i in range(256)], dtype=np.int64)


EXP2_LUT = _make_exp2_lut()


def quantize_multiplier(real: float, *, min_shift: int = 1, max_shift: int = 62) -> tuple[int, int]:
    """Express a positive real factor as mult * 2^-shift, mult in [2^30, 2^31).

    Factors too small for max_shift keep fewer mantissa bits; zero gives (0, 31).
    Raises ValueError for a factor too large to represent.
    """
    if real < 0 or not math.isfinite(real):
        raise ValueError(f"multiplier {real} must be finite and >= 0")
    if real == 0.0:
        return 0, 31
    mant, exp = math.frexp(real)  # real = mant * 2^exp, mant in [0.5, 1)
    shift = 31 - exp
    mult = round(mant * (1 << 31))
    if mult == 1 << 31:
        mult //= 2
        shift -= 1
    if shift > max_shift:
        mult = round(real * 2.0**max_shift)
        shift = max_shift
    if shift < min_shift:
        raise ValueError(f"multiplier {real} too large to represent")
    return int(mult), int(shift)


def requant(x: np.ndarray, mult, shift) -> np.ndarray:
    """round-half-up(x * mult / 2^shift): (x * mult + 2^(shift-1)) >> shift, in int64."""
    x = np.asarray(x, dtype=np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    return (x * mult + (np.int64(1) << (shift - 1))) >> shift


def sat(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return np.clip(x, lo, hi)


def sat8(x: np.ndarray) -> np.ndarray:
    return np.clip(x, INT8_MIN, INT8_MAX)


def isqrt_u64(v: np.ndarray) -> np.ndarray:
    """Exact floor(sqrt(v)) for non-negative int64 values."""
    flat = np.asarray(v, dtype=np.int64).ravel()
    out = np.fromiter((math.isqrt(int(a)) for a in flat), dtype=np.int64, count=flat.size)
    return out.reshape(np.shape(v))


def layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Integer LayerNorm over the last axis: int32 residual sums -> int8.

    mean = floor((2*sum + d) / 2d)           (round half up)
    var  = floor(sum((x - mean)^2) / d)
    std  = max(isqrt(var), 1)
    norm = (xc * floor(2^46 / std) + 2^29) >> 30          (Q16)
    y    = sat8((norm * gamma + (beta << 12) + 2^27) >> 28)
    """
    x = np.asarray(x, dtype=np.int64)
    d = x.shape[-1]
    s = x.sum(axis=-1, keepdims=True)
    mean = (2 * s + d) // (2 * d)
    xc = x - mean
    var = (xc * xc).sum(axis=-1, keepdims=True) // d
    std = np.maximum(isqrt_u64(var), 1)
    inv = (np.int64(1) << LN_INV_BITS) // std
    sh = LN_INV_BITS - LN_NORM_FRAC
    norm = (xc * inv + (np.int64(1) << (sh - 1))) >> sh
    g = np.asarray(gamma, dtype=np.int64)
    b = np.asarray(beta, dtype=np.int64)
    sh2 = LN_NORM_FRAC + LN_GAMMA_FRAC
    y = (norm * g + (b << (sh2 - LN_BETA_FRAC)) + (np.int64(1) << (sh2 - 1))) >> sh2
    return sat8(y)


def linear(x: np.ndarray, w: np.ndarray, rq: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """acc = bias + x . w^T (int32), then requant per output channel, saturated."""
    acc = np.asarray(x, dtype=np.int64) @ np.asarray(w, dtype=np.int64).T + rq["bias"].astype(np.int64)
    return sat(requant(acc, rq["mult"], rq["shift"]), lo, hi)


def act_interp(x: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """FFN activation of int16 pre-activations by linear interpolation in a 257-entry table.

    u = x + 32768; i = u >> 8; f = u & 255; y = lut[i] + (((lut[i+1] - lut[i]) * f + 128) >> 8)
    """
    u = np.asarray(x, dtype=np.int64) + 32768
    i = u >> 8
    f = u & 255
    a = np.asarray(lut, dtype=np.int64)
    return a[i] + (((a[i + 1] - a[i]) * f + 128) >> 8)


def softmax_exp(z: np.ndarray, mult: int, shift: int) -> np.ndarray:
    """Unnormalised exp of scores minus their row max (z <= 0), Q15.

    u = requant(z) is the base-2 exponent in Q8 (u <= 0); t = -u;
    e = EXP2_LUT[t & 255] >> (t >> 8), zero once the shift reaches 16.
    """
    t = -requant(z, mult, shift)
    n = t >> SCORE_FRAC
    e = EXP2_LUT[t & ((1 << SCORE_FRAC) - 1)] >> np.minimum(n, 16)
    return np.where(n < 16, e, 0)


def softmax_probs(e: np.ndarray) -> np.ndarray:
    """int16 probabilities, scale 1/32767: (e*65534 + sum) // (2*sum) per row (fits uint32)."""
    s = e.sum(axis=-1, keepdims=True)
    return (e * (2 * PROB_MAX) + s) // (2 * s)


def render_exp2_lut_c() -> str:
    """subsys/mcubert/kernels/exp2_lut.c, generated from EXP2_LUT (a test checks it)."""
    from mcubert.formats.cgen import banner, rows

    return "\n".join([
        *banner("scripts/mcubert/numerics/arith.py (EXP2_LUT)"),
        "#include \"mcubert_internal.h\"",
        "",
        "const uint16_t mcubert_exp2_lut[256] = {",
        *rows([int(v) for v in EXP2_LUT]),
        "};",
        "",
    ])


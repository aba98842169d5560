# SPDX-License-Identifier: Apache-2.0
"""The range of every blob value the integer arithmetic depends on: the one source of truth.

A blob arrives on a device as an update; its CRC catches damage, not intent. The runtime
(subsys/mcubert/blob.c) refuses at init, with -EINVAL, any blob holding a value outside these
bounds, so that for every blob it accepts no input can make any intermediate leave its type
(docs/arithmetic.md, "Bounds", gives the largest value of each intermediate). The converter
(numerics/quantize.py) checks a blob against the same table before returning it, and the numpy
reference (numerics/reference.py) refuses what the runtime refuses.

`render_c_header()` writes subsys/mcubert/bounds.h (registered in formats/cgen.py).
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np

from mcubert.formats.blob import (
    EMB_CLUSTER_DTYPE,
    FLAG_CLASSIFIER,
    FLAG_EMB_CLUSTERED,
    FLAG_POOLER,
    FLAG_TOKEN_CLASSIFIER,
    LAYER_PARAMS_DTYPE,
    MODEL_PARAMS_DTYPE,
    REQUANT_DTYPE,
    Blob,
    BlobError,
    Config,
    LayerSec,
    Sec,
    layer_sec,
)
from mcubert.numerics import arith

MULT_MAX = 2**31 - 1  # requantisation multipliers: non-negative int32
SUM_MULT_MAX = 2**16 - 1  # multipliers into the embedding and residual sums (as the uint16 word_mult)


@dataclasses.dataclass(frozen=True)
class Bound:
    name: str  # C: MCUBERT_<NAME>_MIN / _MAX
    lo: int
    hi: int
    what: str  # the fields it applies to
    why: str  # the largest intermediate it keeps in its type


BOUNDS: tuple[Bound, ...] = (
    Bound("RQ_BIAS", -(2**30), 2**30, "bias of every requantisation record (struct mcub_requant)",
          "|sum x*w| < 2^30 (int8 x: 4096 * 2^14 = 2^26; FFN |g| <= 2047: 4096 * 2047 * 128 < 2^30), "
          "so the accumulator bias + sum stays inside int32"),
    Bound("RQ_MULT", 0, MULT_MAX, "mult of every requantisation record",
          "|acc * mult| < 2^31 * 2^31 = 2^62: the int64 product and its rounding stay below 2^63"),
    Bound("RQ_SHIFT", 1, 62, "shift of every requantisation record",
          "2^(shift-1) is a valid shift and (acc * mult + 2^(shift-1)) < 2^62 + 2^61 < 2^63"),
    Bound("SCORE_MULT", 0, MULT_MAX, "score_mult of every layer",
          "z = s - max(s) in [-2^27, 0]: requant(z) in [-2^57, 0], so t = -requant(z) >= 0 (a valid LUT "
          "index and shift) and negating it never meets INT64_MIN"),
    Bound("SCORE_SHIFT", 1, 62, "score_shift of every layer", "as RQ_SHIFT"),
    Bound("CTX_MULT", 0, MULT_MAX, "ctx_mult of every layer",
          "|sum_j p_j v_j| < (32767 + 2048) * 128 < 2^23; times mult < 2^54"),
    Bound("CTX_SHIFT", 1, 62, "ctx_shift of every layer", "as RQ_SHIFT"),
    Bound("EMB_MULT", 0, SUM_MULT_MAX, "pos_mult and type_mult (and, by its type, every word_mult)",
          "each embedding term |row * mult| <= 128 * 65535 < 2^23, so |r| < 3 * 2^23 < 2^25 (LayerNorm's "
          "range: sum (r - mean)^2 < 4096 * 2^52 = 2^64)"),
    Bound("RES_MULT", 0, SUM_MULT_MAX, "attn_res_mult and ffn_res_mult of every layer",
          "|h * res_mult| <= 128 * 65535 < 2^23, plus the clamped projection (< 2^23): |r| < 2^24 < 2^25"),
    Bound("LN_GAMMA", -(2**30), 2**30, "LayerNorm gamma (embeddings and every layer)",
          "|norm| <= 2^23 (|x - mean| < sqrt(d) (std + 1), d <= 4096), |norm * gamma| <= 2^53; a larger "
          "gamma saturates every output with |norm| >= 2^-11, which no calibrated model does"),
    Bound("LN_BETA", -(2**30), 2**30, "LayerNorm beta (embeddings and every layer)",
          "|beta * 2^12| <= 2^42, so norm * gamma + beta * 2^12 + 2^27 < 2^54"),
    Bound("ACT_LUT", -arith.ACT_MAX, arith.ACT_MAX, "entries of every FFN activation table",
          "|g| <= 2047 keeps the FFN output sum 4096 * 2047 * 128 < 2^30 (see RQ_BIAS)"),
    Bound("CLUSTER_RANK", 1, 255, "rank of every cluster record (clustered embedding)",
          "|table . proj| <= 255 * 2^14 < 2^22; times word_mult < 2^38 in int64"),
    Bound("CLUSTER_SHIFT", 0, 30, "shift of every cluster record",
          "a valid shift of the int64 product; the word term is then clamped to [-2^23, 2^23)"),
)
BY_NAME = {b.name: b for b in BOUNDS}

_RQ_MODEL = ((Sec.POOLER_RQ, FLAG_POOLER), (Sec.CLS_RQ, FLAG_CLASSIFIER), (Sec.TOK_RQ, FLAG_TOKEN_CLASSIFIER))
_RQ_LAYER = (LayerSec.Q_RQ, LayerSec.K_RQ, LayerSec.V_RQ, LayerSec.O_RQ, LayerSec.FFN_IN_RQ, LayerSec.FFN_OUT_RQ)
_I32_LAYER = ((LayerSec.ATTN_RES_MULT, "RES_MULT"), (LayerSec.FFN_RES_MULT, "RES_MULT"),
              (LayerSec.LN_ATTN_GAMMA, "LN_GAMMA"), (LayerSec.LN_ATTN_BETA, "LN_BETA"),
              (LayerSec.LN_FFN_GAMMA, "LN_GAMMA"), (LayerSec.LN_FFN_BETA, "LN_BETA"))


class BoundsError(BlobError):
    """A blob value outside its bound: the runtime refuses the blob with -EINVAL."""


@dataclasses.dataclass(frozen=True)
class Place:
    """Where bounded values live: a section read as `dtype`, the record field (None: every element)."""

    sid: int
    dtype: np.dtype
    field: str | None
    bound: str  # a name in BY_NAME
    where: str  # for messages


def _requant(sid: int, where: str) -> list[Place]:
    return [Place(int(sid), REQUANT_DTYPE, f, f"RQ_{f.upper()}", f"{where}.{f}") for f in ("bias", "mult", "shift")]


def places(cfg: Config) -> list[Place]:
    """Every bounded field of a blob of config `cfg`."""
    i32, i16 = np.dtype("<i4"), np.dtype("<i2")
    out = [Place(Sec.MODEL_PARAMS, MODEL_PARAMS_DTYPE, f, "EMB_MULT", f) for f in ("pos_mult", "type_mult")]
    out += [Place(Sec.EMB_LN_GAMMA, i32, None, "LN_GAMMA", "emb_ln_gamma"),
            Place(Sec.EMB_LN_BETA, i32, None, "LN_BETA", "emb_ln_beta")]
    for sid, flag in _RQ_MODEL:
        if cfg.flags & flag:
            out += _requant(sid, sid.name.lower())
    if cfg.flags & FLAG_EMB_CLUSTERED:
        out += [Place(Sec.EMB_CLUSTERS, EMB_CLUSTER_DTYPE, f, f"CLUSTER_{f.upper()}", f"cluster.{f}")
                for f in ("rank", "shift")]
    for i in range(cfg.n_layers):
        out += [Place(layer_sec(i, LayerSec.PARAMS), LAYER_PARAMS_DTYPE, f, f.upper(), f"layer {i} {f}")
                for f in ("score_mult", "score_shift", "ctx_mult", "ctx_shift")]
        for ls in _RQ_LAYER:
            out += _requant(layer_sec(i, ls), f"layer {i} {ls.name.lower()}")
        out += [Place(layer_sec(i, ls), i32, None, name, f"layer {i} {ls.name.lower()}") for ls, name in _I32_LAYER]
        out.append(Place(layer_sec(i, LayerSec.GELU_LUT), i16, None, "ACT_LUT", f"layer {i} gelu_lut"))
    return out


def values(b: Blob) -> Iterator[tuple[Place, np.ndarray]]:
    """Each place of the blob with its values."""
    for p in places(b.cfg):
        a = b.array(p.sid, p.dtype)
        yield p, (a if p.field is None else a[p.field])


def check(b: Blob) -> None:
    """BoundsError (one line) naming the first value outside its bound, as the runtime's -EINVAL."""
    for p, v in values(b):
        bd = BY_NAME[p.bound]
        v = np.asarray(v, dtype=np.int64)
        bad = np.nonzero((v < bd.lo) | (v > bd.hi))[0]
        if bad.size:
            raise BoundsError(f"{p.where}[{int(bad[0])}] = {int(v[bad[0]])} is outside [{bd.lo}, {bd.hi}] "
                              f"(the runtime refuses the blob with -EINVAL; docs/arithmetic.md, Bounds)")


def render_c_header() -> str:
    """subsys/mcubert/bounds.h: the bounds as MCUBERT_<NAME>_MIN / _MAX (blob.c checks them at init)."""
    from mcubert.formats.cgen import banner

    out = [*banner("scripts/mcubert/numerics/bounds.py (BOUNDS)",
                   "The range of every blob value the arithmetic depends on; docs/arithmetic.md, Bounds."),
           "#ifndef MCUBERT_BOUNDS_H_", "#define MCUBERT_BOUNDS_H_", "",
           "/* entries of an FFN activation table */", f"#define MCUBERT_ACT_LUT_SIZE {arith.ACT_LUT_SIZE}", ""]
    for bd in BOUNDS:
        lo = f"(-{-bd.lo}L)" if bd.lo < 0 else f"{bd.lo}L"
        out += [f"/* {bd.what} */", f"#define MCUBERT_{bd.name}_MIN {lo}", f"#define MCUBERT_{bd.name}_MAX {bd.hi}L"]
    return "\n".join([*out, "", "#endif /* MCUBERT_BOUNDS_H_ */", ""])

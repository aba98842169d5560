# SPDX-License-Identifier: Apache-2.0
"""Float checkpoint + calibration -> integer parameters -> blob sections.

This is where float meets integer: every scale, multiplier, LUT and bias is
fixed here, following docs/arithmetic.md. After this step nothing is float.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from typing import Iterable, Sequence

import numpy as np
import torch
from tqdm import tqdm

from mcubert.conversion.checkpoint import Checkpoint
from mcubert.conversion.floatmodel import FloatBert, activation
from mcubert.formats import blob, heads
from mcubert.formats.blob import LayerSec, Sec, layer_sec
from mcubert.numerics import arith, bounds
from mcubert.planning import planner

log = logging.getLogger(__name__)

Sequence_ = tuple[Sequence[int], Sequence[int] | None]


class QuantError(ValueError):
    """A model or setting the runtime would not run as trained; the message is one line for the user."""


# The C runtime's limits that a blob must respect (else it converts, then answers wrongly or is refused).
RUNTIME_MAX_LAYERS = 12  # MCUBERT_MAX_LAYERS default (include/mcubert/mcubert.h, CONFIG_MCUBERT_MAX_LAYERS)
# The integer LayerNorm has no epsilon: it floors the standard deviation at one integer unit
# (docs/arithmetic.md). That matches torch only while eps is negligible against the variance of a row.
# Real BERT rows vary least after the embeddings (variance ~2e-3 in MiniLM-L6): eps 1e-6 moves the normalised
# values by ~2e-4 relative there, well below int8's step; eps 1e-3 by ~20%.
LAYER_NORM_EPS_MAX = 1e-6
DEFAULT_MAX_SEQ_LEN = 128


def check_max_seq_len(max_seq_len: int, max_pos: int) -> None:
    """QuantError unless 1 <= max_seq_len <= the model's positions and the runtime's limit."""
    if max_seq_len < 1:
        raise QuantError(f"--max-seq-len {max_seq_len}: must be at least 1")
    if max_seq_len > max_pos:
        raise QuantError(f"--max-seq-len {max_seq_len} exceeds the model's {max_pos} positions")
    if max_seq_len > blob.MAX_SEQ_LEN_LIMIT:
        raise QuantError(f"--max-seq-len {max_seq_len} exceeds the runtime's limit of {blob.MAX_SEQ_LEN_LIMIT}")


def resolve_max_seq_len(requested: int | None, max_pos: int) -> int:
    """The sequence length to plan for: `requested` (checked), or min(DEFAULT_MAX_SEQ_LEN, max_pos) if None."""
    if requested is None:
        return min(DEFAULT_MAX_SEQ_LEN, max_pos)
    check_max_seq_len(requested, max_pos)
    return requested


def check_convertible(ckpt: Checkpoint, max_seq_len: int, *, max_layers: int = RUNTIME_MAX_LAYERS) -> None:
    """QuantError (one line) if the runtime would refuse the blob or not compute what the checkpoint does.

    max_layers: the target's CONFIG_MCUBERT_MAX_LAYERS.
    """
    s = ckpt.shape
    check_max_seq_len(max_seq_len, s.max_pos)
    if s.n_layers > max_layers:
        raise QuantError(f"{ckpt.source}: {s.n_layers} encoder layers exceed the runtime's limit of {max_layers} "
                         f"(CONFIG_MCUBERT_MAX_LAYERS); the runtime would refuse the blob with -ENOTSUP")
    for what, n in (("max_position_embeddings", s.max_pos), ("type_vocab_size", s.type_vocab), ("labels", s.n_labels),
                    ("token tags", s.n_tags)):
        if n > 0xFFFF:
            raise QuantError(f"{ckpt.source}: {what} {n} does not fit the blob header (at most 65535)")
    if s.layer_norm_eps > LAYER_NORM_EPS_MAX:
        raise QuantError(f"{ckpt.source}: layer_norm_eps {s.layer_norm_eps:g} is not honoured by the integer LayerNorm "
                         f"(it supports eps <= {LAYER_NORM_EPS_MAX:g}; see docs/arithmetic.md)")


def calibrate(ckpt: Checkpoint, sequences: Iterable[Sequence_], *, progress: bool = False) -> dict[str, np.ndarray]:
    """Max |x| per channel (last axis) at every quantisation site over the calibration sequences."""
    fm = FloatBert(ckpt)
    fm.calibrating = True
    seqs = list(sequences)
    if not seqs:
        raise QuantError("calibration needs at least one sequence")
    for ids, types in tqdm(seqs, desc="calibrating", unit="seq", disable=not progress):
        fm.forward(ids, types)
    bad = [site for site, m in fm.absmax.items() if not np.isfinite(m).all()]
    if bad:
        raise QuantError(f"calibration: activations at {bad[0]} overflow float32 (inf or NaN)")
    return dict(fm.absmax)


def _scale(absmax, qmax: int = 127) -> float:
    """Per-tensor scale from a max |x| (scalar or per-channel array)."""
    return max(float(np.max(absmax)), 1e-8) / qmax


def _dim_scales(absmax: np.ndarray, qmax: int = 127, floor: float = 1e-3) -> np.ndarray:
    """Per-channel scales of a LayerNorm output; tiny channels are floored at floor * the largest."""
    a = np.asarray(absmax, dtype=np.float64)
    return np.maximum(a, max(float(a.max()), 1e-8) * floor) / qmax


def _weights(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output channel: (q, scale per row)."""
    amax = np.abs(w).max(axis=1)
    s = np.where(amax > 0, amax / 127.0, 1.0)
    q = np.clip(np.round(w / s[:, None]), -127, 127).astype(np.int8)
    return q, s


def _requant(bias: np.ndarray | None, s_acc: np.ndarray, s_out: float) -> np.ndarray:
    """Records taking accumulators in scale s_acc[j] to outputs in scale s_out."""
    rq = np.zeros(len(s_acc), dtype=blob.REQUANT_DTYPE)
    for j, sa in enumerate(s_acc):
        rq["mult"][j], rq["shift"][j] = arith.quantize_multiplier(sa / s_out)
    if bias is not None:
        rq["bias"] = np.clip(np.round(bias / s_acc), -(2**30), 2**30).astype(np.int64)
    return rq


def _linear(w: np.ndarray, b: np.ndarray, s_in, s_out: float) -> tuple[bytes, bytes]:
    """int8 weights and requant records. s_in may be per input channel: it is folded into the weights."""
    q, s_acc = _weights(w * np.asarray(s_in, dtype=np.float64))
    return q.tobytes(), _requant(b, s_acc, s_out).tobytes()


def _logits_head(w: np.ndarray, b: np.ndarray, s_in) -> tuple[bytes, bytes, float]:
    """int8 weights, requant records and logit scale of a classifier whose inputs have scale(s) s_in.

    The int32 logits are in one scale for all outputs: 1/16 of the largest accumulator step (docs/arithmetic.md).
    """
    if np.ndim(s_in) == 0:  # the pooled output: one scale
        q, s_w = _weights(w)
        s_acc = s_in * s_w
    else:  # per input channel: folded into the weights
        q, s_acc = _weights(w * np.asarray(s_in, dtype=np.float64))
    logit_scale = float(s_acc.max() / 16)
    return q.tobytes(), _requant(b, s_acc, logit_scale).tobytes(), logit_scale


def _res_mult(s_h: np.ndarray) -> tuple[bytes, float]:
    """Per-dim multipliers taking hidden int8 (scales s_h) to a common residual-sum scale."""
    s_res = float(s_h.max()) / (1 << arith.RES_MULT_BITS)
    return np.round(s_h / s_res).astype("<i4").tobytes(), s_res


def _layernorm(gamma: np.ndarray, beta: np.ndarray, s_out: float) -> tuple[bytes, bytes]:
    g = np.round(gamma / s_out * (1 << arith.LN_GAMMA_FRAC))
    b = np.round(beta / s_out * (1 << arith.LN_BETA_FRAC))
    if np.abs(g).max() >= 2**31 or np.abs(b).max() >= 2**31:
        raise QuantError("LayerNorm parameters overflow int32 for the calibrated scale")
    return g.astype("<i4").tobytes(), b.astype("<i4").tobytes()


def _lut(fn, s_in: float, s_out: float) -> bytes:
    q = np.arange(256, dtype=np.int64)
    q = np.where(q >= 128, q - 256, q)  # index i holds int8 value (int8)i
    y = fn(torch.from_numpy(q * s_in)).numpy()
    return np.clip(np.round(y / s_out), -128, 127).astype(np.int8).tobytes()


def _clustered_embedding(ckpt: Checkpoint, s_common: float) -> dict[int, bytes]:
    """Sections of a clustered low-rank word embedding (docs/arithmetic.md, "Embeddings").

    Each cluster's table keeps only the rows tokens use; rows are int8 with a per-row scale, the
    projection (stored transposed, (d, r)) int8 with one scale per cluster. Token t's vector in the
    embedding-sum scale is (table[perm[t]] . proj) * word_mult[t] >> shift[cluster].
    """
    w = ckpt.weights
    cluster = w["embeddings.word_embeddings.cluster"].astype(np.int64)
    row = w["embeddings.word_embeddings.row"].astype(np.int64)
    vocab = len(cluster)
    perm = np.zeros(vocab, dtype=np.int64)
    word_mult = np.zeros(vocab, dtype=np.int64)
    recs = np.zeros(len(np.unique(cluster)), dtype=blob.EMB_CLUSTER_DTYPE)
    tables: list[bytes] = []
    projs: list[bytes] = []
    start = t_off = p_off = 0
    for i, c in enumerate(np.unique(cluster)):
        sel = np.nonzero(cluster == c)[0]
        used, inv = np.unique(row[sel], return_inverse=True)
        table = w[f"embeddings.word_embeddings.table.{c}"][used].astype(np.float64)
        proj = w[f"embeddings.word_embeddings.proj.{c}"].astype(np.float64)
        rank = table.shape[1]
        if not 1 <= rank <= 255:
            raise QuantError(f"cluster {c} has rank {rank}; the runtime supports 1..255")
        tq, s_tr = _weights(table)
        s_p = _scale(float(np.abs(proj).max()))
        ptq = np.clip(np.round(proj.T / s_p), -127, 127).astype(np.int8)  # (d, r)
        m = s_tr[inv] * s_p / s_common  # per token of the cluster
        shift = int(np.clip(np.floor(np.log2(65535.0 / max(float(m.max()), 1e-30))), 0, 30))
        word_mult[sel] = np.round(m * (1 << shift))
        perm[sel] = start + inv
        recs[i] = (start, t_off, p_off, rank, shift)
        tables.append(tq.tobytes())
        projs.append(ptq.tobytes())
        start += len(used)
        t_off += tq.size
        p_off += ptq.size
    if start > 65535:
        raise QuantError(f"clustered embedding has {start} table rows; at most 65535")
    return {Sec.WORD_MULT: np.clip(word_mult, 0, 65535).astype("<u2").tobytes(),
            Sec.EMB_PERM: perm.astype("<u2").tobytes(), Sec.EMB_CLUSTERS: recs.tobytes(),
            Sec.EMB_TABLES: b"".join(tables), Sec.EMB_PROJ: b"".join(projs)}


def quantize(ckpt: Checkpoint, absmax: dict[str, np.ndarray], max_seq_len: int, *,
             meta: dict | None = None, schedule: "planner.Schedule | None" = None, budget: int | None = None,
             region0: int | None = None, tiles: "planner.Tiles | None" = None,
             vocab: bytes | None = None, max_layers: int = RUNTIME_MAX_LAYERS, arena_only: bool = False,
             target: str = "m7") -> bytes:
    """Build the blob for a checkpoint with calibrated activation ranges.

    The memory plan (schedule, tiles, buffer offsets) is chosen by mcubert.planner: the cheapest that fits
    `budget` bytes of arena (optionally `region0` of them in a fast region), or as asked. Models and
    settings the runtime would not run as trained raise QuantError (`check_convertible`).
    """
    check_convertible(ckpt, max_seq_len, max_layers=max_layers)
    s = ckpt.shape
    w = ckpt.weights
    flags = (blob.FLAG_POOLER if ckpt.has_pooler else 0) | (blob.FLAG_CLASSIFIER if s.n_labels else 0) | \
        (blob.FLAG_TOKEN_CLASSIFIER if s.n_tags else 0) | (blob.FLAG_CASE_TYPES if ckpt.case_types else 0)
    cfg = blob.Config(vocab_size=s.vocab_size, n_layers=s.n_layers, hidden=s.hidden, n_heads=s.n_heads,
                      ffn=s.ffn, max_pos=s.max_pos, type_vocab=s.type_vocab, n_labels=s.n_labels,
                      max_seq_len=max_seq_len, flags=flags, n_tags=s.n_tags, head=int(ckpt.head))
    try:
        cfg.validate()
    except blob.BlobError as e:
        raise QuantError(str(e)) from None
    sec: dict[int, bytes] = {}

    # Embeddings: per-row word scales, one scale each for positions and types,
    # all brought to a common scale by multipliers of at most 2^EMB_MULT_BITS.
    pos, typ = w["embeddings.position_embeddings.weight"], w["embeddings.token_type_embeddings.weight"]
    s_pos, s_typ = _scale(float(np.abs(pos).max())), _scale(float(np.abs(typ).max()))
    if ckpt.clustered:
        dense_rows = np.abs(ckpt.word_embeddings()).max(axis=1) / 127.0
        s_common = max(float(dense_rows.max()), s_pos, s_typ) / (1 << arith.EMB_MULT_BITS)
        sec.update(_clustered_embedding(ckpt, s_common))
        flags |= blob.FLAG_EMB_CLUSTERED
        cfg = dataclasses.replace(cfg, flags=flags)
    else:
        wq, s_row = _weights(w["embeddings.word_embeddings.weight"])
        s_common = max(float(s_row.max()), s_pos, s_typ) / (1 << arith.EMB_MULT_BITS)
        sec[Sec.WORD_EMB] = wq.tobytes()
        sec[Sec.WORD_MULT] = np.round(s_row / s_common).astype("<u2").tobytes()
    sec[Sec.POS_EMB] = np.clip(np.round(pos / s_pos), -127, 127).astype(np.int8).tobytes()
    sec[Sec.TYPE_EMB] = np.clip(np.round(typ / s_typ), -127, 127).astype(np.int8).tobytes()
    mp = np.zeros(1, dtype=blob.MODEL_PARAMS_DTYPE)
    mp["pos_mult"] = round(s_pos / s_common)
    mp["type_mult"] = round(s_typ / s_common)
    sec[Sec.MODEL_PARAMS] = mp.tobytes()
    s_h = _dim_scales(absmax["emb"])
    sec[Sec.EMB_LN_GAMMA], sec[Sec.EMB_LN_BETA] = _layernorm(w["embeddings.LayerNorm.weight"],
                                                             w["embeddings.LayerNorm.bias"], s_h)
    act = activation(s.act)
    dh = s.hidden // s.n_heads
    for i in range(s.n_layers):
        p = f"encoder.layer.{i}."

        def put(ls: LayerSec, data: bytes) -> None:
            sec[layer_sec(i, ls)] = data

        s_q, s_k, s_v = (_scale(absmax[f"{i}.{n}"]) for n in "qkv")
        s_ctx, s_h1 = _scale(absmax[f"{i}.ctx"]), _dim_scales(absmax[f"{i}.h_attn"])
        s_pre, s_h2 = _scale(absmax[f"{i}.ffn_pre"], arith.PRE_MAX), _dim_scales(absmax[f"{i}.h_ffn"])
        for (lw, lr), name, s_out in (((LayerSec.Q_W, LayerSec.Q_RQ), "attention.self.query", s_q),
                                      ((LayerSec.K_W, LayerSec.K_RQ), "attention.self.key", s_k),
                                      ((LayerSec.V_W, LayerSec.V_RQ), "attention.self.value", s_v)):
            wb, rb = _linear(w[p + name + ".weight"], w[p + name + ".bias"], s_h, s_out)
            put(lw, wb)
            put(lr, rb)
        lp = np.zeros(1, dtype=blob.LAYER_PARAMS_DTYPE)
        lp["score_mult"], lp["score_shift"] = arith.quantize_multiplier(
            s_q * s_k / math.sqrt(dh) * math.log2(math.e) * (1 << arith.SCORE_FRAC))
        lp["ctx_mult"], lp["ctx_shift"] = arith.quantize_multiplier(s_v / arith.PROB_MAX / s_ctx)
        put(LayerSec.PARAMS, lp.tobytes())
        # attention output straight into the residual-sum scale of the layer input
        res, s_res = _res_mult(s_h)
        put(LayerSec.ATTN_RES_MULT, res)
        wb, rb = _linear(w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"], s_ctx, s_res)
        put(LayerSec.O_W, wb)
        put(LayerSec.O_RQ, rb)
        g, b = _layernorm(w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"], s_h1)
        put(LayerSec.LN_ATTN_GAMMA, g)
        put(LayerSec.LN_ATTN_BETA, b)
        wb, rb = _linear(w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"], s_h1, s_pre)
        put(LayerSec.FFN_IN_W, wb)
        put(LayerSec.FFN_IN_RQ, rb)
        # activation table: entry i is act((256 i - 32768) * s_pre), in 12-bit steps of s_g
        grid = torch.from_numpy((np.arange(arith.ACT_LUT_SIZE, dtype=np.float64) * 256 - 32768) * s_pre)
        y = act(grid).numpy()
        s_g = _scale(float(np.abs(y).max()), arith.ACT_MAX)
        put(LayerSec.GELU_LUT, np.clip(np.round(y / s_g), -arith.ACT_MAX, arith.ACT_MAX).astype("<i2").tobytes())
        res, s_res = _res_mult(s_h1)
        put(LayerSec.FFN_RES_MULT, res)
        wb, rb = _linear(w[p + "output.dense.weight"], w[p + "output.dense.bias"], s_g, s_res)
        put(LayerSec.FFN_OUT_W, wb)
        put(LayerSec.FFN_OUT_RQ, rb)
        g, b = _layernorm(w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], s_h2)
        put(LayerSec.LN_FFN_GAMMA, g)
        put(LayerSec.LN_FFN_BETA, b)
        s_h = s_h2

    logit_scale = token_logit_scale = None
    if ckpt.has_pooler:
        s_pt = _scale(absmax["pool_pre"])
        sec[Sec.POOLER_W], sec[Sec.POOLER_RQ] = _linear(w["pooler.dense.weight"], w["pooler.dense.bias"], s_h, s_pt)
        sec[Sec.TANH_LUT] = _lut(torch.tanh, s_pt, 1 / 127)
    if s.n_labels:
        sec[Sec.CLS_W], sec[Sec.CLS_RQ], logit_scale = _logits_head(w["classifier.weight"], w["classifier.bias"],
                                                                    1 / 127)
    if s.n_tags:
        sec[Sec.TOK_W], sec[Sec.TOK_RQ], token_logit_scale = _logits_head(
            w["token_classifier.weight"], w["token_classifier.bias"], s_h)
    if s.n_labels or s.n_tags:
        sec[Sec.LABELS] = heads.pack_labels(ckpt.labels, ckpt.tags)

    if vocab is not None:
        sec[Sec.VOCAB] = vocab
    chosen, plan_secs = planner.plans_for_blob(cfg, schedule=schedule, budget=budget, region0=region0, tiles=tiles,
                                                arena_only=arena_only, target=target)
    sec.update(plan_secs)
    info = dict(meta or {})
    info.update(hidden_scale=[float(x) for x in s_h], pooled_scale=1 / 127, logit_scale=logit_scale, labels=ckpt.labels)
    if s.n_tags:
        info.update(token_logit_scale=token_logit_scale, tags=ckpt.tags)
    if ckpt.head != heads.implied_head(s.n_labels, s.n_tags):
        info.update(task=heads.TASKS[ckpt.head])
    sec[Sec.META] = json.dumps(info, sort_keys=True).encode()
    cfg = dataclasses.replace(cfg, logit_scale=logit_scale or 0.0, token_logit_scale=token_logit_scale or 0.0)
    data = blob.pack(cfg, {int(k): v for k, v in sec.items()}, schedule=chosen.schedule)
    try:
        bounds.check(blob.unpack(data))
    except bounds.BoundsError as e:
        raise QuantError(f"the runtime would refuse this blob: {e}") from None
    return data

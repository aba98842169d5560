# SPDX-License-Identifier: Apache-2.0
"""The numpy integer reference: a blob's forward pass, bit-exact with the C runtime.

It reads only the blob (like the runtime) and uses only mcubert.arith, so
whatever it computes the C runtime must compute too.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mcubert.formats import wide_weights
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
    LayerSec,
    Sec,
    layer_sec,
)
from mcubert.numerics import arith, bounds


@dataclasses.dataclass
class Output:
    hidden: np.ndarray  # (L, d) int8
    pooled: np.ndarray | None  # (d,) int8, scale 1/127
    logits: np.ndarray | None  # (n_labels,) int32
    token_logits: np.ndarray | None = None  # (L, n_tags) int32

    @property
    def label(self) -> int | None:
        return None if self.logits is None else int(np.argmax(self.logits))

    @property
    def tags(self) -> list[int] | None:
        """Each token's tag (largest token logit, the first on ties)."""
        return None if self.token_logits is None else [int(x) for x in np.argmax(self.token_logits, axis=1)]


class InputError(ValueError):
    """Token ids, types or lengths the model cannot run (the runtime's -ERANGE/-E2BIG/-EINVAL)."""


class Reference:
    def __init__(self, blob: Blob) -> None:
        bounds.check(blob)  # BoundsError where the runtime refuses the blob (-EINVAL)
        self.blob = blob
        self.cfg = cfg = blob.cfg
        d = cfg.hidden
        self.mp = blob.array(Sec.MODEL_PARAMS, MODEL_PARAMS_DTYPE)[0]
        self.word_mult = blob.array(Sec.WORD_MULT, "<u2")
        self.clustered = bool(cfg.flags & FLAG_EMB_CLUSTERED)
        if self.clustered:
            self.perm = blob.array(Sec.EMB_PERM, "<u2").astype(np.int64)
            self.clusters = blob.array(Sec.EMB_CLUSTERS, EMB_CLUSTER_DTYPE)
            self.tables = blob.array(Sec.EMB_TABLES, np.int8).astype(np.int64)
            self.proj = blob.array(Sec.EMB_PROJ, np.int8).astype(np.int64)
        else:
            self.word = blob.array(Sec.WORD_EMB, np.int8, (cfg.vocab_size, d))
        self.pos = blob.array(Sec.POS_EMB, np.int8, (cfg.max_pos, d))
        self.typ = blob.array(Sec.TYPE_EMB, np.int8, (cfg.type_vocab, d))
        self.ln_emb = (blob.array(Sec.EMB_LN_GAMMA, "<i4"), blob.array(Sec.EMB_LN_BETA, "<i4"))

    def _words(self, ids: np.ndarray) -> np.ndarray:
        """Word vectors in the embedding-sum scale (int64, (L, d))."""
        wm = self.word_mult[ids].astype(np.int64)
        if not self.clustered:
            return self.word[ids].astype(np.int64) * wm[:, None]
        d = self.cfg.hidden
        out = np.empty((len(ids), d), dtype=np.int64)
        starts = self.clusters["row_start"].astype(np.int64)
        for i, t in enumerate(ids):
            g = int(self.perm[t])
            c = int(np.searchsorted(starts, g, side="right") - 1)
            cl = self.clusters[c]
            r, sh = int(cl["rank"]), int(cl["shift"])
            row = self.tables[int(cl["table_offset"]) + (g - int(cl["row_start"])) * r:][:r]
            pt = self.proj[int(cl["proj_offset"]):][: d * r].reshape(d, r)
            acc = pt @ row
            out[i] = arith.sat((acc * wm[i] + ((1 << (sh - 1)) if sh else 0)) >> sh, arith.RES_MIN, arith.RES_MAX)
        return out

    def _lin(self, sid_w: int, sid_rq: int, n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.blob.sections[sid_w]) == 2 * n_out * n_in:  # FLAG_WEIGHTS_S16 (unpack checked the size)
            w = wide_weights.from_pairs(self.blob.array(sid_w, "<i2", (n_out, n_in)))
        else:
            w = self.blob.array(sid_w, np.int8, (n_out, n_in))
        return w, self.blob.array(sid_rq, REQUANT_DTYPE)

    def _layer(self, i: int, sec: LayerSec, dtype, shape=None) -> np.ndarray:
        return self.blob.array(layer_sec(i, sec), dtype, shape)

    def run(self, ids, type_ids=None, trace: dict | None = None) -> Output:
        """Forward pass; with `trace`, intermediate int tensors are stored in it by calibration-site name."""
        tr = trace if trace is not None else {}
        cfg = self.cfg
        ids = np.asarray(ids, dtype=np.int64)
        L = ids.shape[0]
        if L < 1:
            raise InputError("empty sequence")
        if L > cfg.max_seq_len:
            raise InputError(f"sequence of {L} tokens exceeds max_seq_len {cfg.max_seq_len}")
        types = np.zeros(L, dtype=np.int64) if type_ids is None else np.asarray(type_ids, dtype=np.int64)
        if ids.min() < 0 or ids.max() >= cfg.vocab_size:
            raise InputError("token id out of range")
        if types.shape != ids.shape or types.min() < 0 or types.max() >= cfg.type_vocab:
            raise InputError("token type id out of range")

        # Embedding sum in a common scale, then LayerNorm.
        r = (self._words(ids)
             + self.pos[:L].astype(np.int64) * int(self.mp["pos_mult"])
             + self.typ[types].astype(np.int64) * int(self.mp["type_mult"]))
        h = arith.layernorm(r, *self.ln_emb)
        tr["emb"] = h

        d, nh, dh, f = cfg.hidden, cfg.n_heads, cfg.head_dim, cfg.ffn
        for i in range(cfg.n_layers):
            p = self._layer(i, LayerSec.PARAMS, LAYER_PARAMS_DTYPE)[0]
            q = arith.linear(h, *self._lin(layer_sec(i, LayerSec.Q_W), layer_sec(i, LayerSec.Q_RQ), d, d), -128, 127)
            k = arith.linear(h, *self._lin(layer_sec(i, LayerSec.K_W), layer_sec(i, LayerSec.K_RQ), d, d), -128, 127)
            v = arith.linear(h, *self._lin(layer_sec(i, LayerSec.V_W), layer_sec(i, LayerSec.V_RQ), d, d), -128, 127)
            tr.update({f"{i}.q": q, f"{i}.k": k, f"{i}.v": v})
            ctx = np.empty((L, d), dtype=np.int64)
            for hd in range(nh):
                cols = slice(hd * dh, (hd + 1) * dh)
                s = q[:, cols] @ k[:, cols].T
                z = s - s.max(axis=1, keepdims=True)
                e = arith.softmax_exp(z, int(p["score_mult"]), int(p["score_shift"]))
                prob = arith.softmax_probs(e)
                ctx[:, cols] = arith.sat8(arith.requant(prob @ v[:, cols], int(p["ctx_mult"]), int(p["ctx_shift"])))
            o = arith.linear(ctx, *self._lin(layer_sec(i, LayerSec.O_W), layer_sec(i, LayerSec.O_RQ), d, d),
                             arith.RES_MIN, arith.RES_MAX)
            r = h * self._layer(i, LayerSec.ATTN_RES_MULT, "<i4").astype(np.int64) + o
            h = arith.layernorm(r, self._layer(i, LayerSec.LN_ATTN_GAMMA, "<i4"),
                                self._layer(i, LayerSec.LN_ATTN_BETA, "<i4"))
            tr.update({f"{i}.ctx": ctx, f"{i}.h_attn": h})

            pre = arith.linear(h, *self._lin(layer_sec(i, LayerSec.FFN_IN_W), layer_sec(i, LayerSec.FFN_IN_RQ), f, d),
                               arith.PRE_MIN, arith.PRE_MAX)
            tr[f"{i}.ffn_pre"] = pre
            g = arith.act_interp(pre, self._layer(i, LayerSec.GELU_LUT, "<i2"))
            o = arith.linear(g, *self._lin(layer_sec(i, LayerSec.FFN_OUT_W), layer_sec(i, LayerSec.FFN_OUT_RQ), d, f),
                             arith.RES_MIN, arith.RES_MAX)
            r = h * self._layer(i, LayerSec.FFN_RES_MULT, "<i4").astype(np.int64) + o
            h = arith.layernorm(r, self._layer(i, LayerSec.LN_FFN_GAMMA, "<i4"),
                                self._layer(i, LayerSec.LN_FFN_BETA, "<i4"))
            tr[f"{i}.h_ffn"] = h

        pooled = logits = None
        if cfg.flags & FLAG_POOLER:
            pre = arith.linear(h[0], *self._lin(Sec.POOLER_W, Sec.POOLER_RQ, d, d), -128, 127)
            pooled = self.blob.array(Sec.TANH_LUT, np.int8).astype(np.int64)[pre & 0xFF]
        if cfg.flags & FLAG_CLASSIFIER:
            logits = arith.linear(pooled, *self._lin(Sec.CLS_W, Sec.CLS_RQ, cfg.n_labels, d),
                                  arith.INT32_MIN, arith.INT32_MAX)
        token_logits = None
        if cfg.flags & FLAG_TOKEN_CLASSIFIER:
            token_logits = arith.linear(h, *self._lin(Sec.TOK_W, Sec.TOK_RQ, cfg.n_tags, d),
                                        arith.INT32_MIN, arith.INT32_MAX).astype(np.int32)
        return Output(hidden=h.astype(np.int8),
                      pooled=None if pooled is None else pooled.astype(np.int8),
                      logits=None if logits is None else logits.astype(np.int32), token_logits=token_logits)

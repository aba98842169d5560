# SPDX-License-Identifier: Apache-2.0
"""The float BERT forward pass over a Checkpoint, with calibration probes.

It is the float twin of the integer reference: the same operations in the
same order, so each calibration site ("q", "ctx", "ffn_pre", ...) names the
tensor that the integer pass quantises there. Tests check it against
transformers' BertModel.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from mcubert.conversion.checkpoint import Checkpoint


def activation(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    if name == "gelu":
        return lambda x: torch.nn.functional.gelu(x)
    if name in ("gelu_new", "gelu_pytorch_tanh"):
        return lambda x: torch.nn.functional.gelu(x, approximate="tanh")
    if name == "relu":
        return torch.relu
    raise ValueError(f"unsupported activation {name}")


class FloatBert:
    """Float forward pass; `absmax` collects per-site max |x| when `calibrating`."""

    def __init__(self, ckpt: Checkpoint) -> None:
        self.shape = ckpt.shape
        self.w = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in ckpt.weights.items()}
        self.w["embeddings.word_embeddings.weight"] = torch.from_numpy(np.ascontiguousarray(ckpt.word_embeddings()))
        self.act = activation(self.shape.act)
        self.calibrating = False
        self.absmax: dict[str, np.ndarray] = {}  # per site: max |x| per last-axis channel
        self.trace: dict[str, torch.Tensor] | None = None  # set to a dict to keep every site's tensor

    def _probe(self, site: str, x: torch.Tensor) -> None:
        if self.trace is not None:
            self.trace[site] = x
        if self.calibrating:
            m = x.abs().reshape(-1, x.shape[-1]).max(dim=0).values.numpy().astype(np.float64)
            self.absmax[site] = np.maximum(self.absmax[site], m) if site in self.absmax else m

    def _lin(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def _ln(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.layer_norm(x, (x.shape[-1],), self.w[name + ".weight"], self.w[name + ".bias"],
                                              self.shape.layer_norm_eps)

    @torch.no_grad()
    def forward(self, ids, type_ids=None) -> dict[str, torch.Tensor | None]:
        s = self.shape
        ids_t = torch.as_tensor(np.asarray(ids), dtype=torch.long)
        L = ids_t.shape[0]
        types_t = torch.zeros(L, dtype=torch.long) if type_ids is None else torch.as_tensor(np.asarray(type_ids),
                                                                                             dtype=torch.long)
        x = (self.w["embeddings.word_embeddings.weight"][ids_t]
             + self.w["embeddings.position_embeddings.weight"][:L]
             + self.w["embeddings.token_type_embeddings.weight"][types_t])
        h = self._ln("embeddings.LayerNorm", x)
        self._probe("emb", h)
        dh = s.hidden // s.n_heads
        for i in range(s.n_layers):
            p = f"encoder.layer.{i}."
            q = self._lin(p + "attention.self.query", h)
            k = self._lin(p + "attention.self.key", h)
            v = self._lin(p + "attention.self.value", h)
            for site, t in ((f"{i}.q", q), (f"{i}.k", k), (f"{i}.v", v)):
                self._probe(site, t)
            qh = q.view(L, s.n_heads, dh).transpose(0, 1)
            kh = k.view(L, s.n_heads, dh).transpose(0, 1)
            vh = v.view(L, s.n_heads, dh).transpose(0, 1)
            prob = torch.softmax(qh @ kh.transpose(1, 2) / math.sqrt(dh), dim=-1)
            ctx = (prob @ vh).transpose(0, 1).reshape(L, s.hidden)
            self._probe(f"{i}.ctx", ctx)
            h = self._ln(p + "attention.output.LayerNorm", h + self._lin(p + "attention.output.dense", ctx))
            self._probe(f"{i}.h_attn", h)
            pre = self._lin(p + "intermediate.dense", h)
            self._probe(f"{i}.ffn_pre", pre)
            h = self._ln(p + "output.LayerNorm", h + self._lin(p + "output.dense", self.act(pre)))
            self._probe(f"{i}.h_ffn", h)
        pooled = logits = None
        if "pooler.dense.weight" in self.w:
            pre = self._lin("pooler.dense", h[0])
            self._probe("pool_pre", pre)
            pooled = torch.tanh(pre)
        if "classifier.weight" in self.w:
            logits = self._lin("classifier", pooled)
        token_logits = self._lin("token_classifier", h) if "token_classifier.weight" in self.w else None
        return {"hidden": h, "pooled": pooled, "logits": logits, "token_logits": token_logits}

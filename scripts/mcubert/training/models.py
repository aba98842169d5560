# SPDX-License-Identifier: Apache-2.0
"""The student and its teacher: shapes, initialisation from a larger pretrained BertModel, saving.

The student is a transformers `BertForSequenceClassification` of any shape.
`init_from_source` starts it from a larger pretrained BertModel
(all-MiniLM-L6-v2 in practice):

  * word, position and token-type embeddings: the source tables projected
    onto the top-`hidden` principal directions of the source word-embedding
    table (`pca_basis`; one projection for all three, the word table centred);
  * encoder ("minilm"): each student layer is a source layer truncated in that
    same basis: the residual stream is projected, the most important attention
    heads and FFN neurons are kept, the rest dropped; LayerNorms and the pooler
    are projected likewise. "random": default transformers initialisation;
  * a student of the source's own shape is the source, copied unchanged;
  * classifier: default initialisation.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from mcubert.training.config import META_FILE, TrainConfig
from mcubert.training.data import LABELS
from mcubert.training.errors import TrainError

log = logging.getLogger(__name__)

Teacher = Callable[[dict[str, torch.Tensor]], torch.Tensor]
Weights = dict[str, torch.Tensor]


def student_config(cfg: TrainConfig, vocab_size: int, **head: Any) -> Any:
    """The transformers BertConfig of the student described by `cfg` (layers, hidden, heads, ffn, ...);
    `head` sets the head's entries (num_labels, id2label, ...; default: the SST-2 classifier's)."""
    from transformers import BertConfig

    if cfg.hidden % cfg.heads:
        raise TrainError(f"hidden {cfg.hidden} is not divisible by {cfg.heads} heads")
    labels = {"num_labels": len(LABELS), "id2label": dict(LABELS), "label2id": {v: k for k, v in LABELS.items()}}
    return BertConfig(
        vocab_size=vocab_size, hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads, intermediate_size=cfg.ffn, max_position_embeddings=cfg.max_pos,
        type_vocab_size=2, hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout_prob=cfg.dropout,
        attention_probs_dropout_prob=cfg.dropout, pad_token_id=0, **{**labels, **head})


def load_source(path: Path) -> tuple[dict[str, Any], Weights]:
    """A pretrained BertModel directory as (config, float32 tensors named as in HF BertModel)."""
    from mcubert.conversion.checkpoint import CheckpointError, load

    try:
        ck = load(path)
    except CheckpointError as e:
        raise TrainError(str(e)) from None
    return ck.config, {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in ck.weights.items()}


def pca_basis(table: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, P): the mean row of `table` and its top-k principal directions as columns (D x k)."""
    t = table.double()
    mu = t.mean(0)
    _, s, vt = torch.linalg.svd(t - mu, full_matrices=False)
    v = vt[:k].T
    # fix the signs so that the basis does not depend on the SVD implementation
    v = v * torch.sign(v.gather(0, v.abs().argmax(0, keepdim=True)))
    kept = float((s[:k] ** 2).sum() / (s ** 2).sum())
    log.info("PCA %d -> %d keeps %.1f %% of the word-embedding variance", table.shape[1], k, 100 * kept)
    return mu.float(), v.float()


def source_layers(spec: str, n_src: int, n_dst: int) -> list[int]:
    """The source layer of each student layer: "first", "spread" (evenly) or a comma list "0,3"."""
    if spec == "first":
        idx = list(range(n_dst))
    elif spec == "spread":
        idx = [round(i * (n_src - 1) / max(n_dst - 1, 1)) for i in range(n_dst)] if n_dst > 1 else [0]
    else:
        try:
            idx = [int(x) for x in spec.split(",")]
        except ValueError:
            raise TrainError(f"--init-layers: '{spec}' is not first, spread or a comma list of layer numbers") from None
    if len(idx) != n_dst or any(not 0 <= i < n_src for i in idx):
        raise TrainError(f"--init-layers: need {n_dst} layer numbers in 0..{n_src - 1}, got {idx}")
    return idx


_SHAPE_KEYS = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")


@torch.no_grad()
def init_from_source(model: Any, src_cfg: dict[str, Any], src: Weights, encoder: str = "minilm",
                     layers: str = "first") -> dict[str, Any]:
    """Initialise `model` (any model with a `.bert` BertModel) from a larger BertModel; returns a summary."""
    cfg = model.config
    d, D = cfg.hidden_size, int(src_cfg["hidden_size"])
    if int(src_cfg["vocab_size"]) != cfg.vocab_size:
        raise TrainError(f"source vocabulary has {src_cfg['vocab_size']} tokens, the student's has {cfg.vocab_size}")
    if d > D:
        raise TrainError(f"student hidden {d} is wider than the source's {D}")
    if encoder == "minilm" and all(int(src_cfg[k]) == int(getattr(cfg, k)) for k in _SHAPE_KEYS):
        return _copy_source(model.bert, src)  # the source's own shape: fine-tune the source itself
    mu, P = pca_basis(src["embeddings.word_embeddings.weight"], d)
    _project_embeddings(model.bert.embeddings, cfg, src, mu, P)
    summary: dict[str, Any] = {"pca_dims": d, "encoder": "random"}
    if encoder == "random":
        return summary
    if encoder != "minilm":
        raise TrainError(f"--init-encoder: unknown mode '{encoder}' (minilm, random)")
    chosen = _truncate_encoder(model.bert, cfg, src_cfg, src, P, layers)
    summary.update(encoder="minilm", source_layers=chosen)
    return summary


def _copy_source(bert: Any, src: Weights) -> dict[str, Any]:
    missing, unexpected = bert.load_state_dict(src, strict=False)
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise TrainError(f"source weights do not fit (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return {"encoder": "copy"}


def _project_embeddings(emb: Any, cfg: Any, src: Weights, mu: torch.Tensor, P: torch.Tensor) -> None:
    emb.word_embeddings.weight.copy_((src["embeddings.word_embeddings.weight"] - mu) @ P)
    npos = min(cfg.max_position_embeddings, src["embeddings.position_embeddings.weight"].shape[0])
    emb.position_embeddings.weight[:npos].copy_(src["embeddings.position_embeddings.weight"][:npos] @ P)
    ntt = min(cfg.type_vocab_size, src["embeddings.token_type_embeddings.weight"].shape[0])
    emb.token_type_embeddings.weight[:ntt].copy_(src["embeddings.token_type_embeddings.weight"][:ntt] @ P)


def _project_layernorm(dst: Any, src: Weights, key: str, P: torch.Tensor) -> None:
    """diag(P^T diag(g) P) and P^T b."""
    dst.weight.copy_((P ** 2).T @ src[key + ".weight"])
    dst.bias.copy_(P.T @ src[key + ".bias"])


def _truncate_encoder(bert: Any, cfg: Any, src_cfg: dict[str, Any], src: Weights, P: torch.Tensor,
                      layers: str) -> list[int]:
    d, D = cfg.hidden_size, int(src_cfg["hidden_size"])
    n_src, H_src = int(src_cfg["num_hidden_layers"]), int(src_cfg["num_attention_heads"])
    hd_src, hd = D // H_src, d // cfg.num_attention_heads
    if d % hd_src or d // hd_src > H_src or hd % hd_src:
        raise TrainError(f"cannot build {cfg.num_attention_heads} heads of {hd} from source heads of {hd_src}")
    if cfg.intermediate_size > int(src_cfg["intermediate_size"]):
        raise TrainError(f"student FFN {cfg.intermediate_size} is wider than the source's "
                         f"{src_cfg['intermediate_size']}")
    q_scale = math.sqrt(hd / hd_src)  # merged heads: keep the logits' scale of the source heads
    chosen = source_layers(layers, n_src, cfg.num_hidden_layers)
    for i, j in enumerate(chosen):
        s, t = f"encoder.layer.{j}.", bert.encoder.layer[i]
        _truncate_attention(t.attention, src, s, P, H_src, hd_src, d // hd_src, q_scale)
        _truncate_ffn(t, src, s, P, cfg.intermediate_size)
    _project_layernorm(bert.embeddings.LayerNorm, src, "embeddings.LayerNorm", P)
    if "pooler.dense.weight" in src and bert.pooler is not None:
        bert.pooler.dense.weight.copy_(P.T @ src["pooler.dense.weight"] @ P)
        bert.pooler.dense.bias.copy_(P.T @ src["pooler.dense.bias"])
    return chosen


def _truncate_attention(att: Any, src: Weights, s: str, P: torch.Tensor, H_src: int, hd_src: int,
                        keep_heads: int, q_scale: float) -> None:
    """Keep the `keep_heads` source heads of largest |W_v P| |P^T W_o|, in the PCA basis."""
    wv, wo = src[s + "attention.self.value.weight"], src[s + "attention.output.dense.weight"]
    cols = [slice(h * hd_src, (h + 1) * hd_src) for h in range(H_src)]
    score = torch.stack([(wv[c] @ P).norm() * (P.T @ wo[:, c]).norm() for c in cols])
    heads = sorted(score.topk(keep_heads).indices.tolist())
    rows = torch.cat([torch.arange(h * hd_src, (h + 1) * hd_src) for h in heads])
    for name, mod, scale in (("query", att.self.query, q_scale), ("key", att.self.key, 1.0),
                             ("value", att.self.value, 1.0)):
        mod.weight.copy_(scale * src[s + f"attention.self.{name}.weight"][rows] @ P)
        mod.bias.copy_(scale * src[s + f"attention.self.{name}.bias"][rows])
    att.output.dense.weight.copy_(P.T @ wo[:, rows])
    att.output.dense.bias.copy_(P.T @ src[s + "attention.output.dense.bias"])
    _project_layernorm(att.output.LayerNorm, src, s + "attention.output.LayerNorm", P)


def _truncate_ffn(t: Any, src: Weights, s: str, P: torch.Tensor, width: int) -> None:
    """Keep the `width` source FFN neurons of largest |W_1 P| |P^T W_2|, in the PCA basis."""
    w1, w2 = src[s + "intermediate.dense.weight"], src[s + "output.dense.weight"]
    nscore = (w1 @ P).norm(dim=1) * (P.T @ w2).norm(dim=0)
    neurons = torch.sort(nscore.topk(width).indices).values
    t.intermediate.dense.weight.copy_(w1[neurons] @ P)
    t.intermediate.dense.bias.copy_(src[s + "intermediate.dense.bias"][neurons])
    t.output.dense.weight.copy_(P.T @ w2[:, neurons])
    t.output.dense.bias.copy_(P.T @ src[s + "output.dense.bias"])
    _project_layernorm(t.output.LayerNorm, src, s + "output.LayerNorm", P)


def build_model(cfg: TrainConfig, vocab_size: int, model_class: Any = None,
                head: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
    """The student of `cfg` (seeded by cfg.seed), initialised from cfg.init_from if set; and a summary.
    `model_class` (default BertForSequenceClassification) and `head` (config entries) choose the task head."""
    from transformers import BertForSequenceClassification

    torch.manual_seed(cfg.seed)
    model = (model_class or BertForSequenceClassification)(student_config(cfg, vocab_size, **(head or {})))
    summary: dict[str, Any] = {"init": "random"}
    if cfg.init_from is not None:
        src_cfg, src = load_source(cfg.init_from)
        summary = init_from_source(model, src_cfg, src, cfg.init_encoder, cfg.init_layers)
        summary["init"] = str(cfg.init_from)
    return model, summary


def load_teacher(path: Path, device: torch.device | str = "cpu") -> Teacher:
    """An HF sequence-classification directory (same vocabulary and labels) as a logits function on `device`."""
    from transformers import AutoModelForSequenceClassification

    t = AutoModelForSequenceClassification.from_pretrained(str(path))
    t.to(device).eval()

    @torch.no_grad()
    def logits(batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return t(**batch).logits.float()

    return logits


def save_model(model: Any, tokenizer: Any, vocab: Path, out: Path, meta: dict[str, Any]) -> None:
    """save_pretrained (config.json + model.safetensors), the tokenizer files and a copy of vocab.txt."""
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    if not (out / "vocab.txt").exists():  # transformers 5 writes only tokenizer.json
        shutil.copyfile(vocab, out / "vocab.txt")
    for f in out.iterdir():  # save_pretrained may create the weights file owner-only
        if f.is_file():
            f.chmod(0o644)
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")

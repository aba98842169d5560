# SPDX-License-Identifier: Apache-2.0
"""model.pt in the contract format (read, written, rebuilt as a torch model), and what a model holds.

The converter's contract: torch.save({"config": hf_config, "state_dict": sd}, "model.pt"), `sd` an HF
BertForSequenceClassification state dict without `bert.embeddings.word_embeddings.weight` and with
`...word_embeddings.cluster` (V,) int64, `.row` (V,) int64, `.table.{i}` (n_i, r_i), `.proj.{i}` (r_i, d),
and config["mcubert_embedding"] = {"kind": "clustered_low_rank", "clusters": K, "ranks": [...],
"sizes": [...]}.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from mcubert.compression.budget import flash_estimate, nonword_params
from mcubert.compression.corpus import Data
from mcubert.compression.embedding import KIND, ClusteredLowRankEmbedding, embedding_parts
from mcubert.compression.errors import CompressError
from mcubert.training import TrainError, encode, make_tokenizer, read_tsv
from mcubert.training import evaluate as evaluate_model
from mcubert.training.heads import ARCHITECTURES, model_class, task_of


def _read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(config, state_dict) of a torch.save({"config", "state_dict"}) file, float tensors as float32."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        raise CompressError(f"{path}: not a readable torch checkpoint ({str(e).splitlines()[0][:200]})") from None
    if not (isinstance(obj, Mapping) and "config" in obj and "state_dict" in obj):
        raise CompressError(f"{path}: not a {{'config', 'state_dict'}} checkpoint")
    sd = {k: (v.float() if v.is_floating_point() else v) for k, v in dict(obj["state_dict"]).items()}
    return dict(obj["config"]), sd


def load_compressed(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(config, state_dict) of a model.pt in the contract format (float tensors as float32)."""
    config, sd = _read_checkpoint(Path(path))
    meta = config.get("mcubert_embedding")
    if not meta or meta.get("kind") != KIND:
        raise CompressError(f"{path}: config has no mcubert_embedding of kind {KIND}")
    _, parts = embedding_parts(sd)
    for i, (n, r) in enumerate(zip(meta["sizes"], meta["ranks"])):
        t, p = parts.get(f"table.{i}"), parts.get(f"proj.{i}")
        if t is None or p is None or tuple(t.shape) != (n, r) or p.shape[0] != r:
            raise CompressError(f"{path}: cluster {i} tensors do not match sizes/ranks in the config")
    return config, sd


def save_compressed(path: str | Path, model: nn.Module, config: Mapping[str, Any],
                    dtype: torch.dtype = torch.float32, extra: Mapping[str, Any] | None = None) -> None:
    """torch.save the contract format; float tensors in `dtype` (float16 halves the file)."""
    emb = model.bert.embeddings.word_embeddings
    if not isinstance(emb, ClusteredLowRankEmbedding):
        raise CompressError("the model's word embedding is not a ClusteredLowRankEmbedding")
    sd = {}
    for k, v in model.state_dict().items():
        if k.endswith(("position_ids", "token_type_ids")):  # non-persistent index buffers
            continue
        v = v.detach().cpu()
        sd[k] = v.to(dtype) if v.is_floating_point() else v.long()
    cfg = dict(config)
    cfg["mcubert_embedding"] = emb.embedding_meta()
    if extra:
        cfg["mcubert_compress"] = dict(extra)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"config": cfg, "state_dict": sd}, tmp)
    tmp.replace(path)


def save_task_dir(out: str | Path, config: Mapping[str, Any], model: nn.Module, tokenizer: Any,
                  vocab: str | Path) -> Path:
    """A compressed task model as a task model directory (the NLU contract's format, which `mcubert convert`
    reads): config.json (with `mcubert_task` and `mcubert_embedding`), model.safetensors (the clustered
    embedding's tensors in place of the word table), vocab.txt and the tokenizer files."""
    from safetensors.torch import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = {k: v for k, v in config.items() if k != "mcubert_compress"}
    sd = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()
          if not k.endswith(("position_ids", "token_type_ids"))}
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    tokenizer.save_pretrained(out)
    if Path(vocab).resolve() != (out / "vocab.txt").resolve():
        shutil.copyfile(vocab, out / "vocab.txt")
    return out


def _bert_config(config: Mapping[str, Any]) -> Any:
    from transformers import BertConfig

    c = {k: v for k, v in config.items() if k not in ("mcubert_embedding", "mcubert_compress")}
    return BertConfig(**c)


# the converter's head names (conversion/checkpoint.py) back to each task model's
_HEAD_NAMES = {"tag": {"token_classifier.": "classifier."},
               "intent-slots": {"classifier.": "intent_classifier.", "token_classifier.": "slot_classifier."}}
_HEADS = ("classifier.", "token_classifier.", "intent_classifier.", "slot_classifier.")


def _task_key(key: str, task: str) -> str:
    """A state dict key as the task's torch model names it (bert.* and its head)."""
    for old, new in _HEAD_NAMES.get(task, {}).items():
        if key.startswith(old):
            return new + key[len(old):]
    return key if key.startswith(("bert.",) + _HEADS) else "bert." + key


def build_model(config: Mapping[str, Any], sd: Mapping[str, torch.Tensor]) -> nn.Module:
    """The task's model (BertForSequenceClassification without `mcubert_task`) from the contract format (or a
    plain HF state dict, or the converter's view of a task model directory)."""
    task = task_of(dict(config))
    model = model_class(task)(_bert_config(config))
    sd = {_task_key(k, task): v for k, v in sd.items()}
    meta = config.get("mcubert_embedding")
    if meta:
        _, parts = embedding_parts(sd)
        emb = ClusteredLowRankEmbedding(parts["cluster"], parts["row"], meta["sizes"], meta["ranks"],
                                        int(config["hidden_size"]))
        model.bert.embeddings.word_embeddings = emb
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith(("position_ids", "token_type_ids"))]
    if missing or unexpected:
        raise CompressError(f"state dict does not fit the config (missing {missing[:3]}, unexpected {unexpected[:3]})")
    return model.eval()


def load_any(path: str | Path) -> tuple[dict[str, Any], nn.Module]:
    """(config, model) from an HF classifier directory or a model.pt (compressed or not)."""
    path = Path(path)
    if path.is_dir():
        from mcubert.conversion.checkpoint import CheckpointError, load

        try:
            ck = load(path)
        except CheckpointError as e:
            raise CompressError(str(e)) from None
        config = dict(ck.config)
        sd = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in ck.weights.items()}
        return config, build_model(config, sd)
    if not path.is_file():
        raise CompressError(f"{path}: no such file or directory")
    config, sd = _read_checkpoint(path)
    return config, build_model(config, sd)


def load_task(path: str | Path) -> tuple[str, nn.Module]:
    """(task, model in eval mode) of a task model directory or model.pt, compressed (a clustered embedding)
    or not."""
    config, model = load_any(path)
    return task_of(config), model.eval()


def count_params(model: nn.Module) -> int:
    """Parameters as stored (buffers such as cluster/row are not parameters)."""
    return sum(p.numel() for p in model.parameters())


def compressed_student(teacher: nn.Module, emb: ClusteredLowRankEmbedding, max_pos: int | None) -> nn.Module:
    """A copy of the teacher with the compressed word embedding and (optionally) fewer positions."""
    student = copy.deepcopy(teacher)
    student.bert.embeddings.word_embeddings = emb
    if max_pos and max_pos < student.config.max_position_embeddings:
        e = student.bert.embeddings
        old = e.position_embeddings.weight.data[:max_pos].clone()
        e.position_embeddings = nn.Embedding(max_pos, old.shape[1])
        e.position_embeddings.weight.data.copy_(old)
        e.position_ids = e.position_ids[:, :max_pos].clone()
        if hasattr(e, "token_type_ids"):
            e.token_type_ids = e.token_type_ids[:, :max_pos].clone()
        student.config.max_position_embeddings = max_pos
    return student


def model_config(model: nn.Module) -> dict[str, Any]:
    c = model.config.to_dict()
    c.pop("mcubert_embedding", None)
    c.pop("mcubert_compress", None)
    c["architectures"] = [ARCHITECTURES[task_of(c)]]
    return c


@torch.no_grad()
def evaluate(model: nn.Module, seqs: Sequence[Sequence[int]], labels: Sequence[int]) -> float:
    was = model.training
    acc = evaluate_model(model, seqs, labels)
    model.train(was)
    return acc


def score(model: nn.Module, data: Data) -> tuple[float, dict[str, Any]]:
    """(the score that selects a model, all metrics) of `model` on data's dev set: accuracy, or the task's
    score (Pearson, chunk F1, mean of intent accuracy and slot F1) and its metrics."""
    if data.task is None:
        acc = evaluate(model, data.dev_x, data.dev_y)
        return acc, {"accuracy": acc}
    t = data.task
    was = model.training
    m = t.task.metrics(t.task.predict(model, t.dev), t.dev_items, t.dev, t.labels)
    model.train(was)
    return float(m[t.task.score]), m


def score_name(data: Data) -> str:
    """The name of the score `score` gives: accuracy, or the task's (pearson, tag_f1, intent_slot_mean)."""
    return "accuracy" if data.task is None else str(data.task.task.score)


def read_config(path: str | Path) -> dict[str, Any]:
    """The config of a model directory (config.json) or model.pt, without building the model."""
    path = Path(path)
    if path.is_dir():
        try:
            return dict(json.loads((path / "config.json").read_text()))
        except (OSError, ValueError) as e:
            raise CompressError(f"{path}: not a model directory ({e})") from None
    if not path.is_file():
        raise CompressError(f"{path}: no such file or directory")
    return _read_checkpoint(path)[0]


def describe(path: str | Path) -> dict[str, Any]:
    """Method, clusters, ranks, parameters and estimated flash bytes of a compressed model.pt."""
    config, _ = load_compressed(path)
    meta = config["mcubert_embedding"]
    V, d = int(config["vocab_size"]), int(config["hidden_size"])
    emb = sum(n * r + r * d for n, r in zip(meta["sizes"], meta["ranks"]))
    method = (config.get("mcubert_compress") or {}).get("method", "clustered")
    emb_params = meta["sizes"][0] * d if method == "prune" else emb
    P = int(config.get("max_position_embeddings", 512))
    return {"model": str(path), "method": method, "clusters": meta["clusters"], "ranks": meta["ranks"],
            "sizes": meta["sizes"], "embedding_params": emb_params, "params": nonword_params(config) + emb_params,
            "flash_estimate": flash_estimate(config, meta["sizes"], meta["ranks"], V, P), "vocab": V, "hidden": d}


def evaluate_checkpoint(path: str | Path, dev_tsv: str | Path, vocab: str | Path, max_len: int = 64) -> float:
    """Float accuracy of a model.pt (compressed or not) or HF classifier directory on a labelled TSV."""
    try:
        tok = make_tokenizer(Path(vocab))
        sentences, labels = read_tsv(Path(dev_tsv))
    except TrainError as e:
        raise CompressError(str(e)) from None
    _, model = load_any(path)
    return evaluate(model, encode(tok, sentences, max_len), labels)

# SPDX-License-Identifier: Apache-2.0
"""Reading BERT checkpoints in the forms users bring them.

Accepted:
  * a Hugging Face directory: config.json + model.safetensors or pytorch_model.bin
    (BertModel, BertForSequenceClassification, ...);
  * a file saved with torch.save: {"config": {...}, "state_dict": {...}} (what
    `mcubert train` writes), a bare state dict with --config, or (only with
    trust_pickle / --trust-pickle, since unpickling it runs code from the
    file) a whole saved model (a transformers BertModel or
    BertForSequenceClassification object);
  * a .safetensors file with --config.

Every field of the config that changes the computation is either implemented
or refused, and every tensor is checked for its shape and for NaN/Inf, so a
checkpoint that loads is one mcubert runs as trained.

Everything ends as a `Checkpoint`: HF-style config dict plus float32 numpy
weights named as in HF BertModel (no "bert." prefix), and the heads under two
names: "classifier.*" on the pooled output (sequence labels, intents, a
regression's score) and "token_classifier.*" on every token's final hidden
state (a BertForTokenClassification's "classifier.*", a McubertForIntentSlots'
"slot_classifier.*"; its "intent_classifier.*" becomes "classifier.*").
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from mcubert.formats.heads import Head

log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A model the converter cannot take; the message is one line for the user."""


@dataclasses.dataclass
class BertShape:
    vocab_size: int
    hidden: int
    n_layers: int
    n_heads: int
    ffn: int
    max_pos: int
    type_vocab: int
    n_labels: int  # 0: no classifier
    n_tags: int  # 0: no token classifier
    layer_norm_eps: float
    act: str


@dataclasses.dataclass
class Checkpoint:
    config: dict[str, Any]
    weights: dict[str, np.ndarray]
    source: str

    @property
    def shape(self) -> BertShape:
        c = self.config
        n_labels, n_tags = (int(self.weights[k].shape[0]) if k in self.weights else 0
                            for k in ("classifier.weight", "token_classifier.weight"))
        return BertShape(
            vocab_size=int(c["vocab_size"]), hidden=int(c["hidden_size"]),
            n_layers=int(c["num_hidden_layers"]), n_heads=int(c["num_attention_heads"]),
            ffn=int(c["intermediate_size"]), max_pos=int(c.get("max_position_embeddings", 512)),
            type_vocab=int(c.get("type_vocab_size", 2)), n_labels=n_labels, n_tags=n_tags,
            layer_norm_eps=float(c.get("layer_norm_eps", 1e-12)), act=str(c.get("hidden_act", "gelu")))

    @property
    def clustered(self) -> bool:
        """Word embeddings in clustered low-rank form (mcubert.compress's format)."""
        return "embeddings.word_embeddings.cluster" in self.weights

    def word_embeddings(self) -> np.ndarray:
        """The (vocab, d) word-embedding matrix, dense (computed from clusters if compressed)."""
        w = self.weights
        if not self.clustered:
            return w["embeddings.word_embeddings.weight"]
        cluster = w["embeddings.word_embeddings.cluster"].astype(np.int64)
        row = w["embeddings.word_embeddings.row"].astype(np.int64)
        out = np.zeros((len(cluster), int(self.config["hidden_size"])), dtype=np.float32)
        for c in np.unique(cluster):
            sel = cluster == c
            t = w[f"embeddings.word_embeddings.table.{c}"]
            p = w[f"embeddings.word_embeddings.proj.{c}"]
            out[sel] = t[row[sel]] @ p
        return out

    @property
    def has_pooler(self) -> bool:
        return "pooler.dense.weight" in self.weights

    @property
    def case_types(self) -> bool:
        """Whether the model was trained with case types (`mcubert train --case-types`)."""
        return bool(self.config.get("mcubert_case_types"))

    @property
    def head(self) -> Head:
        """What the model outputs (the blob's head kind)."""
        s, c = self.shape, self.config
        if s.n_tags:
            return Head.INTENT_SLOTS if s.n_labels else Head.TAG
        if not s.n_labels:
            return Head.NONE
        if c.get("problem_type") == "regression" or (s.n_labels == 1 and c.get("problem_type") is None):
            return Head.REGRESS
        return Head.PAIR if c.get("mcubert_task") == "pair" else Head.CLASSIFY

    def _names(self, key: str | None, n: int) -> list[str]:
        if key is not None:
            return [str(x) for x in self.config[key]]
        id2label = self.config.get("id2label") or {}
        return [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(n)]

    @property
    def labels(self) -> list[str]:
        """Names of the sequence labels (intents of a joint model)."""
        joint = self.head == Head.INTENT_SLOTS and "intent_labels" in self.config
        return self._names("intent_labels" if joint else None, self.shape.n_labels)

    @property
    def tags(self) -> list[str]:
        """Names of the token tags (BIO slot tags of a joint model); empty without a token classifier."""
        if not self.shape.n_tags:
            return []
        joint = self.head == Head.INTENT_SLOTS
        return self._names("slot_labels" if joint and "slot_labels" in self.config else None, self.shape.n_tags)


REQUIRED_CONFIG = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
SIZE_CONFIG = REQUIRED_CONFIG + ("max_position_embeddings", "type_vocab_size")
SUPPORTED_ACTS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu")
POSITION_EMBEDDING_TYPES = ("absolute",)  # HF also has relative_key, relative_key_query: not implemented
HEAD_PREFIXES = ("classifier.", "token_classifier.", "intent_classifier.", "slot_classifier.")
TOKEN_ARCHITECTURES = ("BertForTokenClassification",)
JOINT_ARCHITECTURES = ("McubertForIntentSlots",)


def _normalise(state: Mapping[str, Any], source: str) -> dict[str, np.ndarray]:
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{source}: the state dict is a {type(state).__name__}, not a mapping of tensors")
    out: dict[str, np.ndarray] = {}
    for key, val in state.items():
        if not isinstance(key, str):
            continue
        k = key
        if k.startswith("bert."):
            k = k[len("bert."):]
        if k.startswith(("embeddings.", "encoder.", "pooler.") + HEAD_PREFIXES) and not k.endswith("position_ids"):
            try:
                arr = val.detach().cpu().float().numpy() if hasattr(val, "detach") else np.asarray(val, np.float32)
            except (TypeError, ValueError, RuntimeError):
                raise CheckpointError(f"{source}: tensor {key} is not numeric (a {type(val).__name__})") from None
            # older checkpoints name LayerNorm parameters gamma/beta
            k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
            out[k] = arr.astype(np.float32, copy=False)
    return out


def _check_config(source: str, c: Mapping[str, Any]) -> None:
    """Refuse every config field value that changes the computation and that mcubert does not implement."""
    if not isinstance(c, Mapping):
        raise CheckpointError(f"{source}: the config is a {type(c).__name__}, not a JSON object")
    if c.get("model_type") not in (None, "bert"):
        raise CheckpointError(f"{source}: not a BERT model (model_type '{c.get('model_type')}')")
    missing = [k for k in REQUIRED_CONFIG if k not in c]
    if missing:
        raise CheckpointError(f"{source}: not a BERT config (missing {', '.join(missing)})")
    for key in SIZE_CONFIG:
        v = c.get(key, 1)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise CheckpointError(f"{source}: config {key} must be a positive integer, not {v!r}")
    act = c.get("hidden_act", "gelu")
    if not isinstance(act, str) or act not in SUPPORTED_ACTS:
        raise CheckpointError(f"{source}: activation {act!r} not supported ({', '.join(SUPPORTED_ACTS)})")
    pet = c.get("position_embedding_type", "absolute")
    if pet not in POSITION_EMBEDDING_TYPES:
        raise CheckpointError(f"{source}: position_embedding_type {pet!r} not supported "
                              f"(the runtime implements {', '.join(POSITION_EMBEDDING_TYPES)} positions only)")
    for key, what in (("is_decoder", "causal self-attention"), ("add_cross_attention", "cross-attention")):
        if c.get(key):
            raise CheckpointError(f"{source}: {key} is set ({what}); only a BERT encoder is supported")
    eps = c.get("layer_norm_eps", 1e-12)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 <= eps < float("inf"):
        raise CheckpointError(f"{source}: config layer_norm_eps must be a finite number >= 0, not {eps!r}")
    if c["hidden_size"] % c["num_attention_heads"]:
        raise CheckpointError(f"{source}: hidden_size {c['hidden_size']} not divisible by "
                              f"{c['num_attention_heads']} heads")


def _expected_shapes(ckpt: Checkpoint) -> dict[str, tuple[int, ...]]:
    """Every tensor the forward pass reads (word embeddings only when dense), with its shape."""
    s = ckpt.shape
    d, f = s.hidden, s.ffn
    expect: dict[str, tuple[int, ...]] = {
        "embeddings.position_embeddings.weight": (s.max_pos, d),
        "embeddings.token_type_embeddings.weight": (s.type_vocab, d),
        "embeddings.LayerNorm.weight": (d,), "embeddings.LayerNorm.bias": (d,)}
    if not ckpt.clustered:
        expect["embeddings.word_embeddings.weight"] = (s.vocab_size, d)
    for i in range(s.n_layers):
        p = f"encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            expect.update({p + n + ".weight": (d, d), p + n + ".bias": (d,)})
        expect.update({p + "intermediate.dense.weight": (f, d), p + "intermediate.dense.bias": (f,),
                       p + "output.dense.weight": (d, f), p + "output.dense.bias": (d,)})
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            expect.update({p + n + ".weight": (d,), p + n + ".bias": (d,)})
    if ckpt.has_pooler:
        expect.update({"pooler.dense.weight": (d, d), "pooler.dense.bias": (d,)})
    if "classifier.weight" in ckpt.weights:
        expect.update({"classifier.weight": (s.n_labels, d), "classifier.bias": (s.n_labels,)})
    if "token_classifier.weight" in ckpt.weights:
        expect.update({"token_classifier.weight": (s.n_tags, d), "token_classifier.bias": (s.n_tags,)})
    return expect


def _canonical_heads(ckpt: Checkpoint) -> Checkpoint:
    """The checkpoint with its heads named classifier.* (pooled) and token_classifier.* (every token)."""
    c, w = ckpt.config, dict(ckpt.weights)
    arch = c.get("architectures") or []
    token = any(a in TOKEN_ARCHITECTURES for a in arch) or c.get("mcubert_task") == "tag"
    if any(k.startswith(("intent_classifier.", "slot_classifier.")) for k in w):
        renames = {"intent_classifier.": "classifier.", "slot_classifier.": "token_classifier."}
        if any(k.startswith(("classifier.", "token_classifier.")) for k in w):
            raise CheckpointError(f"{ckpt.source}: a joint intent + slots model has intent_classifier.* and "
                                  "slot_classifier.*, not also classifier.*")
    elif token and not any(k.startswith("token_classifier.") for k in w):
        renames = {"classifier.": "token_classifier."}
    else:
        return ckpt
    out = {}
    for k, v in w.items():
        for old, new in renames.items():
            if k.startswith(old):
                k = new + k[len(old):]
                break
        out[k] = v
    return Checkpoint(c, out, ckpt.source)


def _check_heads(ckpt: Checkpoint) -> None:
    """Heads mcubert computes exactly, with as many names as outputs."""
    s, c, src = ckpt.shape, ckpt.config, ckpt.source
    for k in ("classifier.weight", "token_classifier.weight"):
        if k in ckpt.weights and ckpt.weights[k].ndim != 2:
            raise CheckpointError(f"{src}: tensor {k} must be 2-D, has shape {tuple(ckpt.weights[k].shape)}")
    if "classifier.weight" in ckpt.weights and not ckpt.has_pooler:
        raise CheckpointError(f"{src}: a classifier without a pooler is not supported")
    if c.get("problem_type") == "regression" and s.n_labels != 1:
        raise CheckpointError(f"{src}: regression with {s.n_labels} outputs is not supported (one score only)")
    joint = any(a in JOINT_ARCHITECTURES for a in c.get("architectures") or []) or \
        c.get("mcubert_task") == "intent-slots"
    if joint and not (s.n_labels and s.n_tags):
        raise CheckpointError(f"{src}: a joint intent + slots model needs intent_classifier.* and slot_classifier.*")
    for key, n in (("intent_labels", s.n_labels), ("slot_labels", s.n_tags)):
        names = c.get(key)
        if names is not None and (not isinstance(names, list) or len(names) != n):
            raise CheckpointError(f"{src}: config {key} must list {n} names, one per output")


def _check_clustered(ckpt: Checkpoint) -> None:
    w, d, vocab = ckpt.weights, ckpt.shape.hidden, ckpt.shape.vocab_size
    if "embeddings.word_embeddings.row" not in w:
        raise CheckpointError(f"{ckpt.source}: not a BERT checkpoint (missing tensor embeddings.word_embeddings.row)")
    cl = w["embeddings.word_embeddings.cluster"].astype(np.int64)
    if cl.shape != (vocab,) or w["embeddings.word_embeddings.row"].shape != (vocab,):
        raise CheckpointError(f"{ckpt.source}: clustered embedding index tensors must have vocab_size entries")
    for c in np.unique(cl):
        t, p = w.get(f"embeddings.word_embeddings.table.{c}"), w.get(f"embeddings.word_embeddings.proj.{c}")
        if t is None or p is None or t.ndim != 2 or p.ndim != 2 or t.shape[1] != p.shape[0] or p.shape[1] != d or \
                w["embeddings.word_embeddings.row"][cl == c].max() >= t.shape[0]:
            raise CheckpointError(f"{ckpt.source}: clustered embedding cluster {c} is inconsistent")


def _check_finite(ckpt: Checkpoint) -> None:
    for k, v in ckpt.weights.items():
        if not np.isfinite(v).all():
            what = "NaN" if np.isnan(v).any() else "Inf"
            raise CheckpointError(f"{ckpt.source}: tensor {k} holds {what} values")


def _check(ckpt: Checkpoint) -> Checkpoint:
    """The checkpoint if mcubert can run it as trained; CheckpointError (one line) naming the first problem."""
    _check_config(ckpt.source, ckpt.config)
    ckpt = _canonical_heads(ckpt)
    _check_heads(ckpt)
    if ckpt.clustered:
        _check_clustered(ckpt)
    expect = _expected_shapes(ckpt)
    absent = [k for k in expect if k not in ckpt.weights]
    if absent:
        raise CheckpointError(f"{ckpt.source}: not a BERT checkpoint (missing tensor {absent[0]}"
                              + (f" and {len(absent) - 1} more" if len(absent) > 1 else "") + ")")
    for k, shp in expect.items():
        if tuple(ckpt.weights[k].shape) != shp:
            raise CheckpointError(f"{ckpt.source}: tensor {k} has shape {tuple(ckpt.weights[k].shape)}, "
                                  f"config implies {shp}")
    _check_finite(ckpt)
    return ckpt


def _read_config(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{path}: cannot read config ({e})") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return (text.splitlines()[0] if text else type(e).__name__)[:200]


def _torch_load(path: Path, trust_pickle: bool = False) -> Any:
    """torch.load with weights_only=True (tensors and plain containers only: no code runs).

    A file that pickles Python objects (a whole `torch.save(model)`) can run any code when loaded; it is
    loaded only when the user vouches for it with trust_pickle (the CLI's --trust-pickle).
    """
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - torch raises anything from a corrupt pickle
            if "weights_only" not in str(e) and "Unsupported global" not in str(e):
                raise CheckpointError(f"{path}: not a readable torch checkpoint ({_first_line(e)})") from None
        if not trust_pickle:
            raise CheckpointError(f"{path}: holds pickled Python objects, which run code when loaded; refused "
                                  "(save a state dict or safetensors, or pass --trust-pickle if you trust the file)")
        log.warning("%s holds pickled objects; loading it runs its code (--trust-pickle)", path)
        try:
            return torch.load(path, map_location="cpu", weights_only=False)
        except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file
            raise CheckpointError(f"{path}: not a readable torch checkpoint ({_first_line(e)})") from None


def _load_safetensors(path: Path) -> dict[str, Any]:
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as e:  # noqa: BLE001 - the library raises several types for corrupt files
        raise CheckpointError(f"{path}: not a readable safetensors file ({_first_line(e)})") from None


def load(path: str | Path, config: str | Path | None = None, *, trust_pickle: bool = False) -> Checkpoint:
    """Load a checkpoint in any accepted form; raise CheckpointError with one line otherwise.

    Pickled files load with torch's weights_only=True; one that needs more (a whole pickled model) is refused
    unless trust_pickle is set, since unpickling it runs code from the file.
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path}: no such file or directory")
    cfg = _read_config(Path(config)) if config else None
    if path.is_dir():
        if cfg is None:
            if not (path / "config.json").exists():
                raise CheckpointError(f"{path}: no config.json in the model directory")
            cfg = _read_config(path / "config.json")
        if (path / "model.safetensors").exists():
            state = _load_safetensors(path / "model.safetensors")
        elif (path / "pytorch_model.bin").exists():
            state = _torch_load(path / "pytorch_model.bin", trust_pickle)
        else:
            raise CheckpointError(f"{path}: no model.safetensors or pytorch_model.bin in the model directory")
        return _check(Checkpoint(cfg, _normalise(state, str(path)), str(path)))

    if path.suffix == ".safetensors":
        if cfg is None:
            raise CheckpointError(f"{path}: a safetensors file needs --config CONFIG.json")
        return _check(Checkpoint(cfg, _normalise(_load_safetensors(path), str(path)), str(path)))

    obj = _torch_load(path, trust_pickle)
    if isinstance(obj, Mapping) and "state_dict" in obj and "config" in obj:
        c = obj["config"]
        c = c.to_dict() if hasattr(c, "to_dict") else c
        return _check(Checkpoint(cfg or c, _normalise(obj["state_dict"], str(path)), str(path)))
    if hasattr(obj, "state_dict") and hasattr(obj, "config"):
        c = obj.config.to_dict() if hasattr(obj.config, "to_dict") else dict(obj.config)
        return _check(Checkpoint(cfg or c, _normalise(obj.state_dict(), str(path)), str(path)))
    if isinstance(obj, Mapping) and obj and all(isinstance(k, str) for k in obj):
        if cfg is None:
            raise CheckpointError(f"{path}: a bare state dict needs --config CONFIG.json")
        return _check(Checkpoint(cfg, _normalise(obj, str(path)), str(path)))
    raise CheckpointError(f"{path}: not a BERT checkpoint (a {type(obj).__name__})")


def random_checkpoint(*, vocab_size: int, hidden: int, n_layers: int, n_heads: int, ffn: int,
                      max_pos: int = 512, type_vocab: int = 2, n_labels: int = 2, pooler: bool = True,
                      seed: int = 0, std: float = 0.05, n_tags: int = 0, task: str | None = None) -> Checkpoint:
    """A BERT of any shape with random weights (tests and benchmarks).

    n_tags: a token classifier with that many outputs; task: the config's mcubert_task ("pair", "regress", ...).
    """
    rng = np.random.default_rng(seed)

    def rnd(*shape: int, scale: float = std) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    w: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": rnd(vocab_size, hidden, scale=0.5),
        "embeddings.position_embeddings.weight": rnd(max_pos, hidden, scale=0.2),
        "embeddings.token_type_embeddings.weight": rnd(type_vocab, hidden, scale=0.2),
        "embeddings.LayerNorm.weight": 1 + rnd(hidden, scale=0.1),
        "embeddings.LayerNorm.bias": rnd(hidden, scale=0.1),
    }
    for i in range(n_layers):
        p = f"encoder.layer.{i}."
        for n in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w[p + n + ".weight"] = rnd(hidden, hidden, scale=1 / np.sqrt(hidden))
            w[p + n + ".bias"] = rnd(hidden, scale=0.02)
        w[p + "intermediate.dense.weight"] = rnd(ffn, hidden, scale=1 / np.sqrt(hidden))
        w[p + "intermediate.dense.bias"] = rnd(ffn, scale=0.02)
        w[p + "output.dense.weight"] = rnd(hidden, ffn, scale=1 / np.sqrt(ffn))
        w[p + "output.dense.bias"] = rnd(hidden, scale=0.02)
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + n + ".weight"] = 1 + rnd(hidden, scale=0.1)
            w[p + n + ".bias"] = rnd(hidden, scale=0.1)
    if pooler:
        w["pooler.dense.weight"] = rnd(hidden, hidden, scale=1 / np.sqrt(hidden))
        w["pooler.dense.bias"] = rnd(hidden, scale=0.02)
    if n_labels:
        w["classifier.weight"] = rnd(n_labels, hidden, scale=0.5)
        w["classifier.bias"] = rnd(n_labels, scale=0.02)
    if n_tags:
        w["token_classifier.weight"] = rnd(n_tags, hidden, scale=0.5)
        w["token_classifier.bias"] = rnd(n_tags, scale=0.02)
    config = dict(model_type="bert", vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=n_layers,
                  num_attention_heads=n_heads, intermediate_size=ffn, max_position_embeddings=max_pos,
                  type_vocab_size=type_vocab, layer_norm_eps=1e-12, hidden_act="gelu")
    if task is not None:
        config["mcubert_task"] = task
    if task == "regress":
        config["problem_type"] = "regression"
    return _check(Checkpoint(config, w, f"random(seed={seed})"))


def extend_positions(ckpt: Checkpoint, n: int) -> Checkpoint:
    """A checkpoint whose position table has n rows: the trained rows, then copies of them cycled.

    For running and measuring sequences beyond the trained positions (memory, latency); the model was
    never trained on such positions, so accuracy there is not claimed.
    """
    w = dict(ckpt.weights)
    pos = w["embeddings.position_embeddings.weight"]
    if n <= pos.shape[0]:
        return ckpt
    w["embeddings.position_embeddings.weight"] = np.concatenate([pos[np.arange(n) % pos.shape[0]]])
    config = dict(ckpt.config, max_position_embeddings=n)
    return Checkpoint(config, w, ckpt.source)


def trim_positions(ckpt: Checkpoint, n: int) -> Checkpoint:
    """A checkpoint whose position table keeps its first n rows only (n >= its rows: unchanged).

    A blob converted for --max-seq-len n never reads the other rows; without them it is (rows - n) x hidden
    bytes smaller, and it can no longer be re-planned for sequences longer than n."""
    w = dict(ckpt.weights)
    pos = w["embeddings.position_embeddings.weight"]
    if n >= pos.shape[0]:
        return ckpt
    w["embeddings.position_embeddings.weight"] = np.ascontiguousarray(pos[:n])
    config = dict(ckpt.config, max_position_embeddings=n)
    return Checkpoint(config, w, ckpt.source)

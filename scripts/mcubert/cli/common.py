# SPDX-License-Identifier: Apache-2.0
"""What the command modules share: the user-error class, output (human or --json), reading blobs, the
engines that run token ids, and the choice of tokenizer."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


def emit(args: argparse.Namespace, result: dict[str, Any], human: Callable[[dict[str, Any]], None]) -> None:
    """Print `result` as JSON with --json, else for people with `human`."""
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        human(result)


def read_blob(path: str) -> bytes:
    from mcubert.formats import blob

    try:
        return blob.read_file(path)
    except blob.BlobError as e:
        raise CliError(str(e)) from None


def is_blob(path: str) -> bool:
    """A path to treat as a blob: a .mcub file or a file that starts with the blob magic (a model directory
    or checkpoint is not)."""
    from mcubert.formats import blob

    p = Path(path)
    if p.suffix == ".mcub":
        return True
    if not p.is_file():
        return False
    with open(p, "rb") as f:
        return f.read(4) == blob.MAGIC


def parse_ids(text: str) -> list[int]:
    try:
        return [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise CliError(f"--ids wants comma-separated integers, got '{text}'") from None


class Engine:
    """Runs token ids through the C runtime, the numpy reference, or the float model."""

    def __init__(self, kind: str, model_path: str, max_len: int = 0) -> None:
        from mcubert.formats import blob as blobmod

        self.kind = kind
        self.vocab_section: bytes | None = None
        if kind == "float":
            from mcubert.conversion.checkpoint import load
            from mcubert.conversion.floatmodel import FloatBert

            ckpt = load(model_path)
            self.fm = FloatBert(ckpt)
            self.config = ckpt.config
            self.labels = ckpt.labels
            self.tags = ckpt.tags
            self.head = int(ckpt.head)
            self.case_types = ckpt.case_types
            self.max_seq_len = ckpt.shape.max_pos
            self.meta: dict[str, Any] = {}
            return
        data = read_blob(model_path)
        self.blob = blobmod.unpack(data)
        self.meta = self.blob.meta()
        seq_names, tag_names = self.blob.labels()
        self.labels = seq_names or self.meta.get("labels") or [f"LABEL_{i}" for i in range(self.blob.cfg.n_labels)]
        self.tags = tag_names or self.meta.get("tags") or [f"TAG_{i}" for i in range(self.blob.cfg.n_tags)]
        self.head = int(self.blob.cfg.head)
        self.case_types = bool(self.blob.cfg.flags & blobmod.FLAG_CASE_TYPES)  # types: each word's case
        self.max_seq_len = self.blob.cfg.max_seq_len
        raw_vocab = self.blob.sections.get(int(blobmod.Sec.VOCAB))
        self.vocab_section = None if raw_vocab is None else bytes(raw_vocab)
        if kind == "c":
            from mcubert.targets.native import Runtime

            self.rt = Runtime(data, max_len=max_len)
        elif kind == "ref":
            from mcubert.numerics.reference import Reference

            self.ref = Reference(self.blob)
        else:
            raise CliError(f"unknown engine {kind}")

    def run(self, ids: Sequence[int], types: Sequence[int] | None) -> dict[str, Any]:
        if self.kind == "float":
            out = self.fm.forward(ids, types)
            logits = None if out["logits"] is None else out["logits"].numpy().astype(float)
            res: dict[str, Any] = {"logits": None if logits is None else logits.tolist(),
                                   "label": None if logits is None else int(np.argmax(logits))}
            if out.get("token_logits") is not None:
                tl = out["token_logits"].numpy().astype(float)
                res.update(token_logits=tl.tolist(), tag_ids=[int(x) for x in np.argmax(tl, axis=1)])
            return res
        cfg = self.blob.cfg
        if self.kind == "c":
            self.rt.infer(ids, types)
            q, tq = self.rt.logits(cfg.n_labels), self.rt.token_logits(len(ids), cfg.n_tags)
        else:
            o = self.ref.run(ids, types)
            q, tq = o.logits, o.token_logits
        res = {"logits": None, "label": None}
        if q is not None:
            scale = float(cfg.logit_scale or self.meta.get("logit_scale") or 1.0)
            res = {"logits_q": q.tolist(), "logits": (q.astype(np.float64) * scale).tolist(),
                   "label": int(np.argmax(q))}
        if tq is not None:
            scale = float(cfg.token_logit_scale or 1.0)
            res.update(token_logits_q=tq.tolist(), token_logits=(tq.astype(np.float64) * scale).tolist(),
                       tag_ids=[int(x) for x in np.argmax(tq, axis=1)])
        return res

    def head_fields(self, res: dict[str, Any]) -> dict[str, Any]:
        """The fields of `mcubert run --json` that the model's head has: label/logits (classification),
        score (regression), tags/token_logits (token tags), intent/intent_logits + tags (joint)."""
        from mcubert.formats.heads import Head

        out: dict[str, Any] = {}
        if res.get("tag_ids") is not None:
            out["tags"] = [self.tags[t] for t in res["tag_ids"]]
        if self.head == Head.REGRESS and res.get("logits"):
            out["score"] = float(res["logits"][0])
        if self.head == Head.INTENT_SLOTS and res.get("label") is not None:
            out.update(intent=self.labels[res["label"]], intent_logits=res["logits"])
        return out


def tokenizer(kind: str, vocab: str | None, meta: dict[str, Any], packed: bytes | None = None) -> Any:
    """The C tokenizer (default; the blob's own vocabulary `packed` when it has one and no `vocab` is given)
    or HF `tokenizers` (kind "hf"); `vocab` defaults to the one recorded in `meta`."""
    from mcubert.tokenization import make_tokenizer

    if kind == "c" and packed is not None and not vocab:
        return make_tokenizer(kind="c", packed=packed)
    vocab = vocab or meta.get("vocab")
    if not vocab:
        raise CliError("no vocabulary: pass --vocab VOCAB.txt")
    if not Path(vocab).is_file():
        raise CliError(f"{vocab}: vocabulary file not found (pass --vocab VOCAB.txt)")
    return make_tokenizer(vocab, kind, lowercase=meta.get("lowercase", True))

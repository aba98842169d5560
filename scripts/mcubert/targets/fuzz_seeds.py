# SPDX-License-Identifier: Apache-2.0
"""The seed corpora of the fuzz targets (tests/fuzz/<target>/seeds/), made from tiny random models.

Blob seeds are converted from random checkpoints of tiny shapes (hidden 8, one or two layers,
8 tokens), one per schedule and head layout, one with the packed vocabulary and one with a
clustered word embedding; vocabulary seeds are packed from tests/fixtures/vocab-small.txt and a
tiny list; tokenizer seeds are texts in the tokenizer target's input format. `write_seeds()`
rewrites them (a few KB each); the blob seeds change only when the blob format or converter does.
"""

from __future__ import annotations

import dataclasses
import struct
import tempfile
from pathlib import Path

import numpy as np

from mcubert.conversion import checkpoint
from mcubert.formats.blob import Schedule
from mcubert.formats.vocab import pack_vocab
from mcubert.numerics import quantize
from mcubert.paths import repo_root
from mcubert.targets.fuzz import FUZZ_DIR, VOCAB_FIXTURE


@dataclasses.dataclass(frozen=True)
class TinyModel:
    """A seed blob's shape."""

    name: str
    vocab: int = 32
    layers: int = 1
    labels: int = 2
    pooler: bool = True
    schedule: Schedule = Schedule.TILED
    with_vocab: bool = False
    clusters: int = 0


TINY_MODELS = (
    TinyModel("tiny-cls-tiled"),
    TinyModel("tiny-nohead-lean", layers=2, labels=0, pooler=False, schedule=Schedule.LEAN),
    TinyModel("tiny-pooler-naive", labels=0, schedule=Schedule.NAIVE),
    TinyModel("tiny-vocab-3labels", vocab=157, labels=3, with_vocab=True),
    TinyModel("tiny-clustered", clusters=3),
)
HIDDEN, HEADS, FFN, SEQ = 8, 2, 16, 8

TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "the", "un", "##aff", "##able", "##s",
              "caf", "##e", "\u00e9", "\u6771", "\u4eac", ",", ".", "!", "##ing", "hello", "world"]


def _clustered(ck: checkpoint.Checkpoint, n_clusters: int, seed: int) -> checkpoint.Checkpoint:
    """The checkpoint with a random clustered low-rank word embedding (ranks 1, 2, …)."""
    rng = np.random.default_rng(seed)
    w = dict(ck.weights)
    vocab = w.pop("embeddings.word_embeddings.weight").shape[0]
    cluster = np.arange(vocab) % n_clusters
    row = np.arange(vocab) // n_clusters
    for c in range(n_clusters):
        n = int((cluster == c).sum())
        w[f"embeddings.word_embeddings.table.{c}"] = rng.standard_normal((n, c + 1)).astype(np.float32)
        w[f"embeddings.word_embeddings.proj.{c}"] = (rng.standard_normal((c + 1, HIDDEN)) * 0.3).astype(np.float32)
    w["embeddings.word_embeddings.cluster"] = cluster
    w["embeddings.word_embeddings.row"] = row
    return checkpoint.Checkpoint(dict(ck.config), w, ck.source + "+clustered")


def tiny_blob(m: TinyModel, seed: int = 0) -> bytes:
    """The blob of a tiny random model."""
    ck = checkpoint.random_checkpoint(vocab_size=m.vocab, hidden=HIDDEN, n_layers=m.layers, n_heads=HEADS, ffn=FFN,
                                      n_labels=m.labels, max_pos=SEQ, pooler=m.pooler, seed=seed)
    if m.clusters:
        ck = _clustered(ck, m.clusters, seed)
    rng = np.random.default_rng(seed + 1)
    seqs = [(rng.integers(0, m.vocab, size=n), rng.integers(0, 2, size=n)) for n in (3, SEQ)]
    vocab = pack_vocab(repo_root() / VOCAB_FIXTURE) if m.with_vocab else None
    return quantize.quantize(ck, quantize.calibrate(ck, seqs), SEQ, schedule=m.schedule, vocab=vocab)


def vocab_seeds() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        tiny = Path(tmp) / "vocab.txt"
        tiny.write_text("\n".join(TINY_VOCAB) + "\n", encoding="utf-8")
        return {"vocab-small": pack_vocab(repo_root() / VOCAB_FIXTURE), "vocab-tiny": pack_vocab(tiny)}


def tokenizer_input(text: bytes, *, pair_at: int | None = None, max_len: int = 64, calls: bool = True) -> bytes:
    """An input of the tokenizer target: flags, max_len, split point, text (see fuzz_tokenizer.c)."""
    flags = (1 if pair_at is not None else 0) | (2 if calls else 0)
    return struct.pack("<BHH", flags, max_len, pair_at or 0) + text


def tokenizer_seeds() -> dict[str, bytes]:
    t = tokenizer_input
    return {
        "sentence": t(b"Hello, world! It's an unaffable cafe."),
        "pair": t(b"the first text.and the second one", pair_at=15, max_len=16),
        "pair-truncated": t(b"a b a b a b a b a b a b a b|hello", pair_at=27, max_len=7),
        "no-room": t(b"x", pair_at=0, max_len=2),
        "invalid-utf8": t(b"caf\xc3 \xff\xfe\xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf ok \xe6\x9d"),
        "huge-word": t(b"a" * 700 + b" ##ing " + "\u00e9".encode() * 120, max_len=512),
        "special": t(b"[CLS] [SEP][UNK] [MASK] [PAD]x [sep] [UNK"),
        "unicode": t("Caf\u00e9 na\u00efve \u6771\u4eac\u3002 \u00c5\u0301 \ud55c\uad6d\uc5b4 \u0130 \ufb01 "
                     "\u200b\u00ad zero\u200dwidth \U0001F600!".encode()),
        "whitespace-control": t(b"\t a\r\nb\x00c\x07d \xc2\xa0e\xe3\x80\x80f\xc2\x85"),
        "punctuation": t(b"$1,000.50 -- e.g. (x) [y] {z} @#%^&*_+=~`|\\/<>?;:'\""),
    }


def write_seeds(root: Path | None = None) -> list[Path]:
    """(Re)write every seed corpus under tests/fuzz; returns the files written."""
    base = (root or repo_root()) / FUZZ_DIR
    written: list[Path] = []

    def put(target: str, name: str, data: bytes) -> None:
        path = base / target / "seeds" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)

    for m in TINY_MODELS:
        put("blob_raw", m.name + ".mcub", tiny_blob(m))
    for name, data in vocab_seeds().items():
        put("vocab", name + ".mcbv", data)
    for name, data in tokenizer_seeds().items():
        put("tokenizer", name, data)
    return written

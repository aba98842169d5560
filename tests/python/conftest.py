# SPDX-License-Identifier: Apache-2.0
"""Shared fixtures: the repo root, ../shared/data, and small models built on the fly."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "scripts") not in sys.path:
    sys.path.insert(0, str(ROOT / "scripts"))

FIXTURES = ROOT / "tests" / "fixtures"


def shared_data() -> Path | None:
    env = os.environ.get("MCUBERT_SHARED_DATA")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "data"]:
        if (cand / "SOURCES.md").exists():
            return cand
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = shared_data()
    if d is None:
        pytest.skip("../shared/data not found (set MCUBERT_SHARED_DATA)")
    return d


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


SHAPES = {
    # name: (vocab, hidden, layers, heads, ffn, labels)
    "tiny": (30522, 128, 2, 2, 512, 2),  # BERT-tiny
    "mini": (30522, 256, 4, 4, 1024, 2),  # BERT-mini
    "odd": (157, 96, 3, 3, 200, 3),  # odd sizes, small vocab, 3 labels
    "nohead": (300, 64, 1, 4, 128, 0),  # encoder + pooler only
    "pair": (157, 64, 2, 2, 128, 5),  # sentence-pair classification, 5 labels
    "regress": (211, 64, 1, 4, 96, 1),  # regression: one score
    "tag": (211, 96, 2, 3, 160, 0),  # token classification (no pooler), 9 tags
    "joint": (157, 96, 2, 2, 192, 7),  # joint intent (7) + BIO slot tags (13)
}
# Heads beyond sequence classification: shape name -> (n_tags, mcubert_task, pooler)
SHAPE_HEADS = {"pair": (0, "pair", True), "regress": (0, "regress", True), "tag": (9, "tag", False),
               "joint": (13, "intent-slots", True)}


def build_blob(name: str, max_seq_len: int = 128, seed: int = 0):
    """(checkpoint, blob bytes) for a random model of a named shape, calibrated on random ids."""
    import numpy as np

    from mcubert.conversion import checkpoint
    from mcubert.numerics import quantize

    vocab, hidden, layers, heads, ffn, labels = SHAPES[name]
    n_tags, task, pooler = SHAPE_HEADS.get(name, (0, None, True))
    ck = checkpoint.random_checkpoint(vocab_size=vocab, hidden=hidden, n_layers=layers, n_heads=heads, ffn=ffn,
                                      n_labels=labels, max_pos=max(512, max_seq_len), seed=seed, n_tags=n_tags,
                                      task=task, pooler=pooler)
    rng = np.random.default_rng(seed + 1)
    seqs = [(rng.integers(0, vocab, size=n), rng.integers(0, 2, size=n)) for n in (3, 17, max_seq_len)]
    return ck, quantize.quantize(ck, quantize.calibrate(ck, seqs), max_seq_len)


_cache: dict = {}


@pytest.fixture(scope="session")
def blob_of():
    def get(name: str, max_seq_len: int = 128, seed: int = 0):
        key = (name, max_seq_len, seed)
        if key not in _cache:
            _cache[key] = build_blob(name, max_seq_len, seed)
        return _cache[key]

    return get


def clusterize(ck, n_clusters: int = 4, rank: int = 8, seed: int = 0):
    """The checkpoint with its word embedding replaced by a clustered low-rank one (SVD per cluster)."""
    import numpy as np

    from mcubert.conversion.checkpoint import Checkpoint

    w = dict(ck.weights)
    word = w.pop("embeddings.word_embeddings.weight")
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, n_clusters, size=word.shape[0])
    row = np.zeros(word.shape[0], dtype=np.int64)
    for c in range(n_clusters):
        sel = np.nonzero(cluster == c)[0]
        row[sel] = np.arange(len(sel))
        u, s, vt = np.linalg.svd(word[sel], full_matrices=False)
        r = min(rank + c, len(s))  # different ranks per cluster
        w[f"embeddings.word_embeddings.table.{c}"] = (u[:, :r] * s[:r]).astype(np.float32)
        w[f"embeddings.word_embeddings.proj.{c}"] = vt[:r].astype(np.float32)
    w["embeddings.word_embeddings.cluster"] = cluster
    w["embeddings.word_embeddings.row"] = row
    return Checkpoint(dict(ck.config), w, ck.source + "+clustered")

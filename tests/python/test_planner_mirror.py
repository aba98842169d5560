# SPDX-License-Identifier: Apache-2.0
"""Generated C mirrors of the planner stay in step, and the blob's size follows from its own layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import clusterize
from mcubert.conversion import checkpoint
from mcubert.formats import blob
from mcubert.formats.blob import Buf, Schedule
from mcubert.formats.vocab import pack_vocab
from mcubert.numerics import quantize
from mcubert.planning import buffers, planner

ROOT = Path(__file__).resolve().parents[2]


def test_buffer_table_matches_the_documented_shapes() -> None:
    cfg = blob.Config(vocab_size=100, n_layers=1, hidden=96, n_heads=3, ffn=200, max_pos=256, type_vocab=2,
                      n_labels=0, max_seq_len=50, flags=1)
    t = planner.Tiles(3, 5, 7)
    naive = buffers.buffer_sizes(cfg, 50, Schedule.NAIVE, t)
    assert naive[Buf.S] == 4 * 3 * 50 * 50 and naive[Buf.F] == 2 * 50 * 200 and naive[Buf.LOGITS] == 4
    tiled = buffers.buffer_sizes(cfg, 50, Schedule.TILED, t)
    assert tiled[Buf.S] == 4 * 3 * 50 and tiled[Buf.Q] == 3 * 96 and Buf.CTX not in tiled
    lean = buffers.buffer_sizes(cfg, 50, Schedule.LEAN, t)
    assert lean[Buf.KB] == 7 * 32 and lean[Buf.ACC] == 4 * 3 * 32 and Buf.K not in lean
    assert all(v % 4 == 0 for v in lean.values())


def _small(vocab: int = 500, seed: int = 0) -> checkpoint.Checkpoint:
    return checkpoint.random_checkpoint(vocab_size=vocab, hidden=64, n_layers=2, n_heads=2, ffn=96, n_labels=3,
                                        max_pos=64, seed=seed)


def _quantize(ck: checkpoint.Checkpoint, vocab: bytes | None = None) -> bytes:
    seqs = [(np.random.default_rng(0).integers(0, ck.shape.vocab_size, size=32), None)]
    return quantize.quantize(ck, quantize.calibrate(ck, seqs), 32, vocab=vocab)


def _predicted(data: bytes, clusters=()) -> int:
    b = blob.unpack(data)
    vocab = b.sections.get(int(blob.Sec.VOCAB))
    return blob.blob_size(b.cfg, meta_bytes=len(b.sections[int(blob.Sec.META)]), clusters=clusters,
                          vocab_bytes=0 if vocab is None else len(vocab),
                          labels_bytes=len(b.sections.get(int(blob.Sec.LABELS), b"")))


def test_blob_size_of_a_dense_model() -> None:
    data = _quantize(_small())
    assert _predicted(data) == len(data)


def test_blob_size_with_a_vocabulary(tmp_path: Path) -> None:
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(495)]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    data = _quantize(_small(), vocab=pack_vocab(tmp_path / "vocab.txt"))
    assert int(blob.Sec.VOCAB) in blob.unpack(data).sections
    assert _predicted(data) == len(data)


@pytest.mark.parametrize("n_clusters,rank", [(3, 4), (5, 7)])
def test_blob_size_of_a_clustered_embedding(n_clusters: int, rank: int) -> None:
    data = _quantize(clusterize(_small(seed=1), n_clusters=n_clusters, rank=rank))
    b = blob.unpack(data)
    assert b.cfg.flags & blob.FLAG_EMB_CLUSTERED
    rec = np.frombuffer(bytes(b.sections[int(blob.Sec.EMB_CLUSTERS)]), blob.EMB_CLUSTER_DTYPE)
    ends = [int(x) for x in rec["table_offset"][1:]] + [len(b.sections[int(blob.Sec.EMB_TABLES)])]
    clusters = [((end - int(r["table_offset"])) // int(r["rank"]), int(r["rank"])) for r, end in zip(rec, ends)]
    assert _predicted(data, clusters) == len(data)

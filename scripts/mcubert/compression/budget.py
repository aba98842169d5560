# SPDX-License-Identifier: Apache-2.0
"""What a compressed model costs: parameters, estimated blob bytes (flash), multiply-accumulates, and the
budget the word embedding may spend."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from mcubert.compression.errors import CompressError


def nonword_params(config: Mapping[str, Any], max_pos: int | None = None) -> int:
    """Parameters of a BertForSequenceClassification (pooler + classifier) other than the word embedding."""
    d, L, f = int(config["hidden_size"]), int(config["num_hidden_layers"]), int(config["intermediate_size"])
    P = int(max_pos or config.get("max_position_embeddings", 512))
    T = int(config.get("type_vocab_size", 2))
    labels = len(config.get("id2label") or {}) or 2
    layer = 4 * (d * d + d) + (d * f + f) + (f * d + d) + 4 * d
    return P * d + T * d + 2 * d + L * layer + (d * d + d) + (d * labels + labels)


@dataclasses.dataclass
class Budget:
    """What the word embedding may spend, in units of int8 weights (parameters or flash bytes)."""
    units: int  # for the tables + projections
    kind: str  # "params" or "flash"
    total: int  # the model-level budget it came from
    fixed: int  # what the rest of the model takes (for flash: with the token index and the packed vocabulary)
    index_bytes: int = 0

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


INDEX_BYTES = 4  # per token in the blob: uint16 global table row + uint16 per-token scale multiplier
CLUSTER_RECORD_BYTES = 16  # per cluster: first row, table and projection offsets, rank, shift


def meta_bytes(hidden: int) -> int:
    """The blob's META JSON, counted generously: `mcubert convert` writes ~300 B plus the per-channel
    hidden scales (~22 B each as JSON floats): 3,116 B for the shipped BERT-tiny-class SST-2 model."""
    return 512 + 24 * hidden


# A flash budget keeps this share in reserve for what the layout cannot know in advance (the META text,
# the calibration's choice of plans).
FLASH_MARGIN = 0.0025


def flash_estimate(config: Mapping[str, Any], sizes: Sequence[int], ranks: Sequence[int],
                   vocab: int, max_pos: int | None = None) -> int:
    """Blob bytes without the packed vocabulary, from the blob's own section layout (formats.blob.blob_size)
    for a model whose word embedding is `len(sizes)` clusters of sizes[i] rows at rank ranks[i]; META is
    counted by meta_bytes()."""
    from mcubert.formats import blob
    from mcubert.planning.cost import config_of

    P = int(max_pos or config.get("max_position_embeddings", 512))
    cfg = dataclasses.replace(config_of({**config, "max_position_embeddings": P}, min(128, P)),
                              vocab_size=vocab, max_pos=P)
    cfg = dataclasses.replace(cfg, flags=cfg.flags | blob.FLAG_EMB_CLUSTERED)
    return blob.blob_size(cfg, meta_bytes=meta_bytes(cfg.hidden), clusters=list(zip(sizes, ranks)))


def make_budget(config: Mapping[str, Any], *, vocab: int, max_pos: int, param_budget: int | None = None,
                flash_budget: int | None = None, ratio: float | None = None, reference_params: int | None = None,
                vocab_bytes: int = 0, clusters: int = 64) -> Budget:
    fixed = nonword_params(config, max_pos)
    if flash_budget is not None:
        rest = (flash_estimate(config, [], [], vocab, max_pos) + CLUSTER_RECORD_BYTES * clusters + vocab_bytes
                + math.ceil(FLASH_MARGIN * flash_budget))
        b = Budget(flash_budget - rest, "flash", flash_budget, rest, vocab * INDEX_BYTES)
    else:
        if param_budget is None:
            if ratio is None or reference_params is None:
                raise CompressError("give --param-budget, --flash-budget or --ratio")
            param_budget = int(math.floor(reference_params / ratio))
        b = Budget(param_budget - fixed, "params", param_budget, fixed)
    d = int(config["hidden_size"])
    if b.units < vocab + d:
        raise CompressError(f"budget too small: {b.total:,} {b.kind} leave {b.units:,} for the word embedding, "
                            f"rank 1 for {vocab} tokens needs {vocab + d:,}")
    return b


def packed_vocab_bytes(vocab: Path) -> int:
    """Bytes of the on-device tokenizer's packed vocabulary that `mcubert convert` puts in the blob."""
    from mcubert.formats.vocab import pack_vocab

    return len(pack_vocab(vocab))


def encoder_macs(config: Mapping[str, Any], seq_len: int) -> int:
    """Multiply-accumulates of one forward pass of `seq_len` tokens: planning.cost's one MAC model."""
    from mcubert.planning.cost import encoder_macs as macs

    return macs(config, seq_len)

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
BLOB_OVERHEAD = 4500  # header, section table, alignment, metadata JSON, activation tables (measured)
# A flash budget keeps this share in reserve: the estimate ran 99 B (BERT-tiny, 957,648 B) and 1,460 B
# (BERT-mini class, 1,966,720 B) under the converter's exact size.
FLASH_MARGIN = 0.0025


def flash_estimate(config: Mapping[str, Any], sizes: Sequence[int], ranks: Sequence[int],
                   vocab: int, max_pos: int | None = None) -> int:
    """Estimated blob bytes without the packed vocabulary, following mcubert.quantize's layout: int8
    matrices, tables and projections; per output channel of a linear layer an int32 bias and a requantisation
    multiplier and shift (12 B); LayerNorm and residual parameters; per token a uint16 row index and a
    uint16 scale multiplier. Within ~0.5 % of `mcubert convert`'s exact size for BERT-tiny."""
    d, L, f = int(config["hidden_size"]), int(config["num_hidden_layers"]), int(config["intermediate_size"])
    P = int(max_pos or config.get("max_position_embeddings", 512))
    T = int(config.get("type_vocab_size", 2))
    labels = len(config.get("id2label") or {}) or 2
    layer = 4 * d * d + 2 * d * f + 12 * (5 * d + f) + 28 * d + 18
    fixed = P * d + T * d + 8 * d + L * layer + (d * d + 12 * d) + labels * (d + 128) + BLOB_OVERHEAD
    emb = sum(n * r + r * d for n, r in zip(sizes, ranks)) + CLUSTER_RECORD_BYTES * len(ranks)
    return fixed + emb + vocab * INDEX_BYTES


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
    """Multiply-accumulates of one forward pass of `seq_len` tokens (the instruction-count model: the DSP
    kernels run ~0.93 instructions per MAC on the Cortex-M7, docs/kernels.md)."""
    d, L, f = int(config["hidden_size"]), int(config["num_hidden_layers"]), int(config["intermediate_size"])
    return L * seq_len * (4 * d * d + 2 * d * f + 2 * seq_len * d) + d * d

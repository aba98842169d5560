# SPDX-License-Identifier: Apache-2.0
"""The input record the harness reads (format: tools/baremetal/harness.c)."""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from mcubert.targets.qemu.machines import (
    FLAG_LOGITS,
    INPUT_END_MAGIC,
    INPUT_MAGIC,
    INPUT_VERSION,
    MODE_NLU,
    MODE_RUN,
    MODE_TOKENIZE,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Input record

SeqLike = Any  # Sequence[int] | np.ndarray, or (ids, type_ids | None)


def split_sequence(item: SeqLike) -> tuple[np.ndarray, np.ndarray | None]:
    if (isinstance(item, (tuple, list)) and len(item) == 2
            and (item[0] is None or not np.isscalar(item[0]))):
        ids, types = item
    else:
        ids, types = item, None
    ids_a = np.asarray(ids, dtype=np.int64).reshape(-1)
    if ids_a.size and (ids_a.min() < -2**31 or ids_a.max() >= 2**31):
        raise ValueError("token ids must fit in int32")
    if len(ids_a) > 0xFFFF:
        raise ValueError(f"a sequence of {len(ids_a)} tokens is longer than 65535")
    types_a = None
    if types is not None:
        types_a = np.asarray(types, dtype=np.int64).reshape(-1)
        if len(types_a) != len(ids_a):
            raise ValueError(f"{len(types_a)} type ids for {len(ids_a)} token ids")
        if types_a.size and (types_a.min() < 0 or types_a.max() > 255):
            raise ValueError("type ids must fit in uint8")
    return ids_a.astype("<i4"), None if types_a is None else types_a.astype(np.uint8)


def encode_input(sequences: Sequence[SeqLike], blob_len: int, mode: int = MODE_RUN,
                 flags: int = FLAG_LOGITS, max_len: int = 0, arena_len: int = 0,
                 n_seq: int | None = None) -> bytes:
    """The input record the harness reads (format: tools/baremetal/harness.c)."""
    body = bytearray()
    for item in sequences:
        if mode in (MODE_TOKENIZE, MODE_NLU):  # texts
            raw = item.encode("utf-8") if isinstance(item, str) else bytes(item)  # type: ignore[arg-type]
            rec = struct.pack("<HH", len(raw), 0) + raw
            body += rec + bytes(-len(rec) % 4)
            continue
        ids, types = split_sequence(item)
        rec = struct.pack("<HH", len(ids), 0 if types is None else 1) + ids.tobytes()
        if types is not None:
            rec += types.tobytes()
        body += rec + bytes(-len(rec) % 4)
    count = len(sequences) if n_seq is None else n_seq
    total = 32 + len(body) + 4
    head = struct.pack("<IHHIIIIHHI", INPUT_MAGIC, INPUT_VERSION, mode, flags, blob_len, total, count,
                       max_len, 0, arena_len)
    return head + bytes(body) + struct.pack("<I", INPUT_END_MAGIC)



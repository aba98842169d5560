# SPDX-License-Identifier: Apache-2.0
"""The `.mcub` model blob: the one place that defines its layout.

A blob is::

    header (HEADER_SIZE bytes, little-endian, fields below)
    section table (section_count entries of SECTION_ENTRY_SIZE bytes)
    sections, each starting at a multiple of SECTION_ALIGN

The CRC-32 (IEEE 802.3, as zlib.crc32) covers bytes [CRC_START, total_size):
everything after the crc field. Sections are addressed by id; the C runtime
checks each one's bounds, alignment and exact size before use.

`render_c_header()` (formats/blob_header.py) renders include/mcubert/blob_format.h from the tables in
this module; tests assert the checked-in header equals it, so the C side and
the Python side cannot drift.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
import zlib
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from mcubert.formats import heads

MAGIC = b"MCUB"
VERSION_MAJOR = 1
VERSION_MINOR = 1  # 1.1: head kinds, token classifier, LABELS (1.0 blobs still read)
SECTION_ALIGN = 16
MAX_SEQ_LEN_LIMIT = 4096  # hard cap; keeps every intermediate inside 32 bits

FLAG_POOLER = 0x0001
FLAG_CLASSIFIER = 0x0002
FLAG_EMB_CLUSTERED = 0x0004  # word embeddings are clustered low-rank tables (docs/arithmetic.md)
FLAG_TOKEN_CLASSIFIER = 0x0008  # a classifier on every token's final hidden state (n_tags outputs)
# The encoder's weight matrices (WIDE_WEIGHT_SECS) hold int8 values as int16 in the DSP path's pair order
# (formats/wide_weights.py): twice the flash, no sign extension in the Cortex-M4/M7/M33 matrix kernel.
FLAG_WEIGHTS_S16 = 0x0010
# The model was trained with case types (mcubert.slots.case_types, mcubert_tok_case_types): type 1 for each
# piece of a word that begins with a capital. One text only (no pairs); needs type_vocab >= 2.
FLAG_CASE_TYPES = 0x0020
FLAGS_KNOWN = FLAG_POOLER | FLAG_CLASSIFIER | FLAG_EMB_CLUSTERED | FLAG_TOKEN_CLASSIFIER | FLAG_WEIGHTS_S16 | \
    FLAG_CASE_TYPES

# (name, struct code, C type, comment)
HEADER_FIELDS: list[tuple[str, str, str, str]] = [
    ("magic", "4s", "uint8_t magic[4]", "'M' 'C' 'U' 'B'"),
    ("version_major", "H", "uint16_t version_major", "incompatible changes"),
    ("version_minor", "H", "uint16_t version_minor", "compatible additions"),
    ("header_size", "I", "uint32_t header_size", "bytes of this header"),
    ("total_size", "I", "uint32_t total_size", "bytes of the whole blob"),
    ("crc32", "I", "uint32_t crc32", "CRC-32 of bytes [MCUB_CRC_START, total_size)"),
    ("flags", "I", "uint32_t flags", "MCUB_FLAG_*"),
    ("vocab_size", "I", "uint32_t vocab_size", "word-piece vocabulary"),
    ("n_layers", "H", "uint16_t n_layers", "encoder layers"),
    ("hidden", "H", "uint16_t hidden", "hidden size d"),
    ("n_heads", "H", "uint16_t n_heads", "attention heads"),
    ("ffn", "H", "uint16_t ffn", "FFN intermediate size"),
    ("max_pos", "H", "uint16_t max_pos", "position-embedding rows"),
    ("type_vocab", "H", "uint16_t type_vocab", "token-type rows"),
    ("n_labels", "H", "uint16_t n_labels", "classifier outputs"),
    ("max_seq_len", "H", "uint16_t max_seq_len", "planned sequence length"),
    ("arena_bytes", "I", "uint32_t arena_bytes", "arena for max_seq_len"),
    ("section_count", "I", "uint32_t section_count", "entries in the table"),
    ("section_offset", "I", "uint32_t section_offset", "offset of the table"),
    ("schedule", "H", "uint16_t schedule", "default plan: MCUB_SCHED_*"),
    ("head", "H", "uint16_t head", "MCUB_HEAD_* (format 1.0: zero, implied by the flags)"),
    ("n_tags", "H", "uint16_t n_tags", "token-classifier outputs"),
    ("reserved1", "H", "uint16_t reserved1", "zero"),
    ("logit_scale", "f", "float logit_scale", "real value of one sequence-logit unit (0: unknown)"),
    ("token_logit_scale", "f", "float token_logit_scale", "real value of one token-logit unit (0: unknown)"),
]
HEADER_FORMAT = "<" + "".join(code for _, code, _, _ in HEADER_FIELDS)
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)
CRC_OFFSET = struct.calcsize("<4sHHII")  # offset of the crc32 field
CRC_START = CRC_OFFSET + 4  # the CRC covers everything after its own field
SECTION_ENTRY_FORMAT = "<IIII"  # id, offset, size, reserved
SECTION_ENTRY_SIZE = struct.calcsize(SECTION_ENTRY_FORMAT)

# Per-output-channel requantisation record of a linear layer.
REQUANT_FIELDS = [
    ("bias", "int32 bias in the accumulator's scale"),
    ("mult", "multiplier in [0, 2^31)"),
    ("shift", "right shift in [1, 62]"),
]
REQUANT_DTYPE = np.dtype([(n, "<i4") for n, _ in REQUANT_FIELDS])

# Scalars of the whole model (int32 each).
MODEL_PARAM_FIELDS = [
    ("pos_mult", "position row -> embedding-sum scale"),
    ("type_mult", "token-type row -> embedding-sum scale"),
]
# Scalars of one encoder layer (int32 each).
LAYER_PARAM_FIELDS = [
    ("score_mult", "Q.K^T minus row max -> base-2 exponent, Q8"),
    ("score_shift", ""),
    ("ctx_mult", "P.V accumulator -> context int8"),
    ("ctx_shift", ""),
]
class Schedule(enum.IntEnum):
    """How the runtime orders the forward pass (docs/scheduling.md)."""

    NAIVE = 0
    TILED = 1
    LEAN = 2


class Buf(enum.IntEnum):
    """Activation buffer ids; a plan gives each one's offset (mcubert.planner sizes them)."""

    H = 0  # hidden state (L, d) int8
    H2 = 1  # lean: the layer's output hidden state (L, d) int8
    Q = 2  # queries (rows, d) int8; the context overwrites it head by head
    K = 3  # keys (L, d) int8
    V = 4  # values (L, d) int8
    S = 5  # scores / exps (rows, L) int32, naive: (heads, L, L)
    P = 6  # probabilities (rows, L) int16, naive: (heads, L, L)
    CTX = 7  # naive: context (L, d) int8
    KB = 8  # lean: a block of keys of one head (B, dh) int8
    VB = 9  # lean: a block of values of one head (B, dh) int8
    ACC = 10  # lean: context accumulators (G, dh) int32
    R_ATTN = 11  # residual sums after attention (rows, d) int32
    F = 12  # FFN intermediate (T, ffn) int16
    R_FFN = 13  # residual sums after the FFN (T, d) int32
    POOL = 14  # pooler pre-activation + pooled output (2 d) int8
    LOGITS = 15  # (n_labels) int32


# A memory plan (written by mcubert.planner): tile sizes, region sizes, one offset per buffer id.
N_PLAN_BUFFERS = 16
PLAN_NONE = 0xFFFFFFFF  # offset of a buffer the schedule does not use
PLAN_FIELDS = [
    ("schedule", "H", "MCUB_SCHED_*"),
    ("seq_len", "H", "sequence length planned for"),
    ("q_group", "H", "G: query rows per group"),
    ("ffn_tile", "H", "T: tokens per FFN tile"),
    ("key_block", "H", "B: keys per block (lean)"),
    ("n_buffers", "H", "MCUB_N_PLAN_BUFFERS"),
    ("region_bytes", "2I", "bytes of region 0 (fast) and region 1"),
    ("offsets", f"{N_PLAN_BUFFERS}I", "per buffer id: offset | region << 31, or MCUB_PLAN_NONE"),
]
PLAN_FORMAT = "<" + "".join(c for _, c, _ in PLAN_FIELDS)
PLAN_SIZE = struct.calcsize(PLAN_FORMAT)


def pack_plan(schedule: int, seq_len: int, q_group: int, ffn_tile: int, key_block: int,
              region_bytes: tuple[int, int], offsets: list[int]) -> bytes:
    assert len(offsets) == N_PLAN_BUFFERS
    return struct.pack(PLAN_FORMAT, schedule, seq_len, q_group, ffn_tile, key_block, N_PLAN_BUFFERS,
                       *region_bytes, *offsets)


def unpack_plan(raw: bytes) -> dict:
    v = struct.unpack(PLAN_FORMAT, bytes(raw))
    return dict(schedule=v[0], seq_len=v[1], q_group=v[2], ffn_tile=v[3], key_block=v[4], n_buffers=v[5],
                region_bytes=(v[6], v[7]), offsets=list(v[8:]))


MODEL_PARAMS_DTYPE = np.dtype([(n, "<i4") for n, _ in MODEL_PARAM_FIELDS])
LAYER_PARAMS_DTYPE = np.dtype([(n, "<i4") for n, _ in LAYER_PARAM_FIELDS])


class Sec(enum.IntEnum):
    """Section ids. Per-layer ids are LAYER_BASE + layer * LAYER_STRIDE + LayerSec."""

    MODEL_PARAMS = 0x0001
    WORD_EMB = 0x0002
    WORD_MULT = 0x0003
    POS_EMB = 0x0004
    TYPE_EMB = 0x0005
    EMB_LN_GAMMA = 0x0006
    EMB_LN_BETA = 0x0007
    POOLER_W = 0x0010
    POOLER_RQ = 0x0011
    TANH_LUT = 0x0012
    CLS_W = 0x0013
    CLS_RQ = 0x0014
    TOK_W = 0x0015  # token classifier: (n_tags, d) int8
    TOK_RQ = 0x0016  # token classifier: (n_tags) requant records
    META = 0x0020  # UTF-8 JSON for host tools; ignored by the runtime
    LABELS = 0x0021  # names of the outputs (mcubert.formats.heads); optional
    EMB_PERM = 0x0008  # clustered: (vocab) uint16 global table row of each token
    EMB_CLUSTERS = 0x0009  # clustered: (K) struct mcub_emb_cluster
    EMB_TABLES = 0x000A  # clustered: int8 tables, cluster after cluster, (n_i, r_i) each
    EMB_PROJ = 0x000B  # clustered: int8 transposed projections, (d, r_i) each
    VOCAB = 0x0040  # packed WordPiece vocabulary for the on-device tokenizer (mcubert.vocab); optional
    PLAN_NAIVE = 0x0030  # memory plans, one per schedule (struct mcub_plan)
    PLAN_TILED = 0x0031
    PLAN_LEAN = 0x0032


class LayerSec(enum.IntEnum):
    PARAMS = 0
    Q_W = 1
    Q_RQ = 2
    K_W = 3
    K_RQ = 4
    V_W = 5
    V_RQ = 6
    O_W = 7
    O_RQ = 8
    LN_ATTN_GAMMA = 9
    LN_ATTN_BETA = 10
    FFN_IN_W = 11
    FFN_IN_RQ = 12
    GELU_LUT = 13
    FFN_OUT_W = 14
    FFN_OUT_RQ = 15
    LN_FFN_GAMMA = 16
    LN_FFN_BETA = 17
    ATTN_RES_MULT = 18
    FFN_RES_MULT = 19


PLAN_SECTIONS = {Schedule.NAIVE: Sec.PLAN_NAIVE, Schedule.TILED: Sec.PLAN_TILED, Schedule.LEAN: Sec.PLAN_LEAN}

LAYER_BASE = 0x1000
LAYER_STRIDE = 0x100


def layer_sec(layer: int, sec: LayerSec) -> int:
    return LAYER_BASE + layer * LAYER_STRIDE + int(sec)


class BlobError(ValueError):
    """A blob that cannot be read: the message says what is wrong."""


@dataclasses.dataclass(frozen=True)
class Config:
    vocab_size: int
    n_layers: int
    hidden: int
    n_heads: int
    ffn: int
    max_pos: int
    type_vocab: int
    n_labels: int
    max_seq_len: int
    flags: int
    n_tags: int = 0
    head: int = -1  # heads.Head; -1: the one the output counts imply
    logit_scale: float = 0.0  # real value of one sequence-logit unit (0: unknown)
    token_logit_scale: float = 0.0  # of one token-logit unit

    def __post_init__(self) -> None:
        if self.head < 0:
            object.__setattr__(self, "head", int(heads.implied_head(self.n_labels, self.n_tags)))

    @property
    def head_dim(self) -> int:
        return self.hidden // self.n_heads

    def validate(self) -> None:
        """The same checks as the C runtime's blob validation."""
        if not (1 <= self.vocab_size <= 0x7FFFFFFF):
            raise BlobError(f"vocab_size {self.vocab_size} out of range")
        if not (1 <= self.n_layers <= 64):
            raise BlobError(f"n_layers {self.n_layers} out of range [1, 64]")
        if self.n_heads < 1 or self.hidden < 1 or self.hidden % self.n_heads:
            raise BlobError(f"hidden {self.hidden} is not a multiple of n_heads {self.n_heads}")
        if self.hidden > 4096 or self.ffn < 1 or self.ffn > 4096:
            raise BlobError("hidden or ffn size out of range")
        if not (1 <= self.max_seq_len <= min(self.max_pos, MAX_SEQ_LEN_LIMIT)):
            raise BlobError(f"max_seq_len {self.max_seq_len} out of range [1, {min(self.max_pos, MAX_SEQ_LEN_LIMIT)}]")
        if self.type_vocab < 1:
            raise BlobError("type_vocab must be >= 1")
        if self.flags & ~FLAGS_KNOWN:
            raise BlobError(f"unknown flags 0x{self.flags:x}")
        if bool(self.flags & FLAG_CLASSIFIER) != (self.n_labels > 0):
            raise BlobError("n_labels must be > 0 exactly when the classifier flag is set")
        if self.flags & FLAG_CLASSIFIER and not self.flags & FLAG_POOLER:
            raise BlobError("a classifier needs the pooler")
        if self.flags & FLAG_WEIGHTS_S16 and (self.hidden % 4 or self.ffn % 4):
            raise BlobError("int16 weights need hidden and ffn sizes that are multiples of 4")
        if bool(self.flags & FLAG_TOKEN_CLASSIFIER) != (self.n_tags > 0):
            raise BlobError("n_tags must be > 0 exactly when the token-classifier flag is set")
        if self.flags & FLAG_CASE_TYPES and (self.type_vocab < 2 or self.head == heads.Head.PAIR):
            raise BlobError("case types need a single-text head and type_vocab >= 2")
        problem = heads.head_problem(self.head, self.n_labels, self.n_tags)
        if problem:
            raise BlobError(problem)


def _align(n: int, a: int = SECTION_ALIGN) -> int:
    return (n + a - 1) // a * a


class Dim(enum.IntEnum):
    """Config fields that section shapes are made of."""

    ONE = 0
    VOCAB = 1
    HIDDEN = 2
    FFN = 3
    MAX_POS = 4
    TYPE_VOCAB = 5
    N_LABELS = 6
    N_TAGS = 7


_RQ = REQUANT_DTYPE.itemsize
# Clustered low-rank word embeddings: one record per cluster; sizes vary, so the runtime checks them
# against each other and the section sizes instead of against MODEL_SECTIONS.
EMB_CLUSTER_FIELDS = [
    ("row_start", "I", "first global table row of the cluster (rows contiguous, cluster after cluster)"),
    ("table_offset", "I", "byte offset of the cluster's (n_i, r_i) table in EMB_TABLES; n_i follows from the next"),
    ("proj_offset", "I", "byte offset of the cluster's (d, r_i) projection in EMB_PROJ"),
    ("rank", "H", "r_i, 1..255"),
    ("shift", "H", "right shift of (table . proj) * word_mult, 0..30"),
]
EMB_CLUSTER_FORMAT = "<" + "".join(c for _, c, _ in EMB_CLUSTER_FIELDS)
EMB_CLUSTER_SIZE = struct.calcsize(EMB_CLUSTER_FORMAT)
EMB_CLUSTER_DTYPE = np.dtype([(n, "<u4" if c == "I" else "<u2") for n, c, _ in EMB_CLUSTER_FIELDS])
MAX_CLUSTERS = 1024

# (id, dim0, dim1, element bytes, flag the section depends on or 0, flag that removes it or 0)
MODEL_SECTIONS: list[tuple[Sec, Dim, Dim, int, int, int]] = [
    (Sec.MODEL_PARAMS, Dim.ONE, Dim.ONE, MODEL_PARAMS_DTYPE.itemsize, 0, 0),
    (Sec.WORD_EMB, Dim.VOCAB, Dim.HIDDEN, 1, 0, FLAG_EMB_CLUSTERED),
    (Sec.WORD_MULT, Dim.VOCAB, Dim.ONE, 2, 0, 0),
    (Sec.EMB_PERM, Dim.VOCAB, Dim.ONE, 2, FLAG_EMB_CLUSTERED, 0),
    (Sec.POS_EMB, Dim.MAX_POS, Dim.HIDDEN, 1, 0, 0),
    (Sec.TYPE_EMB, Dim.TYPE_VOCAB, Dim.HIDDEN, 1, 0, 0),
    (Sec.EMB_LN_GAMMA, Dim.HIDDEN, Dim.ONE, 4, 0, 0),
    (Sec.EMB_LN_BETA, Dim.HIDDEN, Dim.ONE, 4, 0, 0),
    (Sec.POOLER_W, Dim.HIDDEN, Dim.HIDDEN, 1, FLAG_POOLER, 0),
    (Sec.POOLER_RQ, Dim.HIDDEN, Dim.ONE, _RQ, FLAG_POOLER, 0),
    (Sec.TANH_LUT, Dim.ONE, Dim.ONE, 256, FLAG_POOLER, 0),
    (Sec.CLS_W, Dim.N_LABELS, Dim.HIDDEN, 1, FLAG_CLASSIFIER, 0),
    (Sec.CLS_RQ, Dim.N_LABELS, Dim.ONE, _RQ, FLAG_CLASSIFIER, 0),
    (Sec.TOK_W, Dim.N_TAGS, Dim.HIDDEN, 1, FLAG_TOKEN_CLASSIFIER, 0),
    (Sec.TOK_RQ, Dim.N_TAGS, Dim.ONE, _RQ, FLAG_TOKEN_CLASSIFIER, 0),
]
# The encoder's weight matrices: (section, out, in); int8, or int16 with FLAG_WEIGHTS_S16.
WIDE_WEIGHT_SECS: list[tuple[LayerSec, Dim, Dim]] = [
    *[(w, Dim.HIDDEN, Dim.HIDDEN) for w in (LayerSec.Q_W, LayerSec.K_W, LayerSec.V_W, LayerSec.O_W)],
    (LayerSec.FFN_IN_W, Dim.FFN, Dim.HIDDEN),
    (LayerSec.FFN_OUT_W, Dim.HIDDEN, Dim.FFN),
]
LAYER_SECTIONS: list[tuple[LayerSec, Dim, Dim, int, int, int]] = [
    (LayerSec.PARAMS, Dim.ONE, Dim.ONE, LAYER_PARAMS_DTYPE.itemsize, 0, 0),
    *[(w, d0, d1, 1, 0, FLAG_WEIGHTS_S16) for w, d0, d1 in WIDE_WEIGHT_SECS],
    *[(w, d0, d1, 2, FLAG_WEIGHTS_S16, 0) for w, d0, d1 in WIDE_WEIGHT_SECS],
    *[(r, Dim.HIDDEN, Dim.ONE, _RQ, 0, 0) for r in (LayerSec.Q_RQ, LayerSec.K_RQ, LayerSec.V_RQ, LayerSec.O_RQ)],
    (LayerSec.FFN_IN_RQ, Dim.FFN, Dim.ONE, _RQ, 0, 0),
    (LayerSec.GELU_LUT, Dim.ONE, Dim.ONE, 2 * 257, 0, 0),
    (LayerSec.FFN_OUT_RQ, Dim.HIDDEN, Dim.ONE, _RQ, 0, 0),
    *[(ln, Dim.HIDDEN, Dim.ONE, 4, 0, 0) for ln in (LayerSec.LN_ATTN_GAMMA, LayerSec.LN_ATTN_BETA,
                                                LayerSec.LN_FFN_GAMMA, LayerSec.LN_FFN_BETA,
                                                LayerSec.ATTN_RES_MULT, LayerSec.FFN_RES_MULT)],
]


def _dim(cfg: Config, dim: Dim) -> int:
    return {Dim.ONE: 1, Dim.VOCAB: cfg.vocab_size, Dim.HIDDEN: cfg.hidden, Dim.FFN: cfg.ffn,
            Dim.MAX_POS: cfg.max_pos, Dim.TYPE_VOCAB: cfg.type_vocab, Dim.N_LABELS: cfg.n_labels,
            Dim.N_TAGS: cfg.n_tags}[dim]


def wanted(cfg: Config, flag: int, noflag: int) -> bool:
    """Whether a section of a spec table (depending on `flag`, removed by `noflag`) is in a blob of `cfg`."""
    return (not flag or bool(cfg.flags & flag)) and not cfg.flags & noflag


def section_spec(cfg: Config) -> dict[int, int]:
    """Every section the runtime needs, with its exact size in bytes."""
    spec: dict[int, int] = {}
    for sid, d0, d1, elem, flag, noflag in MODEL_SECTIONS:
        if wanted(cfg, flag, noflag):
            spec[int(sid)] = _dim(cfg, d0) * _dim(cfg, d1) * elem
    for i in range(cfg.n_layers):
        for lsid, d0, d1, elem, flag, noflag in LAYER_SECTIONS:
            if wanted(cfg, flag, noflag):
                spec[layer_sec(i, lsid)] = _dim(cfg, d0) * _dim(cfg, d1) * elem
    return spec


def layout_size(section_sizes: Mapping[int, int]) -> int:
    """Exact bytes of a blob holding sections of these sizes: header, section table, aligned sections."""
    offset = _align(HEADER_SIZE + SECTION_ENTRY_SIZE * len(section_sizes))
    for sid in sorted(section_sizes):
        offset = _align(offset + section_sizes[sid])
    return offset


def blob_size(cfg: Config, *, meta_bytes: int = 0, vocab_bytes: int = 0, labels_bytes: int = 0,
              clusters: Sequence[tuple[int, int]] = (), plans: int = len(PLAN_SECTIONS)) -> int:
    """The exact size of the blob `pack` writes for `cfg`, without building it (the flash it takes).

    meta_bytes: the META JSON (`mcubert convert` writes ~0.1-0.3 KB; 0: none); vocab_bytes: the packed
    vocabulary (0: none); labels_bytes: the LABELS section (`heads.pack_labels`, 0: none); clusters: (rows,
    rank) of each cluster of a clustered word embedding (with FLAG_EMB_CLUSTERED); plans: PLAN sections (3; a
    naive plan over 2 GiB is left out).
    """
    sizes = section_spec(cfg)
    if cfg.flags & FLAG_EMB_CLUSTERED:
        sizes[int(Sec.EMB_CLUSTERS)] = EMB_CLUSTER_SIZE * len(clusters)
        sizes[int(Sec.EMB_TABLES)] = sum(n * r for n, r in clusters)
        sizes[int(Sec.EMB_PROJ)] = sum(cfg.hidden * r for _, r in clusters)
    for sid in list(PLAN_SECTIONS.values())[:plans]:
        sizes[int(sid)] = PLAN_SIZE
    for sid, n in ((Sec.META, meta_bytes), (Sec.VOCAB, vocab_bytes), (Sec.LABELS, labels_bytes)):
        if n:
            sizes[int(sid)] = n
    return layout_size(sizes)


def pack(cfg: Config, sections: Mapping[int, bytes], schedule: int = Schedule.TILED) -> bytes:
    """Lay out a blob: header, section table, aligned sections, CRC. `schedule` names the default plan."""
    cfg.validate()
    plan_sid = PLAN_SECTIONS.get(int(schedule))
    if plan_sid is None or int(plan_sid) not in sections:
        raise BlobError(f"no plan for the default schedule {schedule}")
    default_plan = unpack_plan(sections[int(plan_sid)])
    spec = section_spec(cfg)
    missing = sorted(set(spec) - set(sections))
    if missing:
        raise BlobError(f"missing sections: {[hex(m) for m in missing]}")
    for sid, size in spec.items():
        if len(sections[sid]) != size:
            raise BlobError(f"section 0x{sid:x} has {len(sections[sid])} bytes, expected {size}")
    ids = sorted(sections)
    table_off = HEADER_SIZE
    offset = _align(table_off + SECTION_ENTRY_SIZE * len(ids))
    entries = []
    body = bytearray()
    for sid in ids:
        data = sections[sid]
        entries.append((sid, offset, len(data)))
        body += data
        pad = _align(offset + len(data)) - (offset + len(data))
        body += b"\0" * pad
        offset += len(data) + pad
    total = offset
    table = b"".join(struct.pack(SECTION_ENTRY_FORMAT, sid, off, size, 0) for sid, off, size in entries)
    first = _align(table_off + len(table))
    head_fields = dict(
        magic=MAGIC, version_major=VERSION_MAJOR, version_minor=VERSION_MINOR,
        header_size=HEADER_SIZE, total_size=total, crc32=0, flags=cfg.flags,
        vocab_size=cfg.vocab_size, n_layers=cfg.n_layers, hidden=cfg.hidden,
        n_heads=cfg.n_heads, ffn=cfg.ffn, max_pos=cfg.max_pos, type_vocab=cfg.type_vocab,
        n_labels=cfg.n_labels, max_seq_len=cfg.max_seq_len,
        arena_bytes=sum(default_plan["region_bytes"]), section_count=len(ids),
        section_offset=table_off, schedule=int(schedule), head=cfg.head, n_tags=cfg.n_tags, reserved1=0,
        logit_scale=cfg.logit_scale, token_logit_scale=cfg.token_logit_scale,
    )
    header = struct.pack(HEADER_FORMAT, *(head_fields[n] for n, _, _, _ in HEADER_FIELDS))
    blob = bytearray(header + table + b"\0" * (first - HEADER_SIZE - len(table)) + body)
    assert len(blob) == total == layout_size({sid: len(sections[sid]) for sid in ids})
    crc = zlib.crc32(bytes(blob[CRC_START:])) & 0xFFFFFFFF
    struct.pack_into("<I", blob, CRC_OFFSET, crc)
    return bytes(blob)


@dataclasses.dataclass
class Blob:
    """A parsed, validated blob: config and sections by id."""

    cfg: Config
    sections: dict[int, memoryview]
    header: dict[str, object]

    def array(self, sid: int, dtype: np.dtype | str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        a = np.frombuffer(self.sections[int(sid)], dtype=np.dtype(dtype))
        return a.reshape(shape) if shape is not None else a

    @property
    def arena_bytes(self) -> int:
        """Arena of the default plan (what mcubert_arena_size() returns)."""
        return int(self.header["arena_bytes"])

    def plan(self, schedule: int | None = None) -> dict | None:
        """A plan of this blob (the default one without `schedule`), or None."""
        sched = int(self.header["schedule"]) if schedule is None else int(schedule)
        raw = self.sections.get(int(PLAN_SECTIONS[sched]))
        return None if raw is None else unpack_plan(raw)

    def labels(self) -> tuple[list[str], list[str]]:
        """Names of the sequence labels (or intents) and of the token tags; empty lists where the blob has none."""
        raw = self.sections.get(int(Sec.LABELS))
        return ([], []) if raw is None else heads.unpack_labels(raw, self.cfg.n_labels, self.cfg.n_tags)

    def meta(self) -> dict:
        import json

        raw = self.sections.get(int(Sec.META))
        return json.loads(bytes(raw).decode("utf-8")) if raw is not None else {}


def check_clusters(cfg: Config, sections: Mapping[int, bytes | memoryview]) -> None:
    """The clustered embedding's records agree with each other and with the section sizes (as the C runtime)."""
    for sid in (Sec.EMB_CLUSTERS, Sec.EMB_TABLES, Sec.EMB_PROJ):
        if int(sid) not in sections:
            raise BlobError(f"missing section 0x{int(sid):x}")
    raw = bytes(sections[int(Sec.EMB_CLUSTERS)])
    if len(raw) % EMB_CLUSTER_SIZE or not 1 <= len(raw) // EMB_CLUSTER_SIZE <= MAX_CLUSTERS:
        raise BlobError("bad cluster table size")
    cl = np.frombuffer(raw, EMB_CLUSTER_DTYPE)
    n_tab = len(sections[int(Sec.EMB_TABLES)])
    ends = [int(x) for x in cl["table_offset"][1:]] + [n_tab]
    rows = p_off = 0
    for c, end in zip(cl, ends):
        r = int(c["rank"])
        if not 1 <= r <= 255 or c["shift"] > 30 or c["row_start"] != rows or c["proj_offset"] != p_off or \
                end <= c["table_offset"] or (end - int(c["table_offset"])) % r:
            raise BlobError("inconsistent cluster records")
        rows += (end - int(c["table_offset"])) // r
        p_off += cfg.hidden * r
    if cl["table_offset"][0] != 0 or len(sections[int(Sec.EMB_PROJ)]) != p_off or rows > 65535:
        raise BlobError("cluster tables do not match their records")
    if np.frombuffer(bytes(sections[int(Sec.EMB_PERM)]), "<u2").max() >= rows:
        raise BlobError("embedding permutation out of range")


def read_file(path: str | Path) -> bytes:
    """The bytes of a blob file; BlobError (one line) when it cannot be read or does not start with MAGIC."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise BlobError(f"{path}: {e.strerror}") from None
    if data[:4] != MAGIC:
        raise BlobError(f"{path}: not an mcubert blob (convert a model first with `mcubert convert`)")
    return data


def unpack(data: bytes) -> Blob:
    """Parse and validate a blob as the C runtime does; raise BlobError."""
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise BlobError(f"truncated: {len(data)} bytes, header needs {HEADER_SIZE}")
    h = dict(zip([n for n, _, _, _ in HEADER_FIELDS], struct.unpack_from(HEADER_FORMAT, data)))
    if h["magic"] != MAGIC:
        raise BlobError("not an mcubert blob (bad magic)")
    if h["version_major"] != VERSION_MAJOR:
        raise BlobError(f"unsupported format version {h['version_major']}.{h['version_minor']}")
    if h["header_size"] != HEADER_SIZE:
        raise BlobError(f"header_size {h['header_size']} != {HEADER_SIZE}")
    total = int(h["total_size"])
    if len(data) < total:
        raise BlobError(f"truncated: {len(data)} bytes, header declares {total}")
    if zlib.crc32(data[CRC_START:total]) & 0xFFFFFFFF != h["crc32"]:
        raise BlobError("checksum mismatch: the blob is damaged")
    if h["version_minor"] == 0:  # 1.0: no head kind, no token classifier, no logit scales
        h["head"] = int(heads.implied_head(int(h["n_labels"]), 0))
        h["logit_scale"] = h["token_logit_scale"] = 0.0
    cfg = Config(**{f.name: h[f.name] if f.type == "float" else int(h[f.name]) for f in dataclasses.fields(Config)})
    cfg.validate()
    count, off = int(h["section_count"]), int(h["section_offset"])
    if off < HEADER_SIZE or off + count * SECTION_ENTRY_SIZE > total or count > 65536:
        raise BlobError("section table out of bounds")
    spec = section_spec(cfg)
    sections: dict[int, memoryview] = {}
    view = memoryview(data)
    for i in range(count):
        sid, s_off, size, _ = struct.unpack_from(SECTION_ENTRY_FORMAT, data, off + i * SECTION_ENTRY_SIZE)
        if s_off % SECTION_ALIGN or s_off + size > total or s_off < off + count * SECTION_ENTRY_SIZE:
            raise BlobError(f"section 0x{sid:x} out of bounds or misaligned")
        if sid in spec and size != spec[sid]:
            raise BlobError(f"section 0x{sid:x} has {size} bytes, expected {spec[sid]}")
        sections[sid] = view[s_off:s_off + size]
    missing = sorted(set(spec) - set(sections))
    if missing:
        raise BlobError(f"missing section 0x{missing[0]:x}")
    if cfg.flags & FLAG_EMB_CLUSTERED:
        check_clusters(cfg, sections)
    if int(Sec.LABELS) in sections:
        try:
            heads.unpack_labels(sections[int(Sec.LABELS)], cfg.n_labels, cfg.n_tags)
        except heads.LabelsError as e:
            raise BlobError(str(e)) from None
    for sched, psid in PLAN_SECTIONS.items():
        raw = sections.get(int(psid))
        if raw is None:
            continue
        if len(raw) != PLAN_SIZE:
            raise BlobError(f"plan section 0x{int(psid):x} has {len(raw)} bytes, expected {PLAN_SIZE}")
        p = unpack_plan(raw)
        if p["schedule"] != sched or p["seq_len"] != cfg.max_seq_len or p["n_buffers"] != N_PLAN_BUFFERS:
            raise BlobError(f"plan section 0x{int(psid):x} is inconsistent with the header")
    default = sections.get(int(PLAN_SECTIONS.get(int(h["schedule"]), 0)))
    if default is None:
        raise BlobError(f"no plan for the default schedule {h['schedule']}")
    if h["arena_bytes"] != sum(unpack_plan(default)["region_bytes"]):
        raise BlobError("arena_bytes does not match the default plan")
    out = Blob(cfg=cfg, sections=sections, header=h)
    if cfg.flags & FLAG_WEIGHTS_S16:
        from mcubert.formats.wide_weights import check_values

        check_values(out)
    return out


def render_c_header() -> str:
    """The C view of this module: include/mcubert/blob_format.h (rendered by formats.blob_header)."""
    from mcubert.formats.blob_header import render

    return render()

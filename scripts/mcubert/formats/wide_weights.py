# SPDX-License-Identifier: Apache-2.0
"""int16 pre-extended encoder weights (FLAG_WEIGHTS_S16): the layout, and widening a blob.

The DSP path's matrix kernel (subsys/mcubert/kernels/mm4_s16_s8.c) multiplies packed int16 activation
pairs (x[k], x[k+2]), (x[k+1], x[k+3]) by weight halfword pairs in the same order. From int8 weights it
makes those pairs with two SXTB16 per 4 weights; a blob with FLAG_WEIGHTS_S16 stores them ready-made:
each weight row of `in` columns (a multiple of 4) is `in` int16 values, per group of 4 columns
w[k], w[k+2], w[k+1], w[k+3]. The values are int8 (checked by the runtime at init and by `unpack`): the
products, sums and every result are the same bits as with int8 weights, on every path. The price is one
more byte of flash per weight (+393 KB for BERT-tiny); the kernel saves 4 of 25 instructions per 32
multiply-accumulates.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from mcubert.formats import blob as fmt

__all__ = ["ORDER", "check_values", "from_pairs", "to_pairs", "wide_bytes", "widen"]

ORDER = np.array([0, 2, 1, 3])  # column k + ORDER[i] is stored at position k + i of each group of 4


def to_pairs(w: np.ndarray) -> np.ndarray:
    """(out, in) int8 weights -> (out, in) int16 in the pair order (in: a multiple of 4)."""
    out, n = w.shape
    return w.reshape(out, n // 4, 4)[:, :, ORDER].reshape(out, n).astype("<i2")


def from_pairs(w16: np.ndarray) -> np.ndarray:
    """The inverse of `to_pairs` (the pair order is its own inverse): (out, in) int16 -> int8 values."""
    out, n = w16.shape
    return w16.reshape(out, n // 4, 4)[:, :, ORDER].reshape(out, n).astype(np.int8)


def _weight_sections(cfg: fmt.Config):
    for i in range(cfg.n_layers):
        for sec, d_out, d_in in fmt.WIDE_WEIGHT_SECS:
            yield fmt.layer_sec(i, sec), fmt._dim(cfg, d_out), fmt._dim(cfg, d_in)


def check_values(b: fmt.Blob) -> None:
    """The int16 weights of a FLAG_WEIGHTS_S16 blob hold int8 values (else BlobError), as the runtime checks."""
    for sid, n_out, n_in in _weight_sections(b.cfg):
        w = b.array(sid, "<i2")
        if w.size and (int(w.min()) < -128 or int(w.max()) > 127):
            raise fmt.BlobError(f"section 0x{sid:x}: int16 weight outside the int8 range")


def wide_bytes(cfg: fmt.Config) -> int:
    """Bytes widening adds to a blob of `cfg` (before alignment): one per encoder weight."""
    return sum(n_out * n_in for _, n_out, n_in in _weight_sections(cfg))


def widen(data: bytes) -> bytes:
    """The same model with int16 pre-extended encoder weights (FLAG_WEIGHTS_S16); BlobError when the
    shapes do not allow it (hidden or ffn not a multiple of 4). A blob already wide is returned as is."""
    b = fmt.unpack(data)
    if b.cfg.flags & fmt.FLAG_WEIGHTS_S16:
        return bytes(data)
    cfg = dataclasses.replace(b.cfg, flags=b.cfg.flags | fmt.FLAG_WEIGHTS_S16)
    cfg.validate()
    sections = {sid: bytes(v) for sid, v in b.sections.items()}
    for sid, n_out, n_in in _weight_sections(cfg):
        sections[sid] = to_pairs(b.array(sid, np.int8, (n_out, n_in))).tobytes()
    return fmt.pack(cfg, sections, schedule=int(b.header["schedule"]))

# SPDX-License-Identifier: Apache-2.0
"""Bad input gets a specific negative errno from the C runtime and a clear error from Python."""

from __future__ import annotations

import ctypes
import errno
import struct
import zlib

import numpy as np
import pytest

from mcubert.formats import blob
from mcubert.numerics.reference import InputError, Reference
from mcubert.targets.native import Runtime, RuntimeErrno, load


def recrc(data: bytearray) -> bytes:
    struct.pack_into("<I", data, blob.CRC_OFFSET, zlib.crc32(bytes(data[blob.CRC_START:])) & 0xFFFFFFFF)
    return bytes(data)


def header_field_offset(name: str) -> int:
    fmt = "<"
    for n, code, _, _ in blob.HEADER_FIELDS:
        if n == name:
            return struct.calcsize(fmt)
        fmt += code
    raise KeyError(name)


@pytest.fixture(scope="module")
def good(blob_of) -> bytes:
    return blob_of("odd")[1]


def init_err(data: bytes, **kw) -> int:
    return Runtime.init_errno(data, **kw)


def test_good_blob_inits(good):
    assert init_err(good) == 0


@pytest.mark.parametrize("cut", [0, 10, blob.HEADER_SIZE - 1])
def test_truncated_header_is_enodata(good, cut):
    assert init_err(good[:cut]) == -errno.ENODATA
    with pytest.raises(blob.BlobError, match="truncated"):
        blob.unpack(good[:cut])


def test_truncated_body_is_enodata(good):
    assert init_err(good[:-1]) == -errno.ENODATA
    assert init_err(good[: len(good) // 2]) == -errno.ENODATA


def test_wrong_magic_is_enoexec(good):
    bad = b"XCUB" + good[4:]
    assert init_err(bad) == -errno.ENOEXEC
    with pytest.raises(blob.BlobError, match="magic"):
        blob.unpack(bad)


def test_wrong_version_is_enotsup(good):
    bad = bytearray(good)
    struct.pack_into("<H", bad, header_field_offset("version_major"), blob.VERSION_MAJOR + 1)
    assert init_err(bytes(bad)) == -errno.ENOTSUP
    with pytest.raises(blob.BlobError, match="version"):
        blob.unpack(bytes(bad))


@pytest.mark.parametrize("where", [blob.CRC_START, 200, -1, -5000])
def test_bit_flip_is_ebadmsg(good, where):
    bad = bytearray(good)
    bad[where] ^= 0x10
    assert init_err(bytes(bad)) == -errno.EBADMSG
    with pytest.raises(blob.BlobError, match="checksum"):
        blob.unpack(bytes(bad))


def test_bit_flip_in_crc_field_is_ebadmsg(good):
    bad = bytearray(good)
    bad[blob.CRC_OFFSET] ^= 1
    assert init_err(bytes(bad)) == -errno.EBADMSG


@pytest.mark.parametrize("field,value", [("hidden", 95), ("n_heads", 0), ("max_seq_len", 0), ("ffn", 5000),
                                         ("n_labels", 0), ("arena_bytes", 12), ("section_offset", 3),
                                         ("section_count", 100000), ("header_size", 64), ("schedule", 7),
                                         ("max_seq_len", 64)])
def test_inconsistent_header_is_einval(good, field, value):
    bad = bytearray(good)
    code = dict((n, c) for n, c, _, _ in blob.HEADER_FIELDS)[field]
    struct.pack_into("<" + code, bad, header_field_offset(field), value)
    assert init_err(recrc(bad)) == -errno.EINVAL
    with pytest.raises(blob.BlobError):
        blob.unpack(recrc(bad))


def test_unknown_flag_is_enotsup(good):
    bad = bytearray(good)
    struct.pack_into("<I", bad, header_field_offset("flags"), 0x83)
    assert init_err(recrc(bad)) == -errno.ENOTSUP


def _entry(data: bytes, i: int) -> int:
    h = blob.unpack(data).header
    return int(h["section_offset"]) + i * blob.SECTION_ENTRY_SIZE


@pytest.mark.parametrize("damage", ["misaligned", "out_of_bounds", "wrong_size", "missing"])
def test_bad_section_is_einval(good, damage):
    bad = bytearray(good)
    off = _entry(good, 3)
    sid, s_off, size, _ = struct.unpack_from(blob.SECTION_ENTRY_FORMAT, good, off)
    if damage == "misaligned":
        struct.pack_into("<I", bad, off + 4, s_off + 4)
    elif damage == "out_of_bounds":
        struct.pack_into("<I", bad, off + 8, len(good))
    elif damage == "wrong_size":
        struct.pack_into("<I", bad, off + 8, size - 1)
    else:
        struct.pack_into("<I", bad, off, 0xFFFF)
    assert init_err(recrc(bad)) == -errno.EINVAL
    with pytest.raises(blob.BlobError):
        blob.unpack(recrc(bad))


def test_arena_too_small_is_enomem(good):
    need = blob.unpack(good).arena_bytes
    assert init_err(good, arena_bytes=need - 4) == -errno.ENOMEM
    assert init_err(good, arena_bytes=need) == 0


def test_max_len_above_blob_is_e2big(good):
    assert init_err(good, max_len=129) == -errno.E2BIG


def test_token_id_out_of_range_is_erange(good):
    rt = Runtime(good)
    cfg = blob.unpack(good).cfg
    for ids in ([0, cfg.vocab_size], [-1, 3]):
        with pytest.raises(RuntimeErrno) as e:
            rt.infer(ids)
        assert e.value.code == -errno.ERANGE
        with pytest.raises(InputError):
            Reference(blob.unpack(good)).run(ids)
    with pytest.raises(RuntimeErrno) as e:
        rt.infer([1, 2], [0, cfg.type_vocab])
    assert e.value.code == -errno.ERANGE


def test_too_long_is_e2big_and_empty_is_einval(good):
    rt = Runtime(good, max_len=16)
    with pytest.raises(RuntimeErrno) as e:
        rt.infer(np.zeros(17, int))
    assert e.value.code == -errno.E2BIG
    with pytest.raises(RuntimeErrno) as e:
        rt.infer([])
    assert e.value.code == -errno.EINVAL


def test_null_arguments_are_efault(good):
    lib = load()
    buf = np.frombuffer(good, np.uint8).copy()
    arena = np.zeros(1 << 18, np.uint64)
    handle = np.zeros(1 << 13, np.uint64)
    assert lib.mcubert_init(None, buf.ctypes.data, len(buf), arena.ctypes.data, arena.nbytes, 0) == -errno.EFAULT
    assert lib.mcubert_init(handle.ctypes.data, None, len(buf), arena.ctypes.data, arena.nbytes, 0) == -errno.EFAULT
    assert lib.mcubert_init(handle.ctypes.data, buf.ctypes.data, len(buf), None, arena.nbytes, 0) == -errno.EFAULT
    assert lib.mcubert_init(handle.ctypes.data, buf.ctypes.data + 1, len(buf) - 1, arena.ctypes.data,
                            arena.nbytes, 0) == -errno.EFAULT
    assert lib.mcubert_init(handle.ctypes.data, buf.ctypes.data, len(buf), arena.ctypes.data, arena.nbytes, 0) == 0
    assert lib.mcubert_infer(handle.ctypes.data, None, None, 3) == -errno.EFAULT
    out = np.zeros(8, np.int32)
    assert lib.mcubert_logits(handle.ctypes.data, out.ctypes.data, 8) == -errno.ENODATA  # no inference yet
    ids = np.array([1, 2, 3], np.int32)
    assert lib.mcubert_infer(handle.ctypes.data, ids.ctypes.data, None, 3) == 0
    assert lib.mcubert_logits(handle.ctypes.data, out.ctypes.data, 2) == -errno.ENOSPC
    assert lib.mcubert_logits(handle.ctypes.data, None, 8) == -errno.EFAULT
    assert lib.mcubert_logits(handle.ctypes.data, out.ctypes.data, 8) == 3
    assert lib.mcubert_strerror(-errno.EBADMSG) == b"EBADMSG"


def test_no_classifier_is_enoent(blob_of):
    _, data = blob_of("nohead")
    rt = Runtime(data)
    rt.infer([1, 2, 3])
    assert rt.logits(2) is None
    lib = load()
    assert lib.mcubert_label(ctypes.c_void_p(rt._handle.ctypes.data)) == -errno.ENOENT
    assert rt.pooled(64) is not None

# SPDX-License-Identifier: Apache-2.0
"""The packed WordPiece vocabulary read by the C tokenizer (`.mcbv`).

`pack_vocab()` turns a BERT `vocab.txt` into a compact, self-describing,
4-byte aligned image that subsys/mcubert/tokenizer.c uses in place (from
flash); `unpack_vocab()` parses and validates one exactly as the C side does.
`render_c_header()` writes subsys/mcubert/vocab_format.h (the header offsets
and the encodings tokenizer.c reads) from this module and tokenizer_tables.py;
a test asserts the checked-in header equals it.
The layout (all integers little-endian) is::

    header            HEADER_SIZE bytes, fields HEADER_FIELDS
    special tokens    n_special records of SPECIAL_SIZE bytes:
                      uint32 id, uint8 length, 3 zero bytes, 24 bytes of text
    init buckets      uint16[257]: bucket[c] = blocks whose first key starts
                      with a byte below c (bucket[256] = all blocks); 2 zero
                      bytes of padding
    cont buckets      the same for the continuation table
    init index        uint32 per block: offset of the block in init data
    cont index        the same for the continuation table
    init data         front-coded keys of word-initial pieces
    cont data         front-coded keys of continuation pieces ("##" removed)
    ids               bit-packed (id_bits each, LSB first) token ids of the
                      init keys then the cont keys, in key order; 3 spare
                      bytes, zero padding to a multiple of 4

The CRC-32 (zlib.crc32) covers bytes [CRC_START, total_size).

Keys are sorted bytewise (UTF-8) and cut into blocks of block_size keys.
A block's first key is stored whole; each following key stores how many
leading bytes it shares with the previous key and the rest. An entry
starts with one byte `prefix << 4 | suffix_length` when prefix < 15 and
suffix_length < 16, else with 0xF0 followed by two bytes prefix and
suffix_length; then the suffix bytes. The lookup binary-searches the heads
of the blocks in the bucket of the first byte, then scans one block.

Vocabulary reading follows tokenizers' WordPiece::read_file: one token per
line, trailing whitespace removed, the id is the line number, a later
duplicate line wins. Tokens starting with "##" are continuation pieces (the
BertPreTokenizer makes "#" a word of its own, so a word never starts with
"##" and no token is needed in both roles); the empty token and "##" alone
can never match and are left out.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import struct
import sys
import zlib
from pathlib import Path

from mcubert.formats import tokenizer_tables as tt

log = logging.getLogger(__name__)

MAGIC = b"MCBV"
VERSION = 1
FLAG_UNCASED = 0x0001  # BERT uncased pipeline: lowercase and strip accents
FLAGS_KNOWN = FLAG_UNCASED
BLOCK_SIZE = 16
MAX_WORD_CHARS = 100  # WordPiece max_input_chars_per_word
MAX_KEY_LEN = 255
MAX_ID_BITS = 24
MAX_BLOCKS = 0xFFFF
BUCKETS = 257
BUCKET_BYTES = 2 * BUCKETS + 2
SPECIAL_SIZE = 32
SPECIAL_TEXT_MAX = 24
CONTINUATION = "##"
ALIGN = 4
ENTRY_ESCAPE = 0xF0  # entry header byte followed by two bytes prefix, suffix_length

# (name, struct code, comment)
HEADER_FIELDS: list[tuple[str, str, str]] = [
    ("magic", "4s", "'M' 'C' 'B' 'V'"),
    ("version", "H", "format version"),
    ("header_size", "H", "bytes of this header"),
    ("total_size", "I", "bytes of the whole image, a multiple of 4"),
    ("crc32", "I", "CRC-32 of bytes [CRC_START, total_size)"),
    ("vocab_size", "I", "number of ids (lines of vocab.txt)"),
    ("flags", "I", "FLAG_*"),
    ("unk_id", "I", "id of the unknown token"),
    ("cls_id", "I", "id of the classification token"),
    ("sep_id", "I", "id of the separator token"),
    ("max_word_chars", "H", "longer words become unk"),
    ("block_size", "B", "keys per front-coded block"),
    ("id_bits", "B", "bits per packed id"),
    ("max_key_len", "B", "longest key, bytes"),
    ("n_special", "B", "special-token records"),
    ("reserved0", "H", "zero"),
    ("special_offset", "I", "offset of the special-token records"),
    ("ids_offset", "I", "offset of the packed ids"),
    ("init_count", "I", "word-initial keys"),
    ("init_index_offset", "I", "offset of their block index"),
    ("init_data_offset", "I", "offset of their front-coded data"),
    ("init_data_size", "I", "bytes of that data"),
    ("cont_count", "I", "continuation keys"),
    ("cont_index_offset", "I", "offset of their block index"),
    ("cont_data_offset", "I", "offset of their front-coded data"),
    ("cont_data_size", "I", "bytes of that data"),
    ("init_bucket_offset", "I", "offset of the first-byte buckets of init"),
    ("cont_bucket_offset", "I", "offset of the first-byte buckets of cont"),
    ("reserved", "4s", "zero"),
]
HEADER_FORMAT = "<" + "".join(code for _, code, _ in HEADER_FIELDS)
HEADER_SIZE = struct.calcsize(HEADER_FORMAT)
CRC_OFFSET = struct.calcsize("<4sHHI")
CRC_START = CRC_OFFSET + 4
assert HEADER_SIZE == 96

# Rust's str::trim_end removes Unicode White_Space.
_WHITE_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
               "\u2028\u2029\u202f\u205f\u3000"


class VocabError(ValueError):
    """A vocabulary that cannot be packed, or a packed image that is invalid."""


def read_vocab(path: str | Path) -> tuple[dict[str, int], int]:
    """token -> id as tokenizers reads a vocab.txt, and the number of lines."""
    data = Path(path).read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise VocabError(f"{path}: not UTF-8 ({e})") from e
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # BufRead::lines yields no empty line after the last newline
    vocab: dict[str, int] = {}
    for i, line in enumerate(lines):
        vocab[line.rstrip(_WHITE_SPACE)] = i
    return vocab, len(lines)


def _front_code(keys: list[bytes], block: int) -> tuple[list[int], bytes]:
    index: list[int] = []
    data = bytearray()
    prev = b""
    for i, k in enumerate(keys):
        if i % block == 0:
            index.append(len(data))
            p = 0
        else:
            p = 0
            while p < min(len(prev), len(k)) and prev[p] == k[p]:
                p += 1
        s = len(k) - p
        if p < ENTRY_ESCAPE >> 4 and s < 16:
            data.append(p << 4 | s)
        else:
            data += bytes((ENTRY_ESCAPE, p, s))
        data += k[p:]
        prev = k
    return index, bytes(data)


def _buckets(keys: list[bytes], block: int) -> bytes:
    heads = [keys[i][0] for i in range(0, len(keys), block)]
    counts = [sum(1 for h in heads if h < c) for c in range(BUCKETS)]
    return struct.pack(f"<{BUCKETS}H", *counts) + b"\0\0"


def _pad(b: bytes | bytearray, a: int = ALIGN) -> bytes:
    return bytes(b) + b"\0" * (-len(b) % a)


def pack_vocab(vocab_txt_path: str | Path, *, unk_token: str = "[UNK]", cls_token: str = "[CLS]",
               sep_token: str = "[SEP]", pad_token: str = "[PAD]", mask_token: str = "[MASK]",
               block_size: int = BLOCK_SIZE, max_word_chars: int = MAX_WORD_CHARS) -> bytes:
    """Pack a BERT uncased vocab.txt for the C tokenizer.

    The special tokens that are in the vocabulary are matched literally in
    the input text, as BertWordPieceTokenizer does; unk, cls and sep must be
    present.
    """
    vocab, n_ids = read_vocab(vocab_txt_path)
    for name, tok in (("unk", unk_token), ("cls", cls_token), ("sep", sep_token)):
        if tok not in vocab:
            raise VocabError(f"{name} token {tok!r} is not in the vocabulary")
    if not 1 <= block_size <= 255:
        raise VocabError("block_size must be in [1, 255]")
    id_bits = max(1, (n_ids - 1).bit_length())
    if id_bits > MAX_ID_BITS:
        raise VocabError(f"{n_ids} tokens: more than 2^{MAX_ID_BITS}")
    init: dict[bytes, int] = {}
    cont: dict[bytes, int] = {}
    for tok, i in vocab.items():
        if tok.startswith(CONTINUATION):
            key, table = tok[len(CONTINUATION):].encode(), cont
        else:
            key, table = tok.encode(), init
        if not key:
            continue
        if len(key) > MAX_KEY_LEN:
            raise VocabError(f"token {tok[:20]!r}... is longer than {MAX_KEY_LEN} bytes")
        table[key] = i
    specials = []
    for tok in (unk_token, sep_token, cls_token, pad_token, mask_token):
        if tok in vocab and tok not in [s for s, _ in specials]:
            raw = tok.encode()
            if not 1 <= len(raw) <= SPECIAL_TEXT_MAX:
                raise VocabError(f"special token {tok!r} must have 1 to {SPECIAL_TEXT_MAX} bytes")
            specials.append((tok, vocab[tok]))

    init_keys, cont_keys = sorted(init), sorted(cont)
    if max(len(init_keys), len(cont_keys)) > MAX_BLOCKS * block_size:
        raise VocabError(f"more than {MAX_BLOCKS} blocks: use a larger block_size")
    init_index, init_data = _front_code(init_keys, block_size)
    cont_index, cont_data = _front_code(cont_keys, block_size)
    ids = [init[k] for k in init_keys] + [cont[k] for k in cont_keys]
    bits = 0
    for j, i in enumerate(ids):
        bits |= i << (j * id_bits)
    nbytes = (len(ids) * id_bits + 7) // 8
    ids_blob = bits.to_bytes(nbytes, "little") + b"\0" * 3

    special_blob = b"".join(struct.pack("<IB3x24s", i, len(t.encode()), t.encode()) for t, i in specials)
    off = HEADER_SIZE
    special_offset = off
    off += len(special_blob)
    init_bucket_offset = off
    off += BUCKET_BYTES
    cont_bucket_offset = off
    off += BUCKET_BYTES
    init_index_offset = off
    off += 4 * len(init_index)
    cont_index_offset = off
    off += 4 * len(cont_index)
    init_data_offset = off
    off += len(init_data)
    cont_data_offset = off
    off += len(cont_data)
    off += -off % ALIGN
    ids_offset = off
    body = (special_blob + _buckets(init_keys, block_size) + _buckets(cont_keys, block_size)
            + struct.pack(f"<{len(init_index)}I", *init_index)
            + struct.pack(f"<{len(cont_index)}I", *cont_index) + _pad(init_data + cont_data) + _pad(ids_blob))
    total = HEADER_SIZE + len(body)
    fields = dict(
        magic=MAGIC, version=VERSION, header_size=HEADER_SIZE, total_size=total, crc32=0,
        vocab_size=n_ids, flags=FLAG_UNCASED, unk_id=vocab[unk_token], cls_id=vocab[cls_token],
        sep_id=vocab[sep_token], max_word_chars=max_word_chars, block_size=block_size, id_bits=id_bits,
        max_key_len=max([len(k) for k in init_keys + cont_keys], default=0), n_special=len(specials),
        reserved0=0, special_offset=special_offset, ids_offset=ids_offset,
        init_count=len(init_keys), init_index_offset=init_index_offset, init_data_offset=init_data_offset,
        init_data_size=len(init_data), cont_count=len(cont_keys), cont_index_offset=cont_index_offset,
        cont_data_offset=cont_data_offset, cont_data_size=len(cont_data),
        init_bucket_offset=init_bucket_offset, cont_bucket_offset=cont_bucket_offset, reserved=b"\0" * 4,
    )
    image = bytearray(struct.pack(HEADER_FORMAT, *(fields[n] for n, _, _ in HEADER_FIELDS)) + body)
    assert len(image) == total and total % ALIGN == 0
    struct.pack_into("<I", image, CRC_OFFSET, zlib.crc32(bytes(image[CRC_START:])) & 0xFFFFFFFF)
    log.info("packed %d tokens (%d initial, %d continuation keys, %d specials): %d bytes",
             n_ids, len(init_keys), len(cont_keys), len(specials), total)
    return bytes(image)


@dataclasses.dataclass
class PackedVocab:
    """A parsed packed vocabulary."""

    header: dict[str, object]
    init: dict[bytes, int]
    cont: dict[bytes, int]
    specials: list[tuple[str, int]]

    def token_to_id(self, token: str) -> int | None:
        if token.startswith(CONTINUATION):
            return self.cont.get(token[len(CONTINUATION):].encode())
        return self.init.get(token.encode())


def _decode_table(data: bytes, index: list[int], count: int, block: int, where: str) -> list[bytes]:
    keys: list[bytes] = []
    pos = 0
    prev = b""
    for i in range(count):
        if i % block == 0:
            if index[i // block] != pos:
                raise VocabError(f"{where}: block {i // block} index does not match its data")
        if pos >= len(data):
            raise VocabError(f"{where}: data truncated")
        b = data[pos]
        if b >= ENTRY_ESCAPE:
            if b != ENTRY_ESCAPE or pos + 3 > len(data):
                raise VocabError(f"{where}: bad entry header")
            p, s = data[pos + 1], data[pos + 2]
            pos += 3
        else:
            p, s = b >> 4, b & 15
            pos += 1
        if (i % block == 0 and p) or p > len(prev) or p + s > MAX_KEY_LEN or pos + s > len(data):
            raise VocabError(f"{where}: bad entry {i}")
        key = prev[:p] + data[pos:pos + s]
        pos += s
        if not key or (i and key <= prev):
            raise VocabError(f"{where}: keys not strictly increasing at {i}")
        keys.append(key)
        prev = key
    if pos != len(data):
        raise VocabError(f"{where}: trailing data")
    return keys


def unpack_vocab(image: bytes) -> PackedVocab:
    """Parse and validate a packed vocabulary as the C side does."""
    image = bytes(image)
    if len(image) < HEADER_SIZE:
        raise VocabError("truncated header")
    h = dict(zip([n for n, _, _ in HEADER_FIELDS], struct.unpack_from(HEADER_FORMAT, image)))
    if h["magic"] != MAGIC:
        raise VocabError("bad magic")
    if h["version"] != VERSION or h["flags"] != FLAG_UNCASED:
        raise VocabError("unsupported version or flags")
    total = int(h["total_size"])
    if h["header_size"] != HEADER_SIZE or total % ALIGN or total > len(image):
        raise VocabError("bad header or truncated")
    if zlib.crc32(image[CRC_START:total]) & 0xFFFFFFFF != h["crc32"]:
        raise VocabError("checksum mismatch")
    block = int(h["block_size"])
    bits = int(h["id_bits"])
    if not block or not 1 <= bits <= MAX_ID_BITS or h["vocab_size"] > 1 << bits:
        raise VocabError("bad block_size, id_bits or vocab_size")
    tables = {}
    for t in ("init", "cont"):
        n = int(h[f"{t}_count"])
        nb = (n + block - 1) // block
        io, do, ds = int(h[f"{t}_index_offset"]), int(h[f"{t}_data_offset"]), int(h[f"{t}_data_size"])
        if io + 4 * nb > total or do + ds > total:
            raise VocabError(f"{t} table out of bounds")
        index = list(struct.unpack_from(f"<{nb}I", image, io))
        tables[t] = _decode_table(image[do:do + ds], index, n, block, t)
        bo = int(h[f"{t}_bucket_offset"])
        if bo % 2 or bo + BUCKET_BYTES > total or nb > MAX_BLOCKS:
            raise VocabError(f"{t} buckets out of bounds")
        if image[bo:bo + BUCKET_BYTES] != _buckets(tables[t], block):
            raise VocabError(f"{t} buckets do not match the keys")
    n_ids = len(tables["init"]) + len(tables["cont"])
    io = int(h["ids_offset"])
    nbytes = (n_ids * bits + 7) // 8 + 3
    if io % ALIGN or io + nbytes > total:
        raise VocabError("ids out of bounds")
    allbits = int.from_bytes(image[io:io + nbytes], "little")
    ids = [(allbits >> (j * bits)) & ((1 << bits) - 1) for j in range(n_ids)]
    if any(i >= h["vocab_size"] for i in ids):
        raise VocabError("id out of range")
    for f in ("unk_id", "cls_id", "sep_id"):
        if h[f] >= h["vocab_size"]:
            raise VocabError(f"{f} out of range")
    specials = []
    so = int(h["special_offset"])
    if so + SPECIAL_SIZE * int(h["n_special"]) > total:
        raise VocabError("special tokens out of bounds")
    for k in range(int(h["n_special"])):
        i, n, raw = struct.unpack_from("<IB3x24s", image, so + k * SPECIAL_SIZE)
        if not 1 <= n <= SPECIAL_TEXT_MAX or i >= h["vocab_size"]:
            raise VocabError("bad special token")
        specials.append((raw[:n].decode("utf-8"), i))
    n_init = len(tables["init"])
    return PackedVocab(header=h, init=dict(zip(tables["init"], ids[:n_init])),
                       cont=dict(zip(tables["cont"], ids[n_init:])), specials=specials)


def size_report(image: bytes) -> dict[str, int]:
    """Bytes of each part of a packed vocabulary."""
    h = dict(zip([n for n, _, _ in HEADER_FIELDS], struct.unpack_from(HEADER_FORMAT, image)))
    return {
        "header": HEADER_SIZE,
        "specials": SPECIAL_SIZE * int(h["n_special"]),
        "buckets": 2 * BUCKET_BYTES,
        "index": int(h["init_data_offset"]) - int(h["init_index_offset"]),
        "keys": int(h["init_data_size"]) + int(h["cont_data_size"]),
        "ids": int(h["total_size"]) - int(h["ids_offset"]),
        "total": int(h["total_size"]),
    }


def field_offsets() -> dict[str, int]:
    """Byte offset of each header field."""
    out: dict[str, int] = {}
    fmt = "<"
    for name, code, _ in HEADER_FIELDS:
        out[name] = struct.calcsize(fmt)
        fmt += code
    return out


def render_c_header() -> str:
    """The C view of the packed vocabulary and the Unicode-table encoding: subsys/mcubert/vocab_format.h."""
    from mcubert.formats.cgen import banner

    off = field_offsets()
    out = [*banner("scripts/mcubert/formats/vocab.py and tokenizer_tables.py"),
           "#ifndef MCUBERT_VOCAB_FORMAT_H_", "#define MCUBERT_VOCAB_FORMAT_H_", "",
           "/* Packed-vocabulary header: byte offset of each field. */"]
    out += [f"#define VH_{name.upper()} {off[name]} /* {comment} */" for name, _, comment in HEADER_FIELDS]
    out += ["", "/* The two key tables (init, cont): count, index offset, data offset, data size each. */",
            f"#define VH_TABLES {off['init_count']} /* = VH_INIT_COUNT */",
            f"#define VH_TABLE_STRIDE {off['cont_count'] - off['init_count']}",
            f"#define VT_INDEX_OFFSET {off['init_index_offset'] - off['init_count']}",
            f"#define VT_DATA_OFFSET {off['init_data_offset'] - off['init_count']}",
            f"#define VT_DATA_SIZE {off['init_data_size'] - off['init_count']}",
            f"#define VH_BUCKETS {off['init_bucket_offset']} /* = VH_INIT_BUCKET_OFFSET: init, cont */",
            f"#define VH_BUCKET_STRIDE {off['cont_bucket_offset'] - off['init_bucket_offset']}",
            "", "/* Packed-vocabulary body. */",
            f"#define BUCKETS {BUCKETS}U", f"#define MAX_KEY {MAX_KEY_LEN}U",
            f"#define ENTRY_ESCAPE 0x{ENTRY_ESCAPE:02x}U /* entry header byte: prefix, suffix length follow */",
            "", "/* Unicode tables (tokenizer_tables.c): output classes of an item. */"]
    out += [f"#define CLS_{name} {value}U" for value, name in sorted(tt.CLASS_NAMES.items())]
    out += [f"#define CLS_MASK {(1 << max(tt.CLASS_NAMES).bit_length()) - 1}U", "", "/* Range kinds of a key. */"]
    out += [f"#define K_{name} {value}U" for value, name in sorted(tt.KIND_NAMES.items())]
    out += [f"#define K_MASK {(1 << max(tt.KIND_NAMES).bit_length()) - 1}U", "",
            "/* Bit fields of keys, items and sequence parameters. */",
            f"#define KEY_START_SHIFT {tt.KEY_START_SHIFT}", f"#define KEY_KIND_SHIFT {tt.KEY_KIND_SHIFT}",
            f"#define ITEM_CP_MASK 0x{tt.ITEM_CP_MASK:x}U", f"#define ITEM_CLASS_SHIFT {tt.ITEM_CLASS_SHIFT}",
            f"#define ITEM_CCC_SHIFT {tt.ITEM_CCC_SHIFT}", f"#define SEQ_LEN_SHIFT {tt.SEQ_LEN_SHIFT}",
            f"#define SEQ_OFF_MASK 0x{(1 << tt.SEQ_LEN_SHIFT) - 1:x}U", "",
            f"#define HANGUL_FIRST 0x{tt.HANGUL_FIRST:x}U", f"#define HANGUL_LAST 0x{tt.HANGUL_LAST:x}U", "",
            "#endif /* MCUBERT_VOCAB_FORMAT_H_ */", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Pack a BERT vocab.txt for the on-device tokenizer.")
    ap.add_argument("vocab", type=Path, nargs="?", help="vocab.txt")
    ap.add_argument("-o", "--output", type=Path, help="write the packed vocabulary here")
    ap.add_argument("--block-size", type=int, default=BLOCK_SIZE)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.vocab is None:
        ap.error("give a vocab.txt to pack")
    image = pack_vocab(args.vocab, block_size=args.block_size)
    unpack_vocab(image)
    for part, n in size_report(image).items():
        log.info("%-9s %8d bytes", part, n)
    if args.output:
        args.output.write_bytes(image)
    return 0


if __name__ == "__main__":
    sys.exit(main())

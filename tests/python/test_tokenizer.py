# SPDX-License-Identifier: Apache-2.0
"""The C tokenizer against Hugging Face tokenizers: GLUE corpora, every code point, fuzz, edge cases.

Everything is compared id for id (and type id for type id) with
`BertWordPieceTokenizer(vocab, lowercase=True)` with `enable_truncation(max_len)`.
"""

from __future__ import annotations

import csv
import ctypes
import errno
import random
import re
import struct
import unicodedata
import zlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tokenizers")

from mcubert.formats import (
    tokenizer_tables,
    vocab,  # noqa: E402
)
from mcubert.targets.ctokenizer import CTokenizer, to_str, words  # noqa: E402
from mcubert.tokenization import HFTokenizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TABLES_C = ROOT / "subsys" / "mcubert" / "tokenizer_tables.c"
VOCAB_REL = Path("vocab") / "bert-base-uncased-vocab.txt"


@pytest.fixture(scope="module")
def vocab_path(data_dir: Path) -> Path:
    p = data_dir / VOCAB_REL
    if not p.exists():
        pytest.skip(f"{p} not found")
    return p


@pytest.fixture(scope="module")
def packed(vocab_path: Path) -> bytes:
    return vocab.pack_vocab(vocab_path)


@pytest.fixture(scope="module")
def ctok(packed: bytes) -> CTokenizer:
    return CTokenizer(packed=packed)


@pytest.fixture(scope="module")
def hftok(vocab_path: Path) -> HFTokenizer:
    return HFTokenizer(vocab_path)


def _tsv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        pytest.skip(f"{path} not found")
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def _compare(ctok: CTokenizer, hftok: HFTokenizer, items: list, max_len: int) -> int:
    """Encode a batch with both; assert equality; return the count compared."""
    want = hftok.encode_batch(items, max_len=max_len)
    for item, w in zip(items, want):
        got = ctok.encode(*item, max_len=max_len) if isinstance(item, tuple) else \
            ctok.encode(item, max_len=max_len)
        assert got == w, f"mismatch for {item!r} (max_len {max_len}):\n  C  {got}\n  HF {w}"
    return len(items)


# --- Tables ------------------------------------------------------------------

def test_every_code_point_matches_hf(hftok: HFTokenizer) -> None:
    """Normalization and pre-tokenization of all 1,112,064 scalar values, one at a time."""
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    step = 0x2000
    for i in range(0, len(cps), step):
        chunk = cps[i:i + step]
        text = "|".join(chr(c) for c in chunk)
        got = words(text)
        if got != hftok.words(text):
            bad = [c for c in chunk if words(chr(c)) != hftok.words(chr(c))]
            pytest.fail("C and HF differ on " + ", ".join(f"U+{c:04X}" for c in bad[:20]))


def test_reordering_matches_hf(hftok: HFTokenizer) -> None:
    """Canonical reordering of NFD, on mark-heavy strings: the generator's model and C."""
    hf = tokenizer_tables.HFChar()
    rng = random.Random(7)
    marks = [c for c in range(0x300, 0x20000) if unicodedata.combining(chr(c))]
    others = [c for c in range(0x20, 0x30000) if not 0xD800 <= c <= 0xDFFF]
    norm = hftok.tok.normalizer
    for _ in range(3000):
        s = "".join(chr(rng.choice(marks) if rng.random() < 0.6 else rng.choice(others))
                    for _ in range(rng.randint(1, 10)))
        if rng.random() < 0.3:  # non-starters that survive accent stripping, around a starter
            s = "".join(chr(rng.choice(_SURVIVORS)) for _ in range(rng.randint(1, 6))) + s
        assert tokenizer_tables.hf_normalize_str(s, hf) == norm.normalize_str(s), [hex(ord(c)) for c in s]
        assert words(s) == hftok.words(s), [hex(ord(c)) for c in s]


def _c_defines(path: Path) -> dict[str, int]:
    return {m.group(1): int(m.group(2), 0)
            for m in re.finditer(r"^#define (\w+)\s+(0x[0-9a-fA-F]+|\d+)U?\b", path.read_text(), re.M)}


def test_c_constants_match_python() -> None:
    """tokenizer.c / tokenizer.h use the layouts that vocab.py and tokenizer_tables.py write."""
    c = _c_defines(ROOT / "subsys" / "mcubert" / "vocab_format.h")  # generated; tokenizer.c includes it
    h = _c_defines(ROOT / "include" / "mcubert" / "tokenizer.h")
    offsets, off = {}, 0
    for name, code, _ in vocab.HEADER_FIELDS:
        offsets[name] = off
        off += struct.calcsize("<" + code)
    fields = {"VERSION": "version", "HEADER_SIZE": "header_size", "TOTAL_SIZE": "total_size", "CRC32": "crc32",
              "VOCAB_SIZE": "vocab_size", "FLAGS": "flags", "UNK_ID": "unk_id", "CLS_ID": "cls_id",
              "SEP_ID": "sep_id", "MAX_WORD_CHARS": "max_word_chars", "BLOCK_SIZE": "block_size",
              "ID_BITS": "id_bits", "MAX_KEY_LEN": "max_key_len", "N_SPECIAL": "n_special",
              "SPECIAL_OFFSET": "special_offset", "IDS_OFFSET": "ids_offset", "TABLES": "init_count",
              "BUCKETS": "init_bucket_offset"}
    for k, f in fields.items():
        assert c["VH_" + k] == offsets[f], k
    assert offsets["cont_count"] - offsets["init_count"] == 16
    assert offsets["cont_bucket_offset"] - offsets["init_bucket_offset"] == 4
    assert c["BUCKETS"] == vocab.BUCKETS
    assert h["MCUBERT_VOCAB_VERSION"] == vocab.VERSION
    assert h["MCUBERT_VOCAB_HEADER_SIZE"] == vocab.HEADER_SIZE
    assert h["MCUBERT_VOCAB_CRC_START"] == vocab.CRC_START
    assert h["MCUBERT_VOCAB_FLAG_UNCASED"] == vocab.FLAG_UNCASED
    assert h["MCUBERT_VOCAB_SPECIAL_SIZE"] == vocab.SPECIAL_SIZE
    assert h["MCUBERT_VOCAB_SPECIAL_TEXT_MAX"] == vocab.SPECIAL_TEXT_MAX
    assert h["MCUBERT_VOCAB_MAX_ID_BITS"] == vocab.MAX_ID_BITS
    assert h["MCUBERT_TOK_MAX_WORD_CHARS"] == vocab.MAX_WORD_CHARS
    T = tokenizer_tables
    for name in ("CLS_WORD", "CLS_ISOLATED", "CLS_SPACE", "CLS_BOUNDARY", "K_IDENT", "K_DELTA", "K_ALT",
                 "K_CONST", "K_SEQ", "K_DROP", "K_HANGUL", "K_TABLE", "KEY_START_SHIFT", "KEY_KIND_SHIFT",
                 "ITEM_CP_MASK", "ITEM_CLASS_SHIFT", "ITEM_CCC_SHIFT", "SEQ_LEN_SHIFT", "HANGUL_FIRST",
                 "HANGUL_LAST"):
        assert c[name] == getattr(T, name), name


# --- Corpora -----------------------------------------------------------------

def test_sst2(ctok: CTokenizer, hftok: HFTokenizer, data_dir: Path) -> None:
    n = 0
    for split in ("train", "dev"):
        sentences = [r["sentence"] for r in _tsv(data_dir / "glue" / "SST-2" / f"{split}.tsv")]
        n += _compare(ctok, hftok, sentences, max_len=512)
    assert n == 67349 + 872
    print(f"SST-2: {n} sentences identical")


def test_sst2_dev_truncated(ctok: CTokenizer, hftok: HFTokenizer, data_dir: Path) -> None:
    sentences = [r["sentence"] for r in _tsv(data_dir / "glue" / "SST-2" / "dev.tsv")]
    for max_len in (2, 3, 8, 16):
        _compare(ctok, hftok, sentences, max_len=max_len)


def test_qnli(ctok: CTokenizer, hftok: HFTokenizer, data_dir: Path) -> None:
    rows = _tsv(data_dir / "glue" / "QNLI" / "dev.tsv")
    assert len(rows) == 5463
    questions = [r["question"] for r in rows]
    sentences = [r["sentence"] for r in rows]
    pairs = list(zip(questions, sentences))
    n = _compare(ctok, hftok, questions + sentences, max_len=512)
    for max_len in (512, 128, 64, 24):  # 64 and below truncate many pairs
        n += _compare(ctok, hftok, pairs, max_len=max_len)
    print(f"QNLI: {n} encodings identical ({len(rows)} questions, sentences and pairs)")


def test_qnli_pieces(ctok: CTokenizer, hftok: HFTokenizer, data_dir: Path) -> None:
    rows = _tsv(data_dir / "glue" / "QNLI" / "dev.tsv")[:1000]
    for r in rows:
        assert ctok.tokenize(r["sentence"]) == hftok.tokenize(r["sentence"])


# --- Fuzz --------------------------------------------------------------------

# Non-starters (nonzero combining class) that accent stripping keeps, and
# characters that decompose into them.
_SURVIVORS = [0x1D165, 0x1D166, 0x1D16D, 0x1D16E, 0x1D172, 0x302E, 0x302F, 0x1B44, 0x0F39, 0x1D15E, 0x1D15F,
              0x1D1BB, 0x16FF0, 0x0898, 0x1ABF, 0x1DFB, 0x08D4, 0x1715, 0xA953, 0x111C0]
_SPECIALS = ["[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]", "[cls]", "[CLS", "[SEP ]", "[[SEP]]", "[MASK]ed"]
_WS = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2000", "\u2007", "\u200a", "\u2028",
       "\u2029", "\u202f", "\u205f", "\u3000", "\x1c", "\x1f", "\u180e", "\u200b"]


def _pools() -> list[list[int]]:
    hf_lists = [c for lst in (tokenizer_tables.HF_CONTROL_NOT, tokenizer_tables.HF_MN_NOT,
                              tokenizer_tables.HF_MN_EXTRA, tokenizer_tables.HF_NFD_NOT,
                              tokenizer_tables.HF_CCC_ZERO, tokenizer_tables.HF_PUNCT_NOT,
                              tokenizer_tables.HF_PUNCT_EXTRA) for a, b in lst for c in range(a, b + 1)]
    hf_lists += [c for a, b, _ in tokenizer_tables.HF_LOWER_EXTRA for c in range(a, b + 1)]
    return [
        list(range(0x20, 0x7F)),
        list(range(0xA0, 0x250)) + list(range(0x1E00, 0x1F00)),
        list(range(0x300, 0x370)) + list(range(0x1AB0, 0x1B00)) + list(range(0x20D0, 0x2100)) + _SURVIVORS,
        list(range(0x370, 0x530)) + list(range(0x10A0, 0x1100)) + list(range(0x2C00, 0x2D00)),
        list(range(0x4E00, 0x4F00)) + list(range(0xF900, 0xFB00)) + list(range(0x2F800, 0x2F900)) +
        list(range(0x3400, 0x3440)) + list(range(0x20000, 0x20040)) + list(range(0x3000, 0x3100)),
        list(range(0xAC00, 0xAD00)) + list(range(0x1100, 0x1200)) + list(range(0xD7A0, 0xD7B0)),
        list(range(0x1F300, 0x1FB00)) + [0x200D, 0xFE0F, 0xFE0E, 0x20E3] + list(range(0x1F1E6, 0x1F200)),
        list(range(0x00, 0x20)) + list(range(0x7F, 0xA0)) +
        [0xAD, 0x200B, 0x200E, 0x2066, 0xFEFF, 0xFFFD, 0xE000, 0xF8FF, 0xE0001, 0xE0041, 0x110BD, 0x1D173],
        list(range(0x2000, 0x2070)) + list(range(0x2E00, 0x2E60)) + list(range(0xFF00, 0xFF70)),
        list(range(0x600, 0x700)) + list(range(0x900, 0xA00)) + list(range(0x0E00, 0x0E80)),
        hf_lists,
    ]


def _fuzz_text(rng: random.Random, pools: list[list[int]]) -> str | bytes:
    parts: list[str] = []
    for _ in range(rng.randint(0, 12)):
        r = rng.random()
        if r < 0.45:
            pool = rng.choice(pools)
            parts.append("".join(chr(rng.choice(pool)) for _ in range(rng.randint(1, 8))))
        elif r < 0.55:
            c = rng.randrange(0x110000)
            parts.append(chr(c) if not 0xD800 <= c <= 0xDFFF else "x")
        elif r < 0.65:
            parts.append(rng.choice(_SPECIALS))
        elif r < 0.75:
            parts.append(rng.choice(_WS) * rng.choice([1, 2, 5, 300, 3000]))
        elif r < 0.82:  # words around the 100-character limit
            unit = rng.choice(["a", "é", "e\u0301", "\u00e0\u0328", "x\u200b", "中", "한", "😀", "ab",
                               "\U0001D15F"])
            parts.append(unit * rng.choice([33, 50, 99, 100, 101, 102, 150, 400]))
        elif r < 0.9:
            parts.append(rng.choice(["the", "tokenization", "unbelievably", "##ing", "#", "don't", "U.S.", "$5",
                                     "C++", "e-mail", "naïve", "İstanbul", "ǅungla", "ΣΑΣ", "ßtraße", "ﬁne"]))
        else:
            parts.append(" ")
    text = "".join(parts)
    if rng.random() < 0.3:  # damage the UTF-8
        raw = bytearray(text.encode("utf-8"))
        for _ in range(rng.randint(1, 6)):
            op = rng.random()
            pos = rng.randint(0, len(raw))
            if op < 0.4:
                bad = [0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF, rng.randrange(256)]
                raw[pos:pos] = bytes([rng.choice(bad)])
            elif op < 0.7 and raw:
                del raw[min(pos, len(raw) - 1)]
            elif raw:
                raw[min(pos, len(raw) - 1)] = rng.randrange(256)
        return bytes(raw)
    return text


def test_fuzz(ctok: CTokenizer, hftok: HFTokenizer) -> None:
    rng = random.Random(20260501)
    pools = _pools()
    texts = [_fuzz_text(rng, pools) for _ in range(4000)]
    texts += [bytes(rng.randrange(256) for _ in range(rng.randint(1, 64))) for _ in range(500)]
    n = 0
    for t in texts:
        assert ctok.tokenize(t) == hftok.tokenize(t), repr(t)
        assert words(t) == hftok.words(t), repr(t)
    n += _compare(ctok, hftok, texts, max_len=512)
    n += _compare(ctok, hftok, texts, max_len=rng.randint(2, 40))
    pairs = [(texts[i], texts[-1 - i]) for i in range(len(texts) // 2)]
    for max_len in (512, 31, 16, 7, 3):
        n += _compare(ctok, hftok, pairs, max_len=max_len)
    print(f"fuzz: {len(texts)} texts, {n} encodings identical")


# --- Edge cases --------------------------------------------------------------

EDGE = [
    "", " ", "\x00", "\ufffd", "a\x00b", "a\ufffdb", "[CLS]", "[cls]", "a[SEP]b", "[SEP][SEP]", "[MASK]ed", "[UNK]",
    "[PAD]", "[ CLS]", "[CLS", "x[CLS]y z", "İstanbul", "ǅ", "ß", "ẞ", "Σ", "ΣΑΣ ΣΑΣ", "ﬁ", "\u212b", "\u2126",
    "\u212a", "e\u0301", "\u0301", "a\U0001D16D\U0001D165", "a\U0001D16D\u0900\U0001D165",
    "a\U0001D16D\u200b\U0001D165", "\U0001D15F\U0001D16D", "\U0001D16D\U0001D165!", "!\U0001D165\U0001D16D",
    "한국어", "ᄀ", "中文", "\uf900", "\U0002F800", "中\u0301文", "😀👍🏽👨‍👩‍👧", "🇫🇷", "a" * 100, "a" * 101,
    "é" * 100, "é" * 101, "e\u0301" * 100, "中" * 200, "#####", "##", "##ing", "un##able", "\u3000x\u3000",
    "\xa0x\u2028y", "\x1c\x1d\x1e\x1f", "a\x0bb\x0cc", "a\x85b", "don't", "U.S.A.", "$100.00", "e-mail", "C++",
    "naïve café", "3.14159", "I'm (very) \"happy\"!", "a\tb\nc\rd", "  leading and trailing  ", "\u0898x",
    "x\u1734y", "\U00011938", "\u1c89", "\ua7cb", "\U00010d50", "\u166d", "\U000111c9", "\u2e43",
    b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"a\xe2\x82b", b"\xe2\x82\xe2\x82\xac",
    b"[CL\xffS]", b"\xe2[CLS]", b"\xf0\x9f\x98x", b"ab\xffcd", b"\x80\x80\x80", b"\xf5\xf6\xf7", b"\xc2",
    "the " * 600,
]


def test_edge_cases(ctok: CTokenizer, hftok: HFTokenizer) -> None:
    for t in EDGE:
        assert ctok.tokenize(t) == hftok.tokenize(t), repr(t)
        assert words(t) == hftok.words(t), repr(t)
    for max_len in (512, 128, 10, 3, 2):
        _compare(ctok, hftok, EDGE, max_len=max_len)
    _compare(ctok, hftok, [(a, b) for a in EDGE[::3] for b in EDGE[1::5]], max_len=16)


def test_special_tokens(ctok: CTokenizer) -> None:
    ids, types = ctok.encode("hello[SEP]world")
    assert ids == [101, 7592, 102, 2088, 102] and types == [0] * 5
    assert ctok.encode("[cls]")[0] == [101, 1031, 18856, 2015, 1033, 102]
    assert ctok.encode("", "")[0] == [101, 102, 102] and ctok.encode("", "")[1] == [0, 0, 1]


def test_truncation_rule(ctok: CTokenizer, hftok: HFTokenizer) -> None:
    """longest_first on every small (n1, n2, max_len), and single texts."""
    items = [(" ".join("a" * n1), " ".join("b" * n2)) for n1 in range(0, 11) for n2 in range(0, 11)]
    for max_len in range(3, 26):
        _compare(ctok, hftok, items, max_len=max_len)
    singles = [" ".join("c" * n) for n in range(0, 30)]
    for max_len in range(2, 34):
        _compare(ctok, hftok, singles, max_len=max_len)


def test_words_snprintf() -> None:
    from mcubert.targets.ctokenizer import _lib

    lib = _lib()
    text = "Héllo, World!".encode()
    buf = ctypes.create_string_buffer(64)
    assert lib.mcubert_tok_words(text, len(text), buf, 6) == len("hello , world !")
    assert buf.value == b"hello"
    assert lib.mcubert_tok_words(text, len(text), None, 0) == 15


# --- Errors ------------------------------------------------------------------

def _init(image: bytes, offset: int = 0) -> int:
    from mcubert.targets.ctokenizer import _lib

    lib = _lib()
    buf = np.zeros((len(image) + offset) // 8 + 2, dtype=np.uint64)
    mem = buf.view(np.uint8)
    mem[offset:offset + len(image)] = np.frombuffer(image, dtype=np.uint8)
    handle = np.zeros(64, dtype=np.uint64)
    return lib.mcubert_tok_init(handle.ctypes.data, mem.ctypes.data + offset, len(image))


def _recrc(image: bytearray) -> bytes:
    struct.pack_into("<I", image, vocab.CRC_OFFSET, zlib.crc32(bytes(image[vocab.CRC_START:])) & 0xFFFFFFFF)
    return bytes(image)


def test_init_errors(packed: bytes) -> None:
    assert _init(packed) == 0
    assert _init(packed, offset=2) == -errno.EFAULT
    assert _init(packed[:50]) == -errno.ENODATA
    assert _init(packed[:-4]) == -errno.ENODATA
    assert _init(b"XXXX" + packed[4:]) == -errno.ENOEXEC
    bad = bytearray(packed)
    bad[5000] ^= 1
    assert _init(bytes(bad)) == -errno.EBADMSG
    bad = bytearray(packed)
    struct.pack_into("<H", bad, 4, 2)  # version
    assert _init(_recrc(bad)) == -errno.ENOTSUP
    bad = bytearray(packed)
    struct.pack_into("<I", bad, 24, 10**6)  # unk id out of range
    assert _init(_recrc(bad)) == -errno.EINVAL
    h = dict(zip([n for n, _, _ in vocab.HEADER_FIELDS], struct.unpack_from(vocab.HEADER_FORMAT, packed)))
    bad = bytearray(packed)
    bad[h["init_data_offset"] + 40] ^= 0x20  # scrambles key order
    assert _init(_recrc(bad)) == -errno.EINVAL


def test_mutated_images_never_crash(packed: bytes, ctok: CTokenizer) -> None:
    """Random damage with a valid CRC: init rejects it or the tokenizer still runs."""
    rng = random.Random(3)
    from mcubert.targets.ctokenizer import _lib

    lib = _lib()
    accepted = 0
    for _ in range(150):
        bad = bytearray(packed)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(bad)) if rng.random() < 0.5 else rng.randrange(vocab.HEADER_SIZE + 600)
            bad[pos] = rng.randrange(256)
        image = np.frombuffer(_recrc(bad), dtype=np.uint8).copy()
        handle = np.zeros(64, dtype=np.uint64)
        rc = lib.mcubert_tok_init(handle.ctypes.data, image.ctypes.data, len(image))
        assert rc in (0, -errno.EINVAL, -errno.ENOTSUP, -errno.ENODATA, -errno.ENOEXEC)
        if rc == 0:
            accepted += 1
            out = np.zeros(64, dtype=np.int32)
            text = "the quick brown fox, unbelievably [SEP] tokenized".encode()
            n = lib.mcubert_tok_encode(handle.ctypes.data, text, len(text), None, 0, out.ctypes.data, None, 64)
            assert 2 <= n <= 64
    print(f"{accepted} of 150 damaged images accepted and ran")


def test_encode_errors(ctok: CTokenizer) -> None:
    from mcubert.targets.ctokenizer import _lib

    lib = _lib()
    h = ctok._handle.ctypes.data
    out = np.zeros(8, dtype=np.int32)
    assert lib.mcubert_tok_encode(h, b"a", 1, None, 0, out.ctypes.data, None, 1) == -errno.ENOSPC
    assert lib.mcubert_tok_encode(h, b"a", 1, b"b", 1, out.ctypes.data, None, 2) == -errno.ENOSPC
    assert lib.mcubert_tok_encode(h, None, 1, None, 0, out.ctypes.data, None, 8) == -errno.EFAULT
    assert lib.mcubert_tok_encode(h, None, 0, None, 0, out.ctypes.data, None, 8) == 2
    assert lib.mcubert_tok_encode(None, b"a", 1, None, 0, out.ctypes.data, None, 8) == -errno.EFAULT
    assert lib.mcubert_tok_encode(h, b"a", 1, None, 0, None, None, 8) == -errno.EFAULT
    blank = np.zeros(64, dtype=np.uint64)
    assert lib.mcubert_tok_encode(blank.ctypes.data, b"a", 1, None, 0, out.ctypes.data, None, 8) == -errno.EINVAL
    assert ctok.vocab_size == 30522


# --- Vocabulary packing ------------------------------------------------------

def test_pack_roundtrip(packed: bytes, vocab_path: Path) -> None:
    pv = vocab.unpack_vocab(packed)
    v, n = vocab.read_vocab(vocab_path)
    assert n == 30522 == pv.header["vocab_size"]
    for tok, i in v.items():
        if tok and tok != "##":
            assert pv.token_to_id(tok) == i
    sizes = vocab.size_report(packed)
    assert sizes["total"] == len(packed) and len(packed) % 4 == 0
    print("packed vocab:", sizes)


def test_read_vocab_like_hf(tmp_path: Path) -> None:
    from tokenizers.models import WordPiece

    p = tmp_path / "vocab.txt"
    p.write_bytes("[PAD]\r\n[UNK]\n[CLS]\n[SEP]\nhello \nhello\n\n##\n##lo\nhel\n\u3000x\u3000\n".encode())
    mine, n = vocab.read_vocab(p)
    assert mine == WordPiece.read_file(str(p)) and n == 11


def test_block_sizes_and_small_vocab(tmp_path: Path, data_dir: Path, vocab_path: Path) -> None:
    sentences = [r["sentence"] for r in _tsv(data_dir / "glue" / "SST-2" / "dev.tsv")][:200] + EDGE
    ref = CTokenizer(vocab_path)
    want = [ref.encode(s) for s in sentences]
    for bs in (1, 5, 255):
        c = CTokenizer(packed=vocab.pack_vocab(vocab_path, block_size=bs))
        assert [c.encode(s) for s in sentences] == want
    # A tiny vocabulary: unknown pieces, duplicates, a token that is a prefix of others.
    p = tmp_path / "vocab.txt"
    toks = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "ab", "abc", "##b", "##c", "##bc", "b", "##", "x", "ab", "!",
            "##é", "e", "中"]
    p.write_text("\n".join(toks) + "\n", encoding="utf-8")
    c, h = CTokenizer(p), HFTokenizer(p)
    tests = ["abc ab a b c abcbc abx", "a! ab!c", "aé eé e\u0301", "中中 x中", "[MASK] [CLS]x", "bc", "", "abcabc"]
    for t in tests:
        assert c.encode(t) == h.encode(t), t
        assert c.encode(t, t[::-1], max_len=9) == h.encode(t, t[::-1], max_len=9), t


def test_pack_errors(tmp_path: Path) -> None:
    p = tmp_path / "vocab.txt"
    p.write_text("[PAD]\n[CLS]\n[SEP]\n")
    with pytest.raises(vocab.VocabError, match="unk"):
        vocab.pack_vocab(p)
    p.write_bytes(b"[UNK]\n[CLS]\n[SEP]\n\xff\n")
    with pytest.raises(vocab.VocabError, match="UTF-8"):
        vocab.pack_vocab(p)


def test_to_str_replacement() -> None:
    assert to_str(b"a\xe2\x82b\xff") == "a\ufffdb\ufffd"

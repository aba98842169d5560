# SPDX-License-Identifier: Apache-2.0
"""Unicode tables of the on-device BERT tokenizer (subsys/mcubert/tokenizer.c).

The C tokenizer reproduces Hugging Face `tokenizers`' BERT pipeline
(BertNormalizer with clean_text, handle_chinese_chars, strip_accents and
lowercase; BertPreTokenizer) one code point at a time. Everything that step
does to a single code point is folded here into one rule per code point:

    clean      drop NUL, U+FFFD and "control" characters (Cc, Cf, Co but
               not TAB, LF, CR); map whitespace to U+0020
    CJK        an ideograph of the CJK blocks becomes a word of its own
    NFD        canonical decomposition
    strip      drop nonspacing marks (Mn) of the decomposition
    lowercase  full (possibly multi-character) lowercase mapping
    classes    what BertPreTokenizer makes of each resulting character:
               whitespace (word break), punctuation (a word of its own), or
               a word character

The rules are computed from Python's `unicodedata` and compressed into a
sorted range table (binary search), a pool of output sequences for the
irregular code points and a 128-entry ASCII table; `render_c()` writes them
as subsys/mcubert/tokenizer_tables.c and a test checks the checked-in file
equals it. Canonical reordering of the NFD (which moves combining
characters across code-point boundaries) is done by the C side from the
canonical combining class each output carries.

`tokenizers` does not use one Unicode version: its control, nonspacing-mark
and punctuation classes come from the `unicode_categories` crate (Unicode 8
data), its NFD and combining classes from `unicode-normalization-alignments`
(Unicode 9 data) and its lowercase mapping from the Rust standard library
(Unicode 17 in tokenizers 0.23.3). Python 3.11's unicodedata is Unicode 14.
The HF_* lists below are the differences, found by probing every code point
through the installed `tokenizers` (`--derive-compat` prints them again);
with them the tables reproduce tokenizers 0.23.3 on all 1,112,064 Unicode
scalar values (tests/python/test_tokenizer.py checks this against the
installed version).

    python -m mcubert.formats.tokenizer_tables --output subsys/mcubert/tokenizer_tables.c
    python -m mcubert.formats.tokenizer_tables --check subsys/mcubert/tokenizer_tables.c
    python -m mcubert.formats.tokenizer_tables --derive-compat
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import unicodedata
from pathlib import Path
from typing import Iterable

from mcubert.formats.tokenizer_compat import (
    CJK,
    HF_CCC_ZERO,
    HF_CONTROL_NOT,
    HF_LOWER_EXTRA,
    HF_MN_EXTRA,
    HF_MN_NOT,
    HF_NFD_NOT,
    HF_PUNCT_EXTRA,
    HF_PUNCT_NOT,
    HF_TOKENIZERS_VERSION,
    WHITE_SPACE,
    Ranges,
    derive_compat,
)

log = logging.getLogger(__name__)

#: unicodedata version the checked-in tables were generated with.
UNIDATA_VERSION = "14.0.0"
MAX_CP = 0x10FFFF

# Output classes (what BertPreTokenizer does with an output character).
CLS_WORD = 0       # part of a word
CLS_ISOLATED = 1   # punctuation or CJK ideograph: a word of its own
CLS_SPACE = 2      # whitespace: ends a word
CLS_BOUNDARY = 3   # no output; a dropped mark of combining class 0 (ends a reordering run)
CLASS_NAMES = {CLS_WORD: "WORD", CLS_ISOLATED: "ISOLATED", CLS_SPACE: "SPACE", CLS_BOUNDARY: "BOUNDARY"}

# Range kinds: how a code point in the range maps to its output.
K_IDENT = 0    # itself (param: its combining class)
K_DELTA = 1    # cp + param (signed)
K_ALT = 2      # cp + param where (cp - start) is even, itself where odd
K_CONST = 3    # the code point param
K_SEQ = 4      # pool[param & 0xffff .. + (param >> 16)]
K_DROP = 5     # nothing (class CLS_BOUNDARY: a reordering boundary)
K_HANGUL = 6   # algorithmic Hangul syllable decomposition
K_TABLE = 7    # pool[param + (cp - start)], one output each
KIND_NAMES = {K_IDENT: "IDENT", K_DELTA: "DELTA", K_ALT: "ALT", K_CONST: "CONST", K_SEQ: "SEQ",
              K_DROP: "DROP", K_HANGUL: "HANGUL", K_TABLE: "TABLE"}

HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
# A pool item: bits 0-20 code point, 22-23 class, 24-31 combining class.
ITEM_CP_MASK = 0x1FFFFF
ITEM_CLASS_SHIFT = 22
ITEM_CCC_SHIFT = 24
# A range key: bits 8-28 first code point, 4-6 kind, 0-1 class.
KEY_START_SHIFT = 8
KEY_KIND_SHIFT = 4
SEQ_LEN_SHIFT = 16
# Longest output of one code point (checked); sizes the C side's buffer.
MAX_SEQ = 8


def _in(cp: int, ranges: Ranges) -> bool:
    return any(a <= cp <= b for a, b in ranges)


def ranges_of(cps: Iterable[int]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for cp in sorted(cps):
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return [(a, b) for a, b in out]


def _set_of(ranges: Ranges) -> frozenset[int]:
    return frozenset(cp for a, b in ranges for cp in range(a, b + 1))


class HFChar:
    """tokenizers' per-character predicates: unicodedata plus the HF_* lists."""

    def __init__(self) -> None:
        self.ws = _set_of(WHITE_SPACE)
        self.cjk = _set_of(CJK)
        self.control_not = _set_of(HF_CONTROL_NOT)
        self.mn_not = _set_of(HF_MN_NOT)
        self.mn_extra = _set_of(HF_MN_EXTRA)
        self.nfd_not = _set_of(HF_NFD_NOT)
        self.ccc_zero = _set_of(HF_CCC_ZERO)
        self.punct_not = _set_of(HF_PUNCT_NOT)
        self.punct_extra = _set_of(HF_PUNCT_EXTRA)
        self.lower_extra = {a + i: t + i for a, b, t in HF_LOWER_EXTRA for i in range(b - a + 1)}

    def is_control(self, cp: int) -> bool:
        if cp in (0x09, 0x0A, 0x0D) or cp in self.control_not:
            return False
        return unicodedata.category(chr(cp)) in ("Cc", "Cf", "Co")

    def is_whitespace(self, cp: int) -> bool:
        return cp in self.ws

    def is_mn(self, cp: int) -> bool:
        if cp in self.mn_extra:
            return True
        return unicodedata.category(chr(cp)) == "Mn" and cp not in self.mn_not

    def ccc(self, cp: int) -> int:
        return 0 if cp in self.ccc_zero else unicodedata.combining(chr(cp))

    def nfd(self, cp: int) -> list[int]:
        if cp in self.nfd_not:
            return [cp]
        return [ord(c) for c in unicodedata.normalize("NFD", chr(cp))]

    def lower(self, cp: int) -> list[int]:
        if cp in self.lower_extra:
            return [self.lower_extra[cp]]
        return [ord(c) for c in chr(cp).lower()]

    def is_punct(self, cp: int) -> bool:
        if 0x21 <= cp <= 0x7E and not chr(cp).isalnum():
            return True  # char::is_ascii_punctuation
        if cp in self.punct_extra:
            return True
        return unicodedata.category(chr(cp)).startswith("P") and cp not in self.punct_not

    def out_class(self, cp: int) -> int:
        if self.is_whitespace(cp):
            return CLS_SPACE
        if cp in self.cjk or self.is_punct(cp):
            return CLS_ISOLATED
        return CLS_WORD

    def normalize(self, cp: int) -> list[tuple[int, int, int]]:
        """One code point through BertNormalizer: items (cp, class, ccc).

        A CLS_BOUNDARY item (cp 0) stands for a dropped mark of combining
        class 0. Items keep the combining class the NFD reordering sees
        (0 for characters made by lowercasing).
        """
        if cp == 0 or cp == 0xFFFD or self.is_control(cp) or 0xD800 <= cp <= 0xDFFF:
            return []
        if cp in (0x09, 0x0A, 0x0D) or self.is_whitespace(cp):
            return [(0x20, CLS_SPACE, 0)]
        items: list[tuple[int, int, int]] = []
        for d in self.nfd(cp):
            k = self.ccc(d)
            if self.is_mn(d):
                if k == 0:
                    items.append((0, CLS_BOUNDARY, 0))
                continue
            low = self.lower(d)
            if low != [d]:
                if k != 0:
                    raise AssertionError(f"U+{d:04X}: lowercased non-starter")
                items += [(o, self.out_class(o), 0) for o in low]
            else:
                items.append((d, self.out_class(d), k))
        # A boundary right after a starter (or another boundary) changes nothing.
        reduced: list[tuple[int, int, int]] = []
        for it in items:
            if it[1] == CLS_BOUNDARY and reduced and reduced[-1][2] == 0:
                continue
            reduced.append(it)
        if cp in self.cjk:
            if len([it for it in reduced if it[1] != CLS_BOUNDARY]) != 1:
                raise AssertionError(f"U+{cp:04X}: CJK ideograph must map to one character")
            reduced = [(o, CLS_ISOLATED, 0) if c != CLS_BOUNDARY else (o, c, k) for o, c, k in reduced]
        else:
            for o, c, _ in reduced:
                if c == CLS_ISOLATED and o in self.cjk:
                    raise AssertionError(f"U+{cp:04X} makes an ideograph without being one")
        if len(reduced) > MAX_SEQ:
            raise AssertionError(f"U+{cp:04X}: output longer than {MAX_SEQ}")
        return reduced


def hf_normalize_str(text: str, hf: HFChar | None = None) -> str:
    """BertNormalizer on a string by the per-code-point rules (for tests).

    Reorders combining classes like NFD does; returns the normalized text
    with CJK ideographs surrounded by spaces, as tokenizers does.
    """
    hf = hf or HFChar()
    out: list[tuple[int, int]] = []  # (cp, ccc)
    run = 0
    for ch in text:
        for o, c, k in hf.normalize(ord(ch)):
            if c == CLS_BOUNDARY or k == 0:
                run = len(out) + (c != CLS_BOUNDARY)
                if c == CLS_BOUNDARY:
                    continue
                if ord(ch) in hf.cjk:
                    out += [(0x20, 0), (o, 0), (0x20, 0)]
                    run = len(out)
                    continue
                out.append((o, 0))
                continue
            pos = len(out)
            while pos > run and out[pos - 1][1] > k:
                pos -= 1
            out.insert(pos, (o, k))
    return "".join(chr(o) for o, _ in out)


@dataclasses.dataclass
class Tables:
    keys: list[int]       # sorted range keys
    params: list[int]     # one per key (uint32)
    pool: list[int]       # items
    ascii: list[int]      # 128 bytes: output | 0x80 if isolated; 0: dropped
    unidata_version: str


def _atom(cp: int, items: list[tuple[int, int, int]]) -> tuple[int, int, object]:
    """(kind, class, payload) of one code point, before range merging."""
    if HANGUL_FIRST <= cp <= HANGUL_LAST:
        return K_HANGUL, CLS_WORD, None
    if not items:
        return K_DROP, CLS_WORD, None
    if len(items) == 1:
        o, c, k = items[0]
        if c == CLS_BOUNDARY:
            return K_DROP, CLS_BOUNDARY, None
        if o == cp:
            return K_IDENT, c, k
        if k == 0:
            return K_DELTA, c, o - cp
    return K_SEQ, CLS_WORD, tuple(items)


def _item(o: int, c: int, k: int) -> int:
    return o | (c << ITEM_CLASS_SHIFT) | (k << ITEM_CCC_SHIFT)


def build_tables(hf: HFChar | None = None) -> Tables:
    hf = hf or HFChar()
    atoms = []
    for cp in range(MAX_CP + 1):
        items = hf.normalize(cp)
        if HANGUL_FIRST <= cp <= HANGUL_LAST:
            assert [c for _, c, _ in items] == [CLS_WORD] * len(items)
        atoms.append(_atom(cp, items))

    # Merge runs into ranges: [start, end, kind, class, payload].
    ranges: list[list] = []
    for cp, (kind, cls, pay) in enumerate(atoms):
        if ranges:
            r = ranges[-1]
            if kind != K_SEQ and (r[2], r[3], r[4]) == (kind, cls, pay):
                r[1] = cp
                continue
            if kind == K_DELTA and r[3] == cls:
                o = cp + pay
                if r[2] == K_CONST and r[4] == o:
                    r[1] = cp
                    continue
                if r[2] == K_DELTA and r[0] == r[1] and r[0] + r[4] == o:
                    r[1], r[2], r[4] = cp, K_CONST, o
                    continue
        ranges.append([cp, cp, kind, cls, pay])

    # Alternating case pairs (DELTA d, IDENT, DELTA d, IDENT, ...) -> ALT.
    def single_delta(r: list) -> bool:
        return r[2] == K_DELTA and r[0] == r[1]

    merged: list[list] = []
    i = 0
    while i < len(ranges):
        r = ranges[i]
        if single_delta(r):
            j, want_ident = i + 1, True
            while j < len(ranges):
                x = ranges[j]
                if want_ident:
                    ok = x[2] == K_IDENT and x[0] == x[1] and x[3] == r[3] and x[4] == 0
                else:
                    ok = single_delta(x) and x[3] == r[3] and x[4] == r[4]
                if not ok:
                    break
                j, want_ident = j + 1, not want_ident
            if j - i >= 3:
                merged.append([r[0], ranges[j - 1][1], K_ALT, r[3], r[4]])
                i = j
                continue
        merged.append(r)
        i += 1

    # Runs of single-output one-code-point ranges -> one TABLE range.
    def single(r: list) -> int | None:
        if r[0] != r[1]:
            return None
        if r[2] == K_CONST:
            return _item(r[4], r[3], 0)
        if r[2] == K_DELTA:
            return _item(r[0] + r[4], r[3], 0)
        if r[2] == K_IDENT:
            return _item(r[0], r[3], r[4])
        return None

    pool: list[int] = []
    final: list[tuple[int, int, int, int]] = []  # start, kind, class, param
    i = 0
    while i < len(merged):
        j = i
        while j < len(merged) and single(merged[j]) is not None and (j == i or merged[j][0] == merged[j - 1][1] + 1):
            j += 1
        if j - i >= 3:
            off = len(pool)
            pool += [single(r) for r in merged[i:j]]  # type: ignore[misc]
            final.append((merged[i][0], K_TABLE, CLS_WORD, off))
            i = j
            continue
        r = merged[i]
        start, kind, cls, pay = r[0], r[2], r[3], r[4]
        if kind == K_SEQ:
            items = [_item(*it) for it in pay]
            # Reuse an identical sequence already in the pool.
            off = _find(pool, items)
            if off < 0:
                off = len(pool)
                pool += items
            param = off | (len(items) << SEQ_LEN_SHIFT)
        elif kind == K_IDENT:
            param = pay
        elif kind in (K_DELTA, K_ALT):
            param = pay & 0xFFFFFFFF
        elif kind == K_CONST:
            param = pay
        else:
            param = 0
        final.append((start, kind, cls, param))
        i += 1

    keys = [(s << KEY_START_SHIFT) | (k << KEY_KIND_SHIFT) | c for s, k, c, _ in final]
    params = [p for _, _, _, p in final]
    if len(pool) > 0xFFFF:
        raise AssertionError("item pool too large")

    ascii_tab = []
    for cp in range(128):
        items = hf.normalize(cp)
        if not items:
            ascii_tab.append(0)
            continue
        assert len(items) == 1 and items[0][0] < 0x80 and items[0][2] == 0
        o, c, _ = items[0]
        assert (c == CLS_SPACE) == (o == 0x20)
        ascii_tab.append(o | (0x80 if c == CLS_ISOLATED else 0))
    return Tables(keys=keys, params=params, pool=pool, ascii=ascii_tab,
                  unidata_version=unicodedata.unidata_version)


def _find(pool: list[int], items: list[int]) -> int:
    n = len(items)
    for off in range(len(pool) - n + 1):
        if pool[off:off + n] == items:
            return off
    return -1


def lookup(t: Tables, cp: int) -> list[tuple[int, int, int]]:
    """Decode one code point's rule from the tables, as the C side does."""
    import bisect

    i = bisect.bisect_right(t.keys, (cp << KEY_START_SHIFT) | 0xFF) - 1
    key, param = t.keys[i], t.params[i]
    start = key >> KEY_START_SHIFT
    kind = (key >> KEY_KIND_SHIFT) & 7
    cls = key & 3

    def unpack(item: int) -> tuple[int, int, int]:
        return item & ITEM_CP_MASK, (item >> ITEM_CLASS_SHIFT) & 3, item >> ITEM_CCC_SHIFT

    if kind == K_IDENT:
        return [(cp, cls, param)]
    if kind == K_DELTA:
        d = param - (1 << 32) if param & 0x80000000 else param
        return [(cp + d, cls, 0)]
    if kind == K_ALT:
        d = param - (1 << 32) if param & 0x80000000 else param
        return [(cp + d, cls, 0)] if (cp - start) % 2 == 0 else [(cp, cls, 0)]
    if kind == K_CONST:
        return [(param, cls, 0)]
    if kind == K_SEQ:
        off, n = param & 0xFFFF, param >> SEQ_LEN_SHIFT
        return [unpack(x) for x in t.pool[off:off + n]]
    if kind == K_TABLE:
        return [unpack(t.pool[param + cp - start])]
    if kind == K_DROP:
        return [(0, CLS_BOUNDARY, 0)] if cls == CLS_BOUNDARY else []
    s = cp - HANGUL_FIRST
    out = [0x1100 + s // 588, 0x1161 + (s % 588) // 28]
    if s % 28:
        out.append(0x11A7 + s % 28)
    return [(o, CLS_WORD, 0) for o in out]


def verify(t: Tables, hf: HFChar | None = None) -> None:
    """Every code point decodes from the tables to its rule."""
    hf = hf or HFChar()
    for cp in range(MAX_CP + 1):
        if lookup(t, cp) != hf.normalize(cp):
            raise AssertionError(f"U+{cp:04X}: tables {lookup(t, cp)} != rule {hf.normalize(cp)}")


def table_bytes(t: Tables) -> int:
    return 4 * len(t.keys) + 4 * len(t.params) + 4 * len(t.pool) + len(t.ascii)


def render_c(t: Tables | None = None) -> str:
    t = t or build_tables()

    from mcubert.formats.cgen import banner, rows

    out = [
        *banner("scripts/mcubert/formats/tokenizer_tables.py",
                f"Python's unicodedata {t.unidata_version} and the tokenizers {HF_TOKENIZERS_VERSION} compatibility",
                f"lists; {len(t.keys)} ranges, {len(t.pool)} pool items, {table_bytes(t)} bytes."),
        "#include <stdint.h>",
        "",
        "#include <mcubert/tokenizer.h>",
        "",
        f"const uint32_t mcubert_tok_range_count = {len(t.keys)}U;",
        "",
        "const uint32_t mcubert_tok_range_key[] = {",
        *rows(t.keys, "0x{:08x}", 6),
        "};",
        "",
        "const uint32_t mcubert_tok_range_param[] = {",
        *rows(t.params, "0x{:08x}", 6),
        "};",
        "",
        "const uint32_t mcubert_tok_pool[] = {",
        *rows(t.pool, "0x{:08x}", 6),
        "};",
        "",
        "const uint8_t mcubert_tok_ascii[128] = {",
        *rows(t.ascii, "0x{:02x}", 8),
        "};",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Generate the tokenizer's Unicode tables (C).")
    ap.add_argument("--output", type=Path, help="write the C file here")
    ap.add_argument("--check", type=Path, help="exit 1 unless this file equals the generated one")
    ap.add_argument("--derive-compat", action="store_true",
                    help="probe the installed tokenizers and print the HF_* lists")
    ap.add_argument("--stats", action="store_true", help="print table sizes")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.derive_compat:
        sys.stdout.write(derive_compat())
        return 0
    if unicodedata.unidata_version != UNIDATA_VERSION:
        log.warning("unicodedata is %s, the checked-in tables use %s: the output will differ",
                    unicodedata.unidata_version, UNIDATA_VERSION)
    t = build_tables()
    verify(t)
    text = render_c(t)
    if args.stats:
        kinds: dict[str, int] = {}
        for k in t.keys:
            name = KIND_NAMES[(k >> KEY_KIND_SHIFT) & 7]
            kinds[name] = kinds.get(name, 0) + 1
        log.info("%d ranges %s, %d pool items, %d bytes", len(t.keys), kinds, len(t.pool), table_bytes(t))
    if args.check:
        if args.check.read_text() != text:
            log.error("%s differs from the generator's output", args.check)
            return 1
        return 0
    if args.output:
        args.output.write_text(text)
    elif not args.stats:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

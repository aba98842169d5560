# SPDX-License-Identifier: Apache-2.0
"""What BERT's Hugging Face tokenizer (tokenizers) does differently from this Python's Unicode tables: the
hand-checked HF_* lists formats/tokenizer_tables.py builds the C tables with, and `derive_compat()`, which
probes an installed tokenizers to derive them again (`python -m mcubert.formats.tokenizer_tables
--derive-compat`)."""

from __future__ import annotations

import unicodedata
from typing import Sequence

#: tokenizers version the HF_* compatibility lists were derived from.
HF_TOKENIZERS_VERSION = "0.23.3"

Ranges = Sequence[tuple[int, int]]

#: Unicode White_Space (PropList.txt; unchanged since Unicode 6.3). Rust's
#: char::is_whitespace is exactly this property; Python's str.isspace is not.
WHITE_SPACE: Ranges = (
    (0x0009, 0x000D), (0x0020, 0x0020), (0x0085, 0x0085), (0x00A0, 0x00A0),
    (0x1680, 0x1680), (0x2000, 0x200A), (0x2028, 0x2029), (0x202F, 0x202F),
    (0x205F, 0x205F), (0x3000, 0x3000),
)

#: BertNormalizer's "Chinese characters" (tokenizers normalizers/bert.rs).
CJK: Ranges = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)

# --- Differences between Unicode 14 (unicodedata) and tokenizers 0.23.3 ----
# Cc/Cf/Co code points that tokenizers does not treat as control (newer than
# its Unicode 8 tables).
HF_CONTROL_NOT: Ranges = ((0x0890, 0x0891), (0x08E2, 0x08E2), (0x110CD, 0x110CD), (0x13430, 0x13438))
# Mn code points that tokenizers does not strip.
HF_MN_NOT: Ranges = (
    (0x07FD, 0x07FD), (0x0898, 0x089F), (0x08CA, 0x08E1), (0x09FE, 0x09FE), (0x0AFA, 0x0AFF),
    (0x0B55, 0x0B55), (0x0C04, 0x0C04), (0x0C3C, 0x0C3C), (0x0D00, 0x0D00), (0x0D3B, 0x0D3C),
    (0x0D81, 0x0D81), (0x0EBA, 0x0EBA), (0x180F, 0x180F), (0x1885, 0x1886), (0x1ABF, 0x1ACE),
    (0x1DF6, 0x1DFB), (0xA82C, 0xA82C), (0xA8C5, 0xA8C5), (0xA8FF, 0xA8FF), (0xA9BD, 0xA9BD),
    (0x10D24, 0x10D27), (0x10EAB, 0x10EAC), (0x10F46, 0x10F50), (0x10F82, 0x10F85),
    (0x11070, 0x11070), (0x11073, 0x11074), (0x110C2, 0x110C2), (0x111C9, 0x111C9),
    (0x111CF, 0x111CF), (0x1123E, 0x1123E), (0x1133B, 0x1133B), (0x11438, 0x1143F),
    (0x11442, 0x11444), (0x11446, 0x11446), (0x1145E, 0x1145E), (0x1182F, 0x11837),
    (0x11839, 0x1183A), (0x1193B, 0x1193C), (0x1193E, 0x1193E), (0x11943, 0x11943),
    (0x119D4, 0x119D7), (0x119DA, 0x119DB), (0x119E0, 0x119E0), (0x11A01, 0x11A0A),
    (0x11A33, 0x11A38), (0x11A3B, 0x11A3E), (0x11A47, 0x11A47), (0x11A51, 0x11A56),
    (0x11A59, 0x11A5B), (0x11A8A, 0x11A96), (0x11A98, 0x11A99), (0x11C30, 0x11C36),
    (0x11C38, 0x11C3D), (0x11C3F, 0x11C3F), (0x11C92, 0x11CA7), (0x11CAA, 0x11CB0),
    (0x11CB2, 0x11CB3), (0x11CB5, 0x11CB6), (0x11D31, 0x11D36), (0x11D3A, 0x11D3A),
    (0x11D3C, 0x11D3D), (0x11D3F, 0x11D45), (0x11D47, 0x11D47), (0x11D90, 0x11D91),
    (0x11D95, 0x11D95), (0x11D97, 0x11D97), (0x11EF3, 0x11EF4), (0x16F4F, 0x16F4F),
    (0x16FE4, 0x16FE4), (0x1CF00, 0x1CF2D), (0x1CF30, 0x1CF46), (0x1E000, 0x1E006),
    (0x1E008, 0x1E018), (0x1E01B, 0x1E021), (0x1E023, 0x1E024), (0x1E026, 0x1E02A),
    (0x1E130, 0x1E136), (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF), (0x1E944, 0x1E94A),
)
# Code points that tokenizers strips as Mn although Unicode 14 does not.
HF_MN_EXTRA: Ranges = ((0x1734, 0x1734),)
# Code points with a canonical decomposition in Unicode 14 that tokenizers
# does not decompose.
HF_NFD_NOT: Ranges = ((0x11938, 0x11938),)
# Code points with a nonzero canonical combining class in Unicode 14 that
# tokenizers' NFD treats as starters (class 0); only those that survive the
# accent stripping matter.
HF_CCC_ZERO: Ranges = (
    (0x07FD, 0x07FD), (0x0898, 0x089F), (0x08CA, 0x08D3), (0x09FE, 0x09FE), (0x0C3C, 0x0C3C),
    (0x0D3B, 0x0D3C), (0x0EBA, 0x0EBA), (0x1715, 0x1715), (0x1ABF, 0x1ACE), (0x1DF6, 0x1DFA),
    (0xA82C, 0xA82C), (0x10D24, 0x10D27), (0x10EAB, 0x10EAC), (0x10F46, 0x10F50),
    (0x10F82, 0x10F85), (0x11070, 0x11070), (0x1133B, 0x1133B), (0x1145E, 0x1145E),
    (0x11839, 0x1183A), (0x1193D, 0x1193E), (0x11943, 0x11943), (0x119E0, 0x119E0),
    (0x11A34, 0x11A34), (0x11A47, 0x11A47), (0x11A99, 0x11A99), (0x11D42, 0x11D42),
    (0x11D44, 0x11D45), (0x11D97, 0x11D97), (0x16FF0, 0x16FF1), (0x1E130, 0x1E136),
    (0x1E2AE, 0x1E2AE), (0x1E2EC, 0x1E2EF),
)
# P* code points (Unicode 14) that tokenizers does not treat as punctuation.
HF_PUNCT_NOT: Ranges = (
    (0x061D, 0x061D), (0x09FD, 0x09FD), (0x0A76, 0x0A76), (0x0C77, 0x0C77), (0x0C84, 0x0C84),
    (0x1B7D, 0x1B7E), (0x2E43, 0x2E4F), (0x2E52, 0x2E5D), (0x10EAD, 0x10EAD),
    (0x10F55, 0x10F59), (0x10F86, 0x10F89), (0x1144B, 0x1144F), (0x1145A, 0x1145B),
    (0x1145D, 0x1145D), (0x11660, 0x1166C), (0x116B9, 0x116B9), (0x1183B, 0x1183B),
    (0x11944, 0x11946), (0x119E2, 0x119E2), (0x11A3F, 0x11A46), (0x11A9A, 0x11A9C),
    (0x11A9E, 0x11AA2), (0x11C41, 0x11C45), (0x11C70, 0x11C71), (0x11EF7, 0x11EF8),
    (0x11FFF, 0x11FFF), (0x12FF1, 0x12FF2), (0x16E97, 0x16E9A), (0x16FE2, 0x16FE2),
    (0x1E95E, 0x1E95F),
)
# Code points tokenizers treats as punctuation although Unicode 14 does not.
HF_PUNCT_EXTRA: Ranges = ((0x166D, 0x166D), (0x111C9, 0x111C9))
# Lowercase mappings of tokenizers (Rust std) that Unicode 14 lacks:
# (first, last, target of first); consecutive code points map consecutively.
HF_LOWER_EXTRA: Sequence[tuple[int, int, int]] = (
    (0x1C89, 0x1C89, 0x1C8A), (0xA7CB, 0xA7CB, 0x0264), (0xA7CC, 0xA7CC, 0xA7CD),
    (0xA7CE, 0xA7CE, 0xA7CF), (0xA7D2, 0xA7D2, 0xA7D3), (0xA7D4, 0xA7D4, 0xA7D5),
    (0xA7DA, 0xA7DA, 0xA7DB), (0xA7DC, 0xA7DC, 0x019B), (0x10D50, 0x10D65, 0x10D70),
    (0x16EA0, 0x16EB8, 0x16EBB),
)


def derive_compat() -> str:
    """Probe the installed tokenizers per code point; print the HF_* lists.

    Each component of BertNormalizer / BertPreTokenizer is probed on its
    own, over every Unicode scalar value, and compared with unicodedata.
    """
    import tokenizers
    from tokenizers import normalizers as N
    from tokenizers.pre_tokenizers import BertPreTokenizer

    from mcubert.formats.tokenizer_tables import MAX_CP, HFChar, ranges_of

    cps = [c for c in range(MAX_CP + 1) if not 0xD800 <= c <= 0xDFFF and c != 0x7C]

    def probe(norm) -> dict[int, str]:
        out = norm.normalize_str("|".join(chr(c) for c in cps)).split("|")
        assert len(out) == len(cps)
        d = dict(zip(cps, out))
        d[0x7C] = "|"
        return d

    clean = probe(N.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False))
    nfd = probe(N.NFD())
    strip = probe(N.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False))
    low = probe(N.Lowercase())
    base = HFChar.__new__(HFChar)
    HFChar.__init__(base)
    for name in ("control_not", "mn_not", "mn_extra", "nfd_not", "ccc_zero", "punct_not", "punct_extra"):
        setattr(base, name, frozenset())
    base.lower_extra = {}

    control_not = [c for c in clean if base.is_control(c) and clean[c] != ""]
    nfd_not = [c for c in nfd if nfd[c] == chr(c) and base.nfd(c) != [c]]
    mn_not, mn_extra = [], []
    for c in strip:
        if nfd[c] != chr(c):
            continue
        if strip[c] == "" and not base.is_mn(c):
            mn_extra.append(c)
        if strip[c] != "" and base.is_mn(c):
            mn_not.append(c)
    lower_extra = [(c, ord(low[c])) for c in low if [ord(x) for x in low[c]] != base.lower(c)]
    pre = BertPreTokenizer()
    punct_not, punct_extra = [], []
    for c in range(MAX_CP + 1):
        if 0xD800 <= c <= 0xDFFF:
            continue
        n = len(pre.pre_tokenize_str("a" + chr(c) + "a"))
        if (n == 3) != base.is_punct(c):
            (punct_extra if n == 3 else punct_not).append(c)
    # Combining classes: only surviving non-starters matter; compare with
    # a reordering against U+1D16D (226) or U+1D165 (216).
    bert = N.BertNormalizer()
    ccc_zero = []
    for c in cps:
        k = base.ccc(c)
        if not k or bert.normalize_str(chr(c)) != chr(c):
            continue
        ref = 0x1D16D if k < 226 else 0x1D165
        text = "a" + chr(ref) + chr(c) if k < 226 else "a" + chr(c) + chr(ref)
        if bert.normalize_str(text) == text:
            ccc_zero.append(c)

    def fmt(name: str, cps_: list[int]) -> str:
        body = ", ".join(f"(0x{a:04X}, 0x{b:04X})" for a, b in ranges_of(cps_))
        return f"{name}: Ranges = ({body},)"

    lines = [f"# derived from tokenizers {tokenizers.__version__}, unicodedata {unicodedata.unidata_version}",
             fmt("HF_CONTROL_NOT", control_not), fmt("HF_MN_NOT", mn_not), fmt("HF_MN_EXTRA", mn_extra),
             fmt("HF_NFD_NOT", nfd_not), fmt("HF_CCC_ZERO", ccc_zero), fmt("HF_PUNCT_NOT", punct_not),
             fmt("HF_PUNCT_EXTRA", punct_extra)]
    runs: list[list[int]] = []
    for c, t in lower_extra:
        if runs and runs[-1][1] == c - 1 and runs[-1][2] + (c - runs[-1][0]) == t:
            runs[-1][1] = c
        else:
            runs.append([c, c, t])
    lines.append("HF_LOWER_EXTRA = (" + ", ".join(f"(0x{a:04X}, 0x{b:04X}, 0x{t:04X})" for a, b, t in runs) + ",)")
    return "\n".join(lines) + "\n"

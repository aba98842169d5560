# SPDX-License-Identifier: Apache-2.0
"""Slots: token spans in the caller's text, BIO tag sets, and the slot decoding rule.

The Python twin of subsys/mcubert/slots.c (and of the span part of
`mcubert_tok_encode_spans`), used by the CLI and evaluation; the tests compare
the two on the same inputs.

* `Span`: where a token came from, as `struct mcubert_tok_span`: `[start, end)`
  bytes of the ORIGINAL text (before lowercasing, accent stripping, NFD), the
  text it belongs to (0, or 1 for the second of a pair), its word (a
  BertPreTokenizer word, numbered from 0 in each text; None for [CLS] and
  the [SEP]s encode adds) and whether it is its word's first piece.
* `TagSet`: tag names ("O", "B-room", "I-room", ...) parsed into kinds and slots.
* `decode_slots`: conlleval's rule. A word's tag is its first piece's tag;
  `B-x` starts slot x; `I-x` continues x when the previous word's tag was
  `B-x`/`I-x` in the same text, else it starts a new slot x; `O` ends the
  current slot; tokens without a word carry no tag. A slot runs from the
  start of its first word to the end of its last word.
* `hf_spans`: the spans of a Hugging Face `tokenizers` encoding (character
  offsets) in bytes.
* `case_types`: the token types of a model trained with case types
  (`MCUB_FLAG_CASE_TYPES`, `mcubert_tok_case_types`): 1 for every piece of a
  word that begins with a capital (`is_capital`), else 0. The uncased
  vocabulary loses the case the text had; this gives it back to the model.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence, Union

Text = Union[str, bytes]

O, B, I = 0, 1, 2  # noqa: E741 - the BIO kinds, as enum mcubert_slot_kind


class SlotError(ValueError):
    """Tag names or tag ids that cannot be decoded."""


class Span(NamedTuple):
    """A token's origin: bytes [start, end) of text `text`, its word (None: no word), first piece or not."""

    start: int
    end: int
    word: int | None
    text: int
    word_start: bool


class Slot(NamedTuple):
    """A decoded slot: its index in the tag set and bytes [start, end) of text `text`."""

    slot: int
    start: int
    end: int
    text: int = 0


class TagSet:
    """BIO tag names parsed once: per tag id its kind (O, B, I) and slot index.

    Slots are numbered in the order their names first appear; "B-x" and "I-x" share slot x.
    """

    def __init__(self, names: Sequence[str]) -> None:
        if not names:
            raise SlotError("a tag set needs at least one tag")
        if len(set(names)) != len(names):
            dup = next(n for n in names if list(names).count(n) > 1)
            raise SlotError(f"tag {dup!r} appears twice")
        self.names = list(names)
        self.slot_names: list[str] = []
        self.kinds: list[int] = []
        self.slots: list[int] = []
        for name in names:
            kind, slot_name = parse_tag(name)
            self.kinds.append(kind)
            if kind == O:
                self.slots.append(0)
                continue
            if slot_name not in self.slot_names:
                self.slot_names.append(slot_name)
            self.slots.append(self.slot_names.index(slot_name))

    def __len__(self) -> int:
        return len(self.names)

    def slot_name(self, slot: int) -> str:
        return self.slot_names[slot]


def parse_tag(name: str) -> tuple[int, str]:
    """("O", "B-x", "I-x") -> (kind, slot name); anything else raises SlotError."""
    if name == "O":
        return O, ""
    if len(name) > 2 and name[0] in "BI" and name[1] == "-":
        return (B if name[0] == "B" else I), name[2:]
    raise SlotError(f"malformed tag {name!r}: expected 'O', 'B-<slot>' or 'I-<slot>'")


def decode_slots(tags: TagSet, tag_ids: Sequence[int], spans: Sequence[Span]) -> list[Slot]:
    """The slots of one encoding, in text order (as mcubert_slots_decode)."""
    if len(tag_ids) != len(spans):
        raise SlotError(f"{len(tag_ids)} tag ids for {len(spans)} tokens")
    out: list[Slot] = []
    open_slot: tuple[int, int] | None = None  # (slot, text) of the open slot
    for tag_id, sp in zip(tag_ids, spans):
        if sp.word is None:
            continue
        if not sp.word_start:
            if open_slot is not None:
                out[-1] = out[-1]._replace(end=max(out[-1].end, sp.end))
            continue
        if not 0 <= tag_id < len(tags):
            raise SlotError(f"tag id {tag_id} out of range (tag set of {len(tags)})")
        kind, slot = tags.kinds[tag_id], tags.slots[tag_id]
        if kind == O:
            open_slot = None
        elif kind == B or open_slot != (slot, sp.text):
            out.append(Slot(slot, sp.start, sp.end, sp.text))
            open_slot = (slot, sp.text)
        else:
            out[-1] = out[-1]._replace(end=max(out[-1].end, sp.end))
    return out


def slot_values(tags: TagSet, slots: Sequence[Slot], texts: Sequence[bytes]) -> list[tuple[str, bytes]]:
    """(slot name, original bytes) of each slot; `texts` are the encoded texts as bytes."""
    return [(tags.slot_name(s.slot), texts[s.text][s.start:s.end]) for s in slots]


def slot_records(tag_names: Sequence[str], tag_ids: Sequence[int], spans: Sequence[Span],
                 texts: Sequence[str | bytes]) -> list[dict]:
    """`mcubert run --json`'s slots: [{"slot", "text", "start", "end"} (+ "text_index" for the second text of
    a pair)], byte offsets into the original text. SlotError when the tag names are not BIO tags."""
    tags = TagSet(tag_names)
    raw = [s.encode("utf-8") if isinstance(s, str) else bytes(s) for s in texts]
    out = []
    for s in decode_slots(tags, tag_ids, spans):
        rec = {"slot": tags.slot_name(s.slot), "text": raw[s.text][s.start:s.end].decode("utf-8", "replace"),
               "start": s.start, "end": s.end}
        if s.text:
            rec["text_index"] = s.text
        out.append(rec)
    return out


def utf8_char_starts(raw: bytes) -> list[int]:
    """Byte offset of each character of `raw.decode("utf-8", "replace")`, then len(raw).

    A U+FFFD of the decoded string stands for one maximal ill-formed subsequence (Unicode 3.9), as
    Python and the C tokenizer read it.
    """
    starts: list[int] = []
    i, n = 0, len(raw)
    while i < n:
        starts.append(i)
        i += _utf8_step(raw, i)
    starts.append(n)
    return starts


def _utf8_step(raw: bytes, i: int) -> int:
    """Bytes of the code point, or of the maximal ill-formed subsequence, at raw[i]."""
    b0 = raw[i]
    if b0 < 0x80 or b0 < 0xC2 or b0 > 0xF4:
        return 1
    need = 1 if b0 < 0xE0 else 2 if b0 < 0xF0 else 3
    lo = {0xE0: 0xA0, 0xF0: 0x90}.get(b0, 0x80)
    hi = {0xED: 0x9F, 0xF4: 0x8F}.get(b0, 0xBF)
    k = 1
    while need and i + k < len(raw) and lo <= raw[i + k] <= hi:
        k += 1
        need -= 1
        lo, hi = 0x80, 0xBF
    return k


def is_capital(ch: str) -> bool:
    """The case rule of case types: A-Z, or a Latin-1 capital U+00C0-U+00DE other than U+00D7 (x)."""
    return "A" <= ch <= "Z" or ("\u00c0" <= ch <= "\u00de" and ch != "\u00d7")


def capital_at(raw: bytes, i: int) -> bool:
    """is_capital() of the character at byte i of UTF-8 `raw` (as the C rule reads it: a byte or two)."""
    if i >= len(raw):
        return False
    b0 = raw[i]
    if b0 < 0x80:
        return 0x41 <= b0 <= 0x5A
    return b0 == 0xC3 and i + 1 < len(raw) and 0x80 <= raw[i + 1] <= 0x9E and raw[i + 1] != 0x97


def case_types(raw: bytes, spans: Sequence[Span]) -> list[int]:
    """Per token: 1 when its word begins with a capital, else 0 (tokens without a word: 0); one text only."""
    if any(sp.text != 0 for sp in spans):
        raise SlotError("case types apply to one text, not to a pair")
    out: list[int] = []
    cur = 0
    for sp in spans:
        if sp.word is None:
            out.append(0)
            continue
        if sp.word_start:
            cur = int(capital_at(raw[sp.start:sp.end], 0))
        out.append(cur)
    return out


def hf_spans(offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None],
             sequence_ids: Sequence[int | None], type_ids: Sequence[int],
             raws: Sequence[bytes]) -> list[Span]:
    """Spans of a tokenizers Encoding (character offsets into each decoded text) in bytes of `raws`."""
    starts = [utf8_char_starts(r) for r in raws]
    out: list[Span] = []
    prev: tuple[int, int] | None = None
    for (a, b), word, seq, typ in zip(offsets, word_ids, sequence_ids, type_ids):
        if seq is None:  # [CLS] and the added [SEP]s
            out.append(Span(0, 0, None, typ, False))
            prev = None
            continue
        out.append(Span(starts[seq][a], starts[seq][b], word, seq, (seq, word) != prev))
        prev = (seq, word)
    return out

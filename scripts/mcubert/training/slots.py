# SPDX-License-Identifier: Apache-2.0
"""BIO tags of words and word pieces, and slots decoded from them (the NLU contract's slot rule).

A word is what the BERT pre-tokenizer makes of the text (whitespace and punctuation split), or a word of a
CoNLL file. Training labels: a word inside a slot is tagged `B-x` (the slot's first word) or `I-x`, other
words `O`; a word's first word piece carries its tag, its other pieces and [CLS]/[SEP]/padding are IGNORE
(-100, left out of the loss, as Hugging Face does).

With the "io" scheme (`mcubert train --slot-scheme io`) every word of a slot is tagged `I-x`: the model only
decides each word's slot, not where a slot starts, and the decoder below (which starts a slot at an `I-x` after
another slot or `O`) joins consecutive words of the same slot; two slots of one name with no word between them
would merge (3 of the 35,748 slots of SNIPS's training data). The tag set stays BIO: blobs, labels and the
runtime's decoder are the same for both schemes.

Decoding (conlleval style): a word's tag is its first piece's; `B-x` starts slot x; `I-x` continues x when
the previous word's tag was `B-x`/`I-x`, otherwise starts a new slot x; `O` ends the current slot. A slot
runs from the start of its first word to the end of its last word. `decode_slots` here takes word tags by
name; the rule's one Python implementation is `mcubert.slots.decode_slots` (token tags with spans, the twin
of subsys/mcubert/slots.c), which it calls.
"""

from __future__ import annotations

from typing import Any, Sequence

from mcubert import slots as core
from mcubert.training.readers import Slot

IGNORE = -100  # the label of pieces left out of the loss

Span = tuple[int, int]

SCHEMES = ("bio", "io")

__all__ = ["IGNORE", "SCHEMES", "bio_labels", "decode_slots", "first_pieces", "io_index", "merge_begin_into_inside",
           "piece_labels", "word_spans", "word_tags"]


def bio_labels(slot_names: Sequence[str]) -> list[str]:
    """The slot tag set: "O" first, then B-x, I-x for each slot name (sorted)."""
    out = ["O"]
    for name in sorted(set(slot_names)):
        out += [f"B-{name}", f"I-{name}"]
    return out


def first_pieces(word_ids: Sequence[int | None]) -> list[int]:
    """The position of each word's first piece, in word order (words cut by truncation: those left)."""
    out, prev = [], None
    for i, w in enumerate(word_ids):
        if w is not None and w != prev:
            out.append(i)
        prev = w
    return out


def word_spans(word_ids: Sequence[int | None], offsets: Sequence[Span]) -> list[Span]:
    """(start, end) character span of each word, from its pieces' offsets, in word order."""
    spans: dict[int, Span] = {}
    for w, (a, b) in zip(word_ids, offsets):
        if w is not None:
            s = spans.get(w)
            spans[w] = (a, b) if s is None else (min(s[0], a), max(s[1], b))
    return [spans[w] for w in sorted(spans)]


def word_tags(spans: Sequence[Span], slots: Sequence[Slot], scheme: str = "bio") -> list[str]:
    """Tag of each word (span) from character slots: B-x on a slot's first overlapping word and I-x after
    ("bio"), or I-x on all of them ("io")."""
    tags = ["O"] * len(spans)
    for s in slots:
        inside = [i for i, (a, b) in enumerate(spans) if a < s.end and s.start < b]
        for k, i in enumerate(inside):
            tags[i] = ("B-" if k == 0 and scheme == "bio" else "I-") + s.name
    return tags


def io_index(tags: Sequence[str]) -> list[int]:
    """For each tag, the index of the tag that holds its probability under the "io" scheme (B-x -> I-x)."""
    index = {t: i for i, t in enumerate(tags)}
    return [index.get("I-" + t[2:], i) if t.startswith("B-") else i for i, t in enumerate(tags)]


def merge_begin_into_inside(logits: Any, target: Sequence[int]) -> Any:
    """A BIO teacher's tag logits (..., tags) as an "io" distribution: each B-x's probability added to I-x's
    (`target` = io_index(tags)), B-x left with none (a log-probability of -1e4)."""
    import torch

    p = torch.softmax(logits.float(), -1)
    merged = torch.zeros_like(p).index_add_(-1, torch.tensor(target, device=logits.device), p)
    return torch.where(merged > 0, merged.clamp_min(1e-30).log(), torch.full_like(merged, -1e4))


def piece_labels(word_ids: Sequence[int | None], tags: Sequence[int]) -> list[int]:
    """Per-piece labels: each word's first piece gets its word's tag id (tags[word]), all else IGNORE."""
    out = [IGNORE] * len(word_ids)
    for i in first_pieces(word_ids):
        out[i] = tags[word_ids[i]]  # type: ignore[index]
    return out


def decode_slots(tags: Sequence[str], spans: Sequence[Span]) -> list[Slot]:
    """Slots of words tagged `tags` at `spans` (character or word positions), by the contract's rule.

    The rule itself is `mcubert.slots.decode_slots` (the twin of the C decoder): each word here is one
    first piece of one text. Words beyond the shorter of the two sequences are ignored.
    """
    n = min(len(tags), len(spans))
    if n == 0:
        return []
    tag_set = core.TagSet(list(dict.fromkeys(tags[:n])))
    ids = {name: i for i, name in enumerate(tag_set.names)}
    words = [core.Span(a, b, w, 0, True) for w, (a, b) in enumerate(spans[:n])]
    return [Slot(tag_set.slot_name(s.slot), s.start, s.end)
            for s in core.decode_slots(tag_set, [ids[t] for t in tags[:n]], words)]

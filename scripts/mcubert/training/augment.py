# SPDX-License-Identifier: Apache-2.0
"""Slot-value substitution: more intent + slots utterances from the training split alone.

Each copy of an utterance keeps its words outside the slots and its intent, and replaces every slot's text
by the text of a slot of the same name drawn (uniformly over occurrences) from the same training utterances.
A model then sees each context with many values, and each value in many contexts: it learns slot
boundaries from the context instead of memorising the values it saw. Never give it held-out utterances.

Lower-case copies: each utterance again with its text in lower case, the same slots. A model trained with
case types (`--case-types`) learns from them to tag text that has lost its capitals (a speech recogniser's
output) as well as text that has them.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mcubert.training.readers import Slot, Utterance

__all__ = ["lowercase_copies", "slot_values", "substitute_slots"]


def slot_values(utterances: Sequence[Utterance]) -> dict[str, list[str]]:
    """Every slot name's texts, one per occurrence, in order."""
    out: dict[str, list[str]] = {}
    for u in utterances:
        for name, text in u.slot_texts():
            out.setdefault(name, []).append(text)
    return out


def _substituted(u: Utterance, values: dict[str, list[str]], rng: np.random.Generator, n: int) -> Utterance:
    parts, slots, pos = [], [], 0
    for s in sorted(u.slots, key=lambda s: s.start):
        parts.append(u.text[pos:s.start])
        start = sum(len(p) for p in parts)
        pool = values[s.name]
        text = pool[int(rng.integers(len(pool)))]
        parts.append(text)
        slots.append(Slot(s.name, start, start + len(text)))
        pos = s.end
    parts.append(u.text[pos:])
    return Utterance("".join(parts), u.intent, tuple(slots), f"{u.where} (substitution {n})")


def substitute_slots(utterances: Sequence[Utterance], copies: int, seed: int = 0) -> list[Utterance]:
    """`copies` substituted copies of every utterance that has slots (the originals not included)."""
    values = slot_values(utterances)
    rng = np.random.default_rng(seed)
    return [_substituted(u, values, rng, n) for n in range(1, copies + 1) for u in utterances if u.slots]


def _lower(text: str) -> str:
    """`text` in lower case, character by character; a character whose lower case is longer ("İ") is kept, so
    slot offsets stay valid."""
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)


def lowercase_copies(utterances: Sequence[Utterance]) -> list[Utterance]:
    """A lower-case copy of every utterance that has a capital (the same intent and slots)."""
    return [Utterance(low, u.intent, u.slots, f"{u.where} (lower case)") for u in utterances
            if (low := _lower(u.text)) != u.text]

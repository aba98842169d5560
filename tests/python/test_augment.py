# SPDX-License-Identifier: Apache-2.0
"""Slot-value substitution (training/augment.py): copies keep the context and the intent, every slot gets a
value of its own name from the same utterances, offsets stay exact."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import mcubert  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from mcubert.training.augment import slot_values, substitute_slots  # noqa: E402
from mcubert.training.readers import Slot, Utterance  # noqa: E402


def _utt(text: str, intent: str, *slots: tuple[str, str]) -> Utterance:
    out = []
    for name, value in slots:
        start = text.index(value)
        out.append(Slot(name, start, start + len(value)))
    return Utterance(text, intent, tuple(out))


def test_substituted_copies_keep_context_and_exact_offsets() -> None:
    data = [_utt("set the kitchen lights to fifty", "SetLevel", ("room", "kitchen"), ("level", "fifty")),
            _utt("dim the garage lights to ten percent", "SetLevel", ("room", "garage"), ("level", "ten percent")),
            _utt("play some abba", "PlayMusic", ("artist", "abba")),
            _utt("stop", "Stop")]
    assert slot_values(data) == {"room": ["kitchen", "garage"], "level": ["fifty", "ten percent"],
                                 "artist": ["abba"]}
    copies = substitute_slots(data, 3, seed=1)
    assert len(copies) == 9  # the utterance without slots is not copied
    for u in copies:
        assert u.intent in ("SetLevel", "PlayMusic")
        for name, value in u.slot_texts():
            assert value in slot_values(data)[name]
        if u.intent == "SetLevel":
            assert u.text.startswith(("set the ", "dim the ")) and " lights to " in u.text
    assert any(c.text not in {u.text for u in data} for c in copies)  # new combinations
    assert substitute_slots(data, 3, seed=1) == copies  # deterministic

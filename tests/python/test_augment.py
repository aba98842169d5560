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

from mcubert.training.augment import lowercase_copies, slot_values, substitute_slots  # noqa: E402
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


def test_lowercase_copies_keep_slots_and_offsets() -> None:
    data = [_utt("Play ABBA in the Bedroom", "PlayMusic", ("artist", "ABBA"), ("room", "Bedroom")),
            _utt("dim the lights", "SetLevel"),
            _utt("Book İstanbul Grill", "BookRestaurant", ("restaurant_name", "İstanbul Grill"))]
    low = lowercase_copies(data)
    assert [u.text for u in low] == ["play abba in the bedroom", "book İstanbul grill"]  # İ lowers to 2 chars
    assert [u.slot_texts() for u in low] == [[("artist", "abba"), ("room", "bedroom")],
                                             [("restaurant_name", "İstanbul grill")]]
    assert [u.intent for u in low] == ["PlayMusic", "BookRestaurant"]


def test_train_augments_the_training_split_only(tmp_path: Path) -> None:
    import pytest

    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from mcubert import cli
    from mcubert.training.readers import read_jsonl, read_utterances
    from mcubert.training.tasks import split_holdout

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "nlu"
    out = tmp_path / "aug"
    argv = ["train", "--task", "intent-slots", "--train", str(fixtures / "snips-mini"), "--holdout", "2",
            "--out", str(out), "--vocab", str(fixtures / "vocab-nlu.txt"), "--random-init", "--layers", "1",
            "--hidden", "32", "--heads", "2", "--ffn", "64", "--max-pos", "64", "--max-steps", "1", "--no-progress"]
    assert cli.main(argv + ["--augment-slots", "2"]) == 0
    def key(u: Utterance) -> tuple:
        return u.text, u.intent, u.slots

    rest, held = split_holdout(read_utterances(fixtures / "snips-mini"), 2, 0, lambda u: u.intent)
    assert [key(u) for u in read_jsonl(out / "heldout.jsonl")] == [key(u) for u in held]
    used = [key(u) for u in read_jsonl(out / "train_augmented.jsonl")]
    assert used == [key(u) for u in rest + substitute_slots(rest, 2, seed=0)]  # copies of the training split only
    assert cli.main(argv + ["--augment-slots", "1", "--augment-lowercase", "--out", str(tmp_path / "lc")]) == 0
    used = [key(u) for u in read_jsonl(tmp_path / "lc" / "train_augmented.jsonl")]
    assert used == [key(u) for u in rest + substitute_slots(rest, 1, seed=0) + lowercase_copies(rest)]
    assert cli.main(["train", "--task", "tag", "--train", str(fixtures / "tags-mini.conll"), "--dev",
                     str(fixtures / "tags-mini.conll"), "--out", str(tmp_path / "t"), "--vocab",
                     str(fixtures / "vocab-nlu.txt"), "--random-init", "--augment-slots", "1"]) == 1

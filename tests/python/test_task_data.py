# SPDX-License-Identifier: Apache-2.0
"""Task data: the readers (TSV, CoNLL, JSON Lines, SNIPS), BIO alignment, the slot rule and the metrics."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    import mcubert  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from mcubert import tokenization  # noqa: E402
from mcubert.training import DataError, metrics, readers, slots  # noqa: E402
from mcubert.training.readers import Slot  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nlu"
SNIPS = Path("/work/shared/data/nlu/snips") if Path("/work/shared/data/nlu/snips").is_dir() \
    else Path(__file__).resolve().parents[3] / "shared" / "data" / "nlu" / "snips"


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


# ---------------------------------------------------------------- readers


def test_tsv_with_and_without_header(tmp_path: Path) -> None:
    h = _write(tmp_path, "h.tsv", "question\tsentence\tlabel\nis it?\tit is.\tentailment\n")
    assert [(e.text, e.text_b, e.label) for e in readers.read_labelled_tsv(h)] == [("is it?", "it is.", "entailment")]
    n = _write(tmp_path, "n.tsv", "good film\t1\n\nbad film\t0\n")
    assert [(e.text, e.text_b, e.label, e.line) for e in readers.read_labelled_tsv(n)] == \
        [("good film", None, "1", 1), ("bad film", None, "0", 3)]
    r = _write(tmp_path, "r.tsv", "a cat\ta dog\t3.5\n")
    assert [(e.text, e.text_b, e.label) for e in readers.read_labelled_tsv(r)] == [("a cat", "a dog", "3.5")]


def test_conll_sentences() -> None:
    (a, b) = readers.read_conll(FIXTURES / "tags-mini.conll")
    assert a.words == ("set", "the", "kitchen", "lights", "to", "fifty")
    assert a.tags == ("O", "O", "B-room", "O", "O", "B-level")
    assert b.tags == ("O", "O", "B-room", "I-room", "O") and b.where.endswith("tags-mini.conll:10")


def test_jsonl_and_snips_fixtures() -> None:
    (u, v, *_) = readers.read_jsonl(FIXTURES / "nlu-mini.jsonl")
    assert u.intent == "SetLevel" and u.slot_texts() == [("room", "kitchen"), ("level", "fifty")]
    assert v.slot_texts() == [("artist", "Café Tacvba")]
    snips = readers.read_snips(FIXTURES / "snips-mini")  # one file is Latin-1, like the published data
    assert len(snips) == 32 and {x.intent for x in snips} == {"PlayMusic", "SetLevel"}
    assert any(t == "café tacvba" for x in snips for _, t in x.slot_texts())
    assert all(x.text[s.start:s.end] == x.text[s.start:s.end].strip() for x in snips for s in x.slots)
    assert readers.read_utterances(FIXTURES / "nlu-mini.jsonl", limit=2) == readers.read_jsonl(
        FIXTURES / "nlu-mini.jsonl")[:2]


@pytest.mark.skipif(not SNIPS.is_dir(), reason="SNIPS data not present")
def test_published_snips() -> None:
    us = readers.read_snips(SNIPS)
    assert len(us) == 13784 and len({u.intent for u in us}) == 7
    assert len({s.name for u in us for s in u.slots}) == 39


@pytest.mark.parametrize("name, text, match", [
    ("bad.tsv", "a\tb\tc\td\n", r"bad\.tsv:1: 4 tab-separated fields"),
    ("bad.tsv", "a\t1\nb\tc\t1\n", r"bad\.tsv:2: 3 tab-separated fields"),
    ("bad.tsv", "sentence\tx\ngood\t1\n", r"bad\.tsv: the header names no 'label' column"),
    ("bad.conll", "set O\nthe X-room\n", r"bad\.conll:2: tag 'X-room' is not O, B-<name> or I-<name>"),
    ("bad.conll", "set O\n\nthe\n", r"bad\.conll:3: expected 'token<TAB>tag'"),
    ("bad.conll", b"set O\nth\xe9 O\n", r"bad\.conll:2: not valid UTF-8"),
    ("bad.jsonl", '{"text": "a", "intent": "X"}\n{"text": "a"\n', r"bad\.jsonl:2: not JSON"),
    ("bad.jsonl", '{"text": "abc", "slots": [{"slot": "x", "start": 1, "end": 9}]}\n',
     r"bad\.jsonl:1: slot 'x' offsets 1\.\.9 are not inside the text"),
    ("bad.jsonl", '{"text": "abcd", "slots": [{"slot": "x", "start": 0, "end": 2}, {"slot": "y", "start": 1, '
                  '"end": 3}]}\n', r"bad\.jsonl:1: slots 'x' and 'y' overlap"),
    ("bad.jsonl", '{"intent": "X"}\n', r"bad\.jsonl:1: expected an object with a \"text\" string"),
    ("bad.json", '{"A": [{"data": [{"text": "x"}]},\n {"data": [{"entity": "y"}]}]}\n',
     r"bad\.json:2: a chunk must be"),
    ("bad.json", '{"A": [\n{"data": [}]}\n', r"bad\.json:2: not JSON"),
    ("bad.json", '{"A": [\n{"dta": []}]}\n', r"bad\.json:1: an utterance must be"),
])
def test_malformed_files_name_file_and_line(tmp_path: Path, name: str, text: str | bytes, match: str) -> None:
    p = _write(tmp_path, name, text)
    read = {".tsv": readers.read_labelled_tsv, ".conll": readers.read_conll,
            ".jsonl": readers.read_utterances, ".json": readers.read_utterances}[p.suffix]
    with pytest.raises(DataError, match=match):
        read(p)


# ---------------------------------------------------------------- alignment and the slot rule


def test_bio_alignment_first_piece_carries_the_tag() -> None:
    tok = tokenization.make_tokenizer(FIXTURES / "vocab-nlu.txt", "hf")
    text = "play music by Café Tacvba in the bedroom"
    ids, word_ids, offsets = tok.encode_words(text, 64)
    spans = slots.word_spans(word_ids, offsets)
    assert [text[a:b] for a, b in spans] == ["play", "music", "by", "Café", "Tacvba", "in", "the", "bedroom"]
    tags = slots.word_tags(spans, [Slot("artist", 14, 25), Slot("room", 33, 40)])
    assert tags == ["O", "O", "O", "B-artist", "I-artist", "O", "O", "B-room"]
    names = slots.bio_labels(["room", "artist", "room"])
    assert names == ["O", "B-artist", "I-artist", "B-room", "I-room"]
    labels = slots.piece_labels(word_ids, [names.index(t) for t in tags])
    # [CLS] play music by cafe ta ##c ##v ##ba in the bed ##room [SEP]
    assert labels == [-100, 0, 0, 0, 1, 2, -100, -100, -100, 0, 0, 3, -100, -100]
    assert slots.first_pieces(word_ids) == [1, 2, 3, 4, 5, 9, 10, 11]
    got = slots.decode_slots(tags, spans)
    assert [(s.name, text[s.start:s.end]) for s in got] == [("artist", "Café Tacvba"), ("room", "bedroom")]


def test_decode_rule_invalid_i_starts_a_slot() -> None:
    tags = ["B-a", "I-a", "I-b", "O", "I-a", "B-a", "B-a", "I-a"]
    spans = [(i, i + 1) for i in range(len(tags))]
    assert [(s.name, s.start, s.end) for s in slots.decode_slots(tags, spans)] == \
        [("a", 0, 2), ("b", 2, 3), ("a", 4, 5), ("a", 5, 6), ("a", 6, 8)]


# ---------------------------------------------------------------- metrics


def test_metrics_on_hand_made_cases() -> None:
    assert metrics.accuracy(["a", "b", "c"], ["a", "b", "b"]) == pytest.approx(2 / 3)
    pred = [[("room", "kitchen"), ("level", "ten")], [("artist", "abba")], []]
    gold = [[("room", "kitchen"), ("level", "fifty")], [("artist", "abba")], [("room", "garage")]]
    f = metrics.slot_f1(pred, gold)  # 2 right of 3 predicted, of 4 gold
    assert (f["slots_correct"], f["slots_predicted"], f["slots_gold"]) == (2, 3, 4)
    assert f["slot_f1"] == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    # a gold slot matches once
    assert metrics.slot_f1([[("x", "a"), ("x", "a")]], [[("x", "a")]])["slots_correct"] == 1
    m = metrics.intent_slots(["A", "B", "A"], ["A", "B", "B"], pred, gold)
    assert m["intent_accuracy"] == pytest.approx(2 / 3) and m["frame_accuracy"] == pytest.approx(1 / 3)
    t = metrics.tag_metrics([["B-x", "I-x", "O", "B-y"]], [["B-x", "I-x", "O", "B-z"]])
    assert t["tag_accuracy"] == 0.75 and t["tag_f1"] == 0.5
    r = metrics.regression([1.0, 2.0, 3.0], [2.0, 4.0, 6.0])
    assert r["pearson"] == pytest.approx(1.0) and r["mse"] == pytest.approx(14 / 3)

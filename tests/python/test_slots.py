# SPDX-License-Identifier: Apache-2.0
"""Slot decoding: BIO tags + token spans to slot spans, C (slots.c) = Python (mcubert.slots).

Hand-made cases (accents, punctuation, sub-words, a slot at the end, invalid I-,
ill-formed UTF-8, empty text, pairs, capacity), tag-set errors, random tag
sequences C against Python, and SNIPS gold slots that survive the round trip
through word tags.
"""

from __future__ import annotations

import errno
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest

from mcubert.slots import B, I, O, Slot, SlotError, TagSet, decode_slots, parse_tag, slot_values
from mcubert.targets.ctokenizer import CSlotTags, CTokenizer, _lib, spans_to_c, to_bytes
from mcubert.targets.native import RuntimeErrno

VOCAB_REL = Path("vocab") / "bert-base-uncased-vocab.txt"
NAMES = ["O", "B-place", "I-place", "B-time", "I-time"]


@pytest.fixture(scope="module")
def ctok(data_dir: Path) -> CTokenizer:
    p = data_dir / VOCAB_REL
    if not p.exists():
        pytest.skip(f"{p} not found")
    return CTokenizer(p)


def _both(tags: TagSet, tag_ids: list[int], spans: list, cap: int | None = None) -> list[Slot]:
    """Decode with Python and C; assert they agree; return the slots."""
    want = decode_slots(tags, tag_ids, spans)
    n, got = CSlotTags(tags).decode(tag_ids, spans, cap)
    assert n == len(want)
    assert got == want[:cap], f"C {got}\nPy {want}"
    return want


def _decode(ctok: CTokenizer, text: str | bytes, word_tags: list[str], text_b: str | None = None,
            names: list[str] = NAMES, seed: int = 0) -> list[tuple[str, bytes]]:
    """Slots (name, bytes) of a text whose words carry word_tags; later pieces get random tags."""
    rng = random.Random(seed)
    tags = TagSet(names)
    _, _, spans = ctok.encode_with_spans(text, text_b)
    words = sorted({(s.text, s.word) for s in spans if s.word is not None})
    assert len(words) == len(word_tags), words
    tag_of = dict(zip(words, word_tags))
    tag_ids = [names.index(tag_of[(s.text, s.word)]) if s.word_start else
               rng.randrange(len(names)) for s in spans]
    slots = _both(tags, tag_ids, spans)
    texts = [to_bytes(text)] + ([] if text_b is None else [to_bytes(text_b)])
    return slot_values(tags, slots, texts)


def test_accents_and_case(ctok: CTokenizer) -> None:
    got = _decode(ctok, "Book a table at Café à Zürich", ["O"] * 4 + ["B-place", "I-place", "I-place"])
    assert got == [("place", "Café à Zürich".encode())]


def test_punctuation(ctok: CTokenizer) -> None:
    text = "is Babar: King of the Elephants, tonight?"
    tags = ["O", "B-place", "I-place", "I-place", "I-place", "I-place", "I-place", "O", "B-time", "O"]
    assert _decode(ctok, text, tags) == [("place", b"Babar: King of the Elephants"), ("time", b"tonight")]


def test_sub_words_take_their_first_piece_tag(ctok: CTokenizer) -> None:
    for seed in range(5):  # whatever the later pieces say
        got = _decode(ctok, "unaffable ZÜRICH unbelievably", ["B-place", "I-place", "B-time"], seed=seed)
        assert got == [("place", "unaffable ZÜRICH".encode()), ("time", b"unbelievably")]


def test_slot_at_the_end(ctok: CTokenizer) -> None:
    text = "weather in Zürich"
    got = _decode(ctok, text, ["O", "O", "B-place"])
    assert got == [("place", "Zürich".encode())] and text.encode().endswith(got[0][1])
    assert _decode(ctok, "now", ["B-time"]) == [("time", b"now")]


def test_invalid_i_starts_a_slot(ctok: CTokenizer) -> None:
    # I- after O, I- of another slot, B- right after B- of the same slot
    got = _decode(ctok, "a b c d e f", ["I-place", "O", "B-place", "I-time", "B-time", "B-time"])
    assert got == [("place", b"a"), ("place", b"c"), ("time", b"d"), ("time", b"e"), ("time", b"f")]
    got = _decode(ctok, "a b c", ["B-place", "I-place", "I-time"])
    assert got == [("place", b"a b"), ("time", b"c")]


def test_invalid_utf8(ctok: CTokenizer) -> None:
    text = b"go to Z\xffrich \xe2\x82 now\xff"
    assert _decode(ctok, text, ["O", "O", "B-place", "B-time"]) == [("place", b"Z\xffrich"), ("time", b"now")]


def test_empty_text(ctok: CTokenizer) -> None:
    assert _decode(ctok, "", []) == []
    assert _decode(ctok, b" \xff \xc0\x80 ", []) == []


def test_pair_slots_stay_in_their_text(ctok: CTokenizer) -> None:
    # I- at the start of the second text does not continue the first text's slot
    got = _decode(ctok, "from Paris", ["O", "B-place", "I-place", "I-place", "I-place"], text_b="Lyon at noon")
    assert got == [("place", b"Paris"), ("place", b"Lyon at noon")]
    got = _decode(ctok, "from Paris", ["O", "B-place", "I-place", "O", "B-time"], text_b="Lyon at noon")
    assert got == [("place", b"Paris"), ("place", b"Lyon"), ("time", b"noon")]


def test_capacity_and_count(ctok: CTokenizer) -> None:
    tags = TagSet(NAMES)
    _, _, spans = ctok.encode_with_spans("a b c d e")
    tag_ids = [0] + [1] * 5 + [0]
    for cap in (0, 1, 2, 5, 7):
        _both(tags, tag_ids, spans, cap)
    n, got = CSlotTags(tags).decode(tag_ids, spans, 2)
    assert n == 5 and [s.start for s in got] == [0, 2]


def test_tag_sets() -> None:
    t = TagSet(["O", "B-room", "I-room", "I-time", "B-time", "B-x-y"])
    assert t.kinds == [O, B, I, I, B, B] and t.slots == [0, 0, 0, 1, 1, 2]
    c = CSlotTags(t)
    assert c.n_slots == 3 == len(t.slot_names)
    assert [c.slot_name(i) for i in range(4)] == ["room", "time", "x-y", None]
    assert parse_tag("B-é") == (B, "é")
    for bad in (["O", "O"], ["B-a", "B-a"], [""], ["B"], ["B-"], ["X-a"], ["b-a"], ["o"], ["O", "I_a"], []):
        with pytest.raises(SlotError):
            TagSet(bad)
        with pytest.raises(RuntimeErrno, match="EINVAL"):
            CSlotTags(bad)


def test_decode_errors(ctok: CTokenizer) -> None:
    tags = TagSet(NAMES)
    _, _, spans = ctok.encode_with_spans("a b")
    with pytest.raises(SlotError):
        decode_slots(tags, [0, 5, 0, 0], spans)
    with pytest.raises(RuntimeErrno, match="EINVAL"):
        CSlotTags(tags).decode([0, 5, 0, 0], spans)
    assert CSlotTags(tags).decode([7, 0, 0, 9], spans) == (0, [])  # tags of [CLS]/[SEP] are not read
    lib = _lib()
    c = CSlotTags(tags)
    rec = spans_to_c(spans)
    ids = np.zeros(4, dtype=np.uint16)
    out = np.zeros(8, dtype=np.uint32)
    h = c._handle.ctypes.data
    assert lib.mcubert_slots_decode(None, ids.ctypes.data, rec.ctypes.data, 4, out.ctypes.data, 2) == -errno.EFAULT
    assert lib.mcubert_slots_decode(h, None, rec.ctypes.data, 4, out.ctypes.data, 2) == -errno.EFAULT
    assert lib.mcubert_slots_decode(h, ids.ctypes.data, rec.ctypes.data, 4, None, 2) == -errno.EFAULT
    assert lib.mcubert_slots_decode(h, None, None, 0, None, 0) == 0
    blank = np.zeros(4, dtype=np.uint64)
    assert lib.mcubert_slots_decode(blank.ctypes.data, ids.ctypes.data, rec.ctypes.data, 4, None, 0) == \
        -errno.EINVAL


def test_random_tags_c_equals_python(ctok: CTokenizer) -> None:
    rng = random.Random(12)
    texts = ["Café à Zürich, unbelievably [SEP] 中文 한국어", "", "a", b"x\xff\xfey z", "don't stop-me now!!",
             "add Aspro Mavro to my playlist by Bill Szymczyk"]
    n = 0
    for trial in range(300):
        k = rng.randint(1, 6)
        names = ["O"] + [f"{p}-s{i}" for i in range(k) for p in "BI"]
        rng.shuffle(names)
        tags = TagSet(names)
        a = rng.choice(texts)
        b = rng.choice(texts) if trial % 3 == 0 else None
        _, _, spans = ctok.encode_with_spans(a, b, max_len=rng.choice([512, 9, 3]))
        for _ in range(5):
            tag_ids = [rng.randrange(len(names)) for _ in spans]
            _both(tags, tag_ids, spans, rng.choice([None, 0, 1, 3]))
            n += 1
    print(f"{n} random tag sequences: C = Python")


def read_snips(data_dir: Path) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """SNIPS utterances and their gold slots (name, character start, end)."""
    out = []
    for f in sorted((data_dir / "nlu" / "snips").glob("train_*_full.json")):
        raw = f.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        for utterances in json.loads(text).values():
            for u in utterances:
                pos, gold, s = 0, [], ""
                for p in u["data"]:
                    if "entity" in p:
                        gold.append((p["entity"], pos, pos + len(p["text"])))
                    s += p["text"]
                    pos += len(p["text"])
                out.append((s, gold))
    return out


def test_snips_gold_slots_round_trip(ctok: CTokenizer, data_dir: Path) -> None:
    """Word tags from SNIPS's gold slots decode back to the same slot texts (where words allow)."""
    if not (data_dir / "nlu" / "snips").is_dir():
        pytest.skip("nlu/snips not found")
    data = read_snips(data_dir)
    names = ["O"] + sorted({f"{p}-{e}" for _, gold in data for e, _, _ in gold for p in "BI"})
    tags = TagSet(names)
    same = total = 0
    for text, gold in data:
        raw = text.encode()
        byte_gold = [(e, len(text[:a].encode()), len(text[:b].encode())) for e, a, b in gold]
        _, _, spans = ctok.encode_with_spans(text)
        tag_ids, prev = [], None
        for sp in spans:
            if not sp.word_start:
                tag_ids.append(0)
                continue
            hit = next((g for g in byte_gold if g[1] <= sp.start and sp.end <= g[2]), None)
            tag_ids.append(0 if hit is None else names.index(("I-" if hit is prev else "B-") + hit[0]))
            prev = hit
        slots = _both(tags, tag_ids, spans)
        want = [(e, text[a:b].strip()) for e, a, b in gold]
        got = [(tags.slot_name(s.slot), raw[s.start:s.end].decode()) for s in slots]
        same += got == want
        total += 1
    assert same > 0.99 * total
    print(f"SNIPS: gold slots of {same} of {total} utterances decoded back exactly")


def test_io_scheme_decodes_to_the_same_slots() -> None:
    """--slot-scheme io: every word of a slot tagged I-x; the decoder joins them into the same slots as BIO
    (slots of one name with a word between them stay apart); a BIO teacher's B-x mass moves to I-x."""
    import torch

    from mcubert.training.readers import Slot
    from mcubert.training.slots import decode_slots as decode_words
    from mcubert.training.slots import io_index, merge_begin_into_inside, word_tags

    text = "play the oyster bar then oyster bar now"
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    gold = [Slot("place", 9, 19), Slot("place", 25, 35)]
    bio, io = word_tags(spans, gold), word_tags(spans, gold, "io")
    assert bio == ["O", "O", "B-place", "I-place", "O", "B-place", "I-place", "O"]
    assert io == ["O", "O", "I-place", "I-place", "O", "I-place", "I-place", "O"]
    assert decode_words(io, spans) == decode_words(bio, spans) == gold

    tags = ["O", "B-a", "I-a", "B-b", "I-b"]
    assert io_index(tags) == [0, 2, 2, 4, 4]
    logits = torch.tensor([[0.0, 1.0, 2.0, 0.5, -1.0]])
    p, merged = torch.softmax(logits, -1)[0], merge_begin_into_inside(logits, io_index(tags)).exp()[0]
    assert torch.allclose(merged, torch.stack([p[0], 0 * p[1], p[1] + p[2], 0 * p[3], p[3] + p[4]]))

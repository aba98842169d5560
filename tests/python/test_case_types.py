# SPDX-License-Identifier: Apache-2.0
"""Case types (`mcubert train --case-types`, MCUB_FLAG_CASE_TYPES): each token's type is 1 when its word begins
with a capital. The rule is one: Python on characters (training), Python on bytes and C on bytes (the device,
`mcubert_tok_case_types`) agree on every code point and on real texts; the flag travels from the trained model
into the blob, where the host C runtime, the numpy reference and `mcubert_nlu_run` (host and emulated M7) read
the same types; bad spans and flags get their errno."""

from __future__ import annotations

import ctypes
import errno
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from test_cli import run_cli
from test_errors import header_field_offset, recrc
from test_nlu import _pieces
from test_train_tasks import _intent_slots, source  # noqa: F401 - source: the fixture

from conftest import ROOT
from mcubert.formats import blob as blobmod
from mcubert.formats.heads import Head
from mcubert.slots import SlotError, Span, capital_at, case_types, is_capital
from mcubert.targets import ctokenizer, nlu, qemu
from mcubert.targets.ctokenizer import CTokenizer
from mcubert.targets.native import Runtime, RuntimeErrno

FIXTURES = ROOT / "tests" / "fixtures" / "nlu"
VOCAB = FIXTURES / "vocab-nlu.txt"
TEXTS: list[str | bytes] = [
    *(ROOT / "samples" / "nlu" / "commands.txt").read_text(encoding="utf-8").splitlines(),
    "Play ABBA in the Bedroom!!", "play music by Café Tacvba", "Émile et Ölfusá × Þór ß ÿ", "E\u0301mile",
    "«Quoted» O'Neil, McDonald's U.S.A.", "", "   ", "\x00Hidden control", "ﬁre Straße İstanbul ǅ",
    b"bad \xff\xfe Utf-8 \xc3 Room", b"\xc3\x97 \xc3\x80 \xc3", "the " * 80,
]


def test_rule_on_bytes_is_the_rule_on_characters():
    for cp in [*range(0x300), *range(0x300, 0x110000, 97)]:
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        assert capital_at(ch.encode("utf-8"), 0) == is_capital(ch), hex(cp)
    assert [is_capital(c) for c in "AZaz\u00c0\u00d7\u00de\u00df\u0130"] == [1, 1, 0, 0, 1, 0, 1, 0, 0]


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_c_case_types_equal_python(text):
    tok = CTokenizer(VOCAB)
    _, _, spans = tok.encode_with_spans(text, None, max_len=64)
    raw = text if isinstance(text, bytes) else text.encode("utf-8")
    assert ctokenizer.case_types(raw, spans) == case_types(raw, spans)


def test_case_types_of_a_command():
    tok = CTokenizer(VOCAB)
    text = "Play ABBA in the Bedroom!!"
    ids, _, spans = tok.encode_with_spans(text, None, max_len=64)
    words = [text[s.start:s.end] if s.word is not None else None for s in spans]
    types = case_types(text.encode(), spans)
    want = {None: 0, "Play": 1, "in": 0, "the": 0, "!": 0}
    for w, t, s in zip(words, types, spans):
        if w in want:
            assert t == want[w], (w, t)
        elif s.word is not None:  # the pieces of ABBA and Bedroom, first or not
            assert t == 1, (w, t)


def test_case_types_errors():
    spans = [Span(0, 0, None, 0, False), Span(0, 4, 0, 0, True), Span(0, 3, 0, 1, True)]
    with pytest.raises(SlotError):
        case_types(b"Play", spans)
    with pytest.raises(RuntimeErrno) as e:  # a span of the second text
        ctokenizer.case_types(b"Play", spans)
    assert e.value.code == -errno.EINVAL
    with pytest.raises(RuntimeErrno) as e:  # a span past the text
        ctokenizer.case_types(b"Pl", spans[:2])
    assert e.value.code == -errno.EINVAL
    lib = ctokenizer._lib()
    out = np.zeros(2, dtype=np.uint8)
    assert lib.mcubert_tok_case_types(b"x", 1, None, 2, out.ctypes.data) == -errno.EFAULT
    assert lib.mcubert_tok_case_types(None, 3, None, 0, None) == -errno.EFAULT
    assert lib.mcubert_tok_case_types(None, 0, None, 0, None) == 0


@pytest.fixture(scope="module")
def cased(source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:  # noqa: F811
    """(model directory, blob) of a tiny joint model trained with --case-types, converted."""
    from mcubert import cli

    root = tmp_path_factory.mktemp("cased")
    out = root / "model"
    assert cli.main(_intent_slots(source, out, "--case-types", "--max-steps", "4")) == 0
    calib = root / "calib.txt"
    calib.write_text("\n".join(t for t in TEXTS if isinstance(t, str) and t.strip()) + "\n", encoding="utf-8")
    path = root / "model.mcub"
    assert cli.main(["convert", str(out), "-o", str(path), "--calib", str(calib), "--max-seq-len", "48"]) == 0
    return out, path.read_bytes()


def test_flag_travels_from_training_into_the_blob(cased):
    out, data = cased
    assert json.loads((out / "config.json").read_text())["mcubert_case_types"] is True
    b = blobmod.unpack(data)
    assert b.cfg.flags & blobmod.FLAG_CASE_TYPES and b.cfg.head == Head.INTENT_SLOTS
    rt = Runtime(data)
    rt.lib.mcubert_case_types.argtypes = [ctypes.c_void_p]
    assert rt.lib.mcubert_case_types(rt._handle.ctypes.data) == 1


def test_run_gives_case_types_and_engines_agree(cased, capsys):
    _, data = cased
    path = Path(cased[0]).parent / "model.mcub"
    text = "Play ABBA in the Bedroom"
    rc, out, _ = run_cli(["run", str(path), text, "--json"], capsys)
    got = json.loads(out)
    tok = CTokenizer(packed=bytes(blobmod.unpack(data).sections[int(blobmod.Sec.VOCAB)]))
    ids, _, spans = tok.encode_with_spans(text, None, max_len=48)
    assert rc == 0 and got["ids"] == ids and got["type_ids"] == case_types(text.encode(), spans)
    assert 1 in got["type_ids"]
    rc, ref_out, _ = run_cli(["run", str(path), text, "--json", "--engine", "ref"], capsys)
    ref = json.loads(ref_out)
    assert rc == 0 and ref["logits_q"] == got["logits_q"] and ref["tag_ids"] == got["tag_ids"]
    rc, _, err = run_cli(["run", str(path), "Play ABBA", "in the Bedroom"], capsys)
    assert rc == 1 and "case types" in err and len(err.strip().splitlines()) == 1


def test_native_nlu_reads_case_types(cased):
    _, data = cased
    assert nlu.frames(data, TEXTS) == [_pieces(data, t) for t in TEXTS]


@pytest.mark.qemu
def test_m7_nlu_equals_host_with_case_types(cased):
    if qemu.missing_prerequisites():
        pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(qemu.missing_prerequisites()))
    _, data = cased
    texts = TEXTS[:4] + ["Play ABBA in the Bedroom!!", b"bad \xff\xfe Utf-8 \xc3 Room"]
    host = nlu.frames(data, texts)
    m7 = nlu.frames(data, texts, target="m7")
    assert [{k: f[k] for k in host[0]} for f in m7] == host


@pytest.mark.parametrize("field,value", [("type_vocab", 1), ("head", int(Head.PAIR))])
def test_case_types_need_one_text_and_two_types(cased, field, value):
    _, data = cased
    bad = bytearray(data)
    code = dict((n, c) for n, c, _, _ in blobmod.HEADER_FIELDS)[field]
    struct.pack_into("<" + code, bad, header_field_offset(field), value)
    assert Runtime.init_errno(recrc(bad)) == -errno.EINVAL
    with pytest.raises(blobmod.BlobError):
        blobmod.unpack(recrc(bad))


def test_case_types_only_for_word_tasks(tmp_path, capsys):
    rc, _, err = run_cli(["train", "--task", "classify", "--case-types", "--train", str(FIXTURES / "nlu-mini.jsonl"),
                          "--out", str(tmp_path / "x"), "--vocab", str(VOCAB), "--max-steps", "1"], capsys)
    assert rc == 1 and "case types are for --task tag and intent-slots" in err


def test_null_handle_is_efault():
    lib = ctokenizer._lib()
    lib.mcubert_case_types.restype = ctypes.c_int
    lib.mcubert_case_types.argtypes = [ctypes.c_void_p]
    assert lib.mcubert_case_types(None) == -errno.EFAULT


def test_case_types_change_the_answer(cased):
    """The tiny model's type rows differ: without the case types the token logits would not be these."""
    _, data = cased
    b = blobmod.unpack(data)
    tok = CTokenizer(packed=bytes(b.sections[int(blobmod.Sec.VOCAB)]))
    text = "Play ABBA in the Bedroom"
    ids, zeros, spans = tok.encode_with_spans(text, None, max_len=48)
    rt = Runtime(data)
    rt.infer(ids, case_types(text.encode(), spans))
    with_case = np.array(rt.token_logits(len(ids), b.cfg.n_tags))
    rt.infer(ids, zeros)
    assert not np.array_equal(with_case, rt.token_logits(len(ids), b.cfg.n_tags))


def test_compress_keeps_case_types(tmp_path: Path) -> None:
    """compress a cased student, with the logits of an uncased teacher (which reads type 0): the compressed
    model and its blob read case types."""
    from test_compress_tasks import _teacher

    from mcubert import cli
    from mcubert.compression.budget import nonword_params

    train, dev = FIXTURES / "snips-mini", FIXTURES / "nlu-mini.jsonl"
    student = tmp_path / "student"
    assert cli.main(["train", "--task", "intent-slots", "--case-types", "--out", str(student), "--vocab", str(VOCAB),
                     "--train", str(train), "--dev", str(dev), "--layers", "2", "--hidden", "32", "--heads", "2",
                     "--ffn", "64", "--max-pos", "64", "--batch-size", "8", "--max-steps", "2", "--seed", "7",
                     "--no-progress"]) == 0
    uncased = _teacher(tmp_path, "intent-slots", train, dev, hidden=64, layers=3)
    budget = nonword_params(json.loads((student / "config.json").read_text()), 32) + 700
    out = tmp_path / "run"
    assert cli.main(["compress", "--out", str(out), "--teacher", str(student), "--logit-teacher", str(uncased),
                     "--train", str(train), "--dev", str(dev), "--vocab", str(VOCAB), "--param-budget", str(budget),
                     "--clusters", "2", "--bands", "8,20", "--max-pos", "32", "--iters", "2", "--max-steps", "3",
                     "--batch-size", "4", "--eval-every", "2", "--no-progress"]) == 0
    assert json.loads((out / "model" / "config.json").read_text())["mcubert_case_types"] is True
    path, calib = tmp_path / "model.mcub", tmp_path / "calib.txt"
    calib.write_text("Play some ABBA\nset the Kitchen lights to ten\n")
    assert cli.main(["convert", str(out / "model"), "-o", str(path), "--calib", str(calib), "--max-seq-len", "16"]) == 0
    assert blobmod.unpack(path.read_bytes()).cfg.flags & blobmod.FLAG_CASE_TYPES


SHIPPED = ROOT / "samples" / "nlu" / "model.mcub"
SHIPPED_TEXTS = ["Will the weather in Falcon Heights call for rain", "will the weather in falcon heights call for rain",
                 "Rate The Keys to the White House a zero", "add this song to my Road Trip playlist"]


def test_shipped_model_reads_case_types_on_host_and_m7():
    """samples/nlu/model.mcub reads case types: the host's mcubert_nlu_run equals the pieces with the Python
    types, and the emulated Cortex-M7 gives the host's frames."""
    data = SHIPPED.read_bytes()
    assert blobmod.unpack(data).cfg.flags & blobmod.FLAG_CASE_TYPES
    host = nlu.frames(data, SHIPPED_TEXTS)
    assert host == [_pieces(data, t) for t in SHIPPED_TEXTS]
    assert ("city", "Falcon Heights") in [(s["slot"], s["text"]) for s in host[0]["slots"]]
    if qemu.missing_prerequisites():
        pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(qemu.missing_prerequisites()))
    m7 = nlu.frames(data, SHIPPED_TEXTS, target="m7")
    assert [{k: f[k] for k in host[0]} for f in m7] == host


def test_tag_training_types_are_the_device_types():
    """A CoNLL word list gets the types the device computes on the words joined by spaces ("U.S." is four
    BertPreTokenizer words there)."""
    from mcubert.tokenization import make_tokenizer
    from mcubert.training.readers import TaggedWords
    from mcubert.training.tasks import Labels, task

    words = ("Play", "ABBA", "in", "the", "U.S.", "Bedroom", "café", "Émile")
    enc = task("tag", case_types=True).encode(make_tokenizer(VOCAB), [TaggedWords(words, ("O",) * len(words))],
                                              Labels([], ["O"]), 64)[0]
    text = " ".join(words)
    ids, _, spans = CTokenizer(VOCAB).encode_with_spans(text, None, max_len=64)
    assert enc.ids == ids and enc.types == ctokenizer.case_types(text.encode(), spans)
    assert task("tag").encode(make_tokenizer(VOCAB), [TaggedWords(words, ("O",) * len(words))], Labels([], ["O"]),
                              64)[0].types == [0] * len(ids)


def test_a_cased_teacher_needs_a_cased_student(tmp_path: Path, capsys) -> None:
    """train --teacher and compress --logit-teacher refuse a teacher with case types for a student without them
    (it would read type 0 everywhere): one line, exit 1."""
    from test_compress_tasks import _teacher

    from mcubert.compression.budget import nonword_params

    train, dev = FIXTURES / "snips-mini", FIXTURES / "nlu-mini.jsonl"
    common = ["--vocab", str(VOCAB), "--train", str(train), "--dev", str(dev), "--no-progress"]
    cased = tmp_path / "cased"
    shape = ["--layers", "2", "--hidden", "32", "--heads", "2", "--ffn", "64", "--max-pos", "64", "--batch-size", "8",
             "--max-steps", "2", "--seed", "7"]
    assert run_cli(["train", "--task", "intent-slots", "--case-types", "--out", str(cased), *shape, *common],
                   capsys)[0] == 0
    rc, _, err = run_cli(["train", "--task", "intent-slots", "--out", str(tmp_path / "s"), "--teacher", str(cased),
                          *shape, *common], capsys)
    assert rc == 1 and "the teacher reads case types" in err and len(err.strip().splitlines()) == 1
    plain = _teacher(tmp_path, "intent-slots", train, dev)
    budget = nonword_params(json.loads((plain / "config.json").read_text()), 32) + 700
    rc, _, err = run_cli(["compress", "--out", str(tmp_path / "run"), "--teacher", str(plain), "--logit-teacher",
                          str(cased), "--param-budget", str(budget), "--clusters", "2", "--bands", "8,20",
                          "--max-pos", "32", "--iters", "2", "--max-steps", "2", "--batch-size", "4", *common],
                         capsys)
    assert rc == 1 and "the teacher reads case types" in err and len(err.strip().splitlines()) == 1

# SPDX-License-Identifier: Apache-2.0
"""Text in, intent and slots out (mcubert_nlu_run, subsys/mcubert/nlu.c): on the host through ctypes it gives
the frames of the pieces it calls run one by one (C tokenizer spans, inference, token tags, the Python slot
rule), on the emulated Cortex-M7 (QEMU harness mode 4) the host's frames, and `mcubert eval BLOB` on
intent+slots data scores those frames with the training metrics. The blob is samples/nlu/tiny/model.mcub, the
random joint model the sample ships (labels meaningless, results exact)."""

from __future__ import annotations

import errno
import json

import pytest
from test_cli import run_cli

from conftest import FIXTURES, ROOT
from mcubert.formats import blob as blobmod
from mcubert.slots import case_types, slot_records
from mcubert.targets import nlu, qemu
from mcubert.targets.ctokenizer import CTokenizer
from mcubert.targets.native import Runtime, RuntimeErrno
from mcubert.targets.zephyr import check_stamp
from mcubert.training.metrics import intent_slots
from mcubert.training.readers import read_utterances

TINY = ROOT / "samples" / "nlu" / "tiny" / "model.mcub"
TEXTS = [*(ROOT / "samples" / "nlu" / "commands.txt").read_text(encoding="utf-8").splitlines(),
         "", "   ", "Play ABBA in the Bedroom!!", b"bad \xff\xfe utf-8 \xc3 room", "the " * 80]


def _pieces(data: bytes, text: str | bytes) -> dict:
    """The frame of one text from the pieces mcubert_nlu_run calls, one at a time (case types included)."""
    b = blobmod.unpack(data)
    meta = b.meta()
    tok = CTokenizer(packed=bytes(b.sections[int(blobmod.Sec.VOCAB)]))
    ids, types, spans = tok.encode_with_spans(text, None, max_len=b.cfg.max_seq_len)
    if b.cfg.flags & blobmod.FLAG_CASE_TYPES:  # the model reads each word's case as its type
        types = case_types(text if isinstance(text, bytes) else text.encode("utf-8"), spans)
    rt = Runtime(data)
    rt.infer(ids, types)
    label = int(rt.logits(b.cfg.n_labels).argmax())
    tags = [rt.token_label(t) for t in range(len(ids))]
    return {"intent": meta["labels"][label], "intent_id": label, "n_tokens": len(ids),
            "slots": slot_records(meta["tags"], tags, spans, [text])}


def test_native_nlu_equals_its_pieces():
    data = TINY.read_bytes()
    got = nlu.frames(data, TEXTS)
    assert got == [_pieces(data, t) for t in TEXTS]
    assert got[-1]["n_tokens"] == blobmod.unpack(data).cfg.max_seq_len  # truncated as mcubert_tok_encode
    assert got[4]["slots"] == [] and got[4]["n_tokens"] == 2  # "": [CLS] [SEP], no words, no slots


def test_nlu_init_needs_slot_tags():
    classify = (ROOT / "samples" / "sst2" / "tiny" / "model.mcub").read_bytes()
    with pytest.raises(RuntimeErrno) as e:
        nlu.NativeNlu(classify)
    assert e.value.code == -errno.ENOENT


def test_console_lines():
    frame = {"intent": "PlayMusic", "ids": [101, 1, 2, 102],
             "slots": [{"slot": "artist", "text": "Café Tacvba", "start": 14, "end": 26}]}
    assert nlu.console_lines(frame, "[2] ") == ["[2] intent PlayMusic, 4 tokens",
                                                '[2] slot artist "Café Tacvba" bytes [14, 26)']
    assert nlu.console_lines({"intent": None, "n_tokens": 2, "slots": []}) == ["intent none, 2 tokens"]


def test_shipped_tiny_blob_is_current():
    assert check_stamp(TINY) == []


def test_eval_blob_on_utterances(capsys):
    data_file = FIXTURES / "nlu" / "nlu-mini.jsonl"
    rc, out, err = run_cli(["eval", str(TINY), "--data", str(data_file), "--json", "--predictions"], capsys)
    assert rc == 0, err
    r = json.loads(out)
    utterances = read_utterances(data_file)
    frames = [_pieces(TINY.read_bytes(), u.text) for u in utterances]
    want = intent_slots([f["intent"] for f in frames], [u.intent for u in utterances],
                        [[(s["slot"], s["text"]) for s in f["slots"]] for f in frames],
                        [u.slot_texts() for u in utterances])
    assert {k: r[k] for k in want} == want
    assert r["examples"] == len(utterances) and r["predictions"] == frames and r["target"] == "host"


def test_eval_blob_user_errors(capsys):
    data_file = FIXTURES / "nlu" / "nlu-mini.jsonl"
    rc, _, err = run_cli(["eval", str(TINY), "--data", str(data_file), "--engine", "ref"], capsys)
    assert rc == 1 and err.startswith("mcubert: error: ") and "--engine c" in err
    classify = ROOT / "samples" / "sst2" / "tiny" / "model.mcub"
    rc, _, err = run_cli(["eval", str(classify), "--data", str(data_file)], capsys)
    assert rc == 1 and "has no slot tags" in err and len(err.strip().splitlines()) == 1
    rc, _, err = run_cli(["eval", str(classify), "--data", str(FIXTURES / "sst2-mini.tsv"), "--target", "m7"],
                         capsys)
    assert rc == 1 and "--target runs intent+slots data" in err


@pytest.mark.qemu
def test_nlu_on_m7_equals_host():
    if qemu.missing_prerequisites():
        pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(qemu.missing_prerequisites()))
    data = TINY.read_bytes()
    host = nlu.frames(data, TEXTS)
    m7 = nlu.frames(data, TEXTS, target="m7")
    assert [{k: f[k] for k in h} for h, f in zip(host, m7)] == host
    assert all(f["instructions"] > 0 and f["ram_total"] > f["arena_peak"] > 0 for f in m7)
    summary = nlu.target_summary(m7)
    assert summary["utterances"] == len(TEXTS) and summary["max_instructions"] >= summary["median_instructions"]

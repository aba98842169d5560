# SPDX-License-Identifier: Apache-2.0
"""Every head: the converter takes each Hugging Face class and the joint intent + slots format, the blob
carries head kind and label names (readable from C), the runtime refuses malformed head and LABELS
sections with specific errno values, format 1.0 blobs still run, and `mcubert run --json` prints the
head's fields. Bit-exactness of every head is in test_bitexact*.py (shapes pair, regress, tag, joint)."""

from __future__ import annotations

import errno
import json
import struct

import numpy as np
import pytest
import torch
from test_cli import N_VOCAB, VOCAB
from test_errors import header_field_offset, recrc

from conftest import FIXTURES
from mcubert.cli import main
from mcubert.conversion.checkpoint import CheckpointError, load
from mcubert.formats import blob, heads
from mcubert.formats.heads import Head
from mcubert.numerics.reference import Reference
from mcubert.targets.native import Runtime

INTENTS = ["AddToPlaylist", "BookRestaurant", "GetWeather"]
SLOTS = ["O", "B-city", "I-city", "B-time", "I-time"]


def bert_config(**kw):
    from transformers import BertConfig

    return BertConfig(vocab_size=N_VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=128, max_position_embeddings=64, **kw)


def save_hf(model, d, **extra) -> None:
    model.save_pretrained(d)
    if extra:
        cfg = json.loads((d / "config.json").read_text())
        (d / "config.json").write_text(json.dumps({**cfg, **extra}))
    (d / "vocab.txt").write_text(VOCAB.read_text())


def joint_dir(d):
    """A McubertForIntentSlots directory as the contract describes it (bert.* + the two classifiers)."""
    from safetensors.torch import save_file
    from transformers import BertModel

    torch.manual_seed(1)
    cfg = bert_config()
    bert = BertModel(cfg)
    state = {f"bert.{k}": v.contiguous() for k, v in bert.state_dict().items()}
    state["intent_classifier.weight"] = torch.randn(len(INTENTS), 64) * 0.2
    state["intent_classifier.bias"] = torch.randn(len(INTENTS)) * 0.02
    state["slot_classifier.weight"] = torch.randn(len(SLOTS), 64) * 0.2
    state["slot_classifier.bias"] = torch.randn(len(SLOTS)) * 0.02
    save_file(state, str(d / "model.safetensors"))
    conf = {**cfg.to_dict(), "architectures": ["McubertForIntentSlots"], "mcubert_task": "intent-slots",
            "intent_labels": INTENTS, "slot_labels": SLOTS}
    (d / "config.json").write_text(json.dumps(conf))
    (d / "vocab.txt").write_text(VOCAB.read_text())
    return d


@pytest.fixture(scope="module")
def hf_models(tmp_path_factory):
    """name -> (model directory, float torch model or None)."""
    pytest.importorskip("transformers")
    from transformers import BertForSequenceClassification, BertForTokenClassification

    root = tmp_path_factory.mktemp("heads")
    out = {}
    torch.manual_seed(0)
    m = BertForTokenClassification(bert_config(num_labels=len(SLOTS), id2label=dict(enumerate(SLOTS)),
                                               label2id={s: i for i, s in enumerate(SLOTS)})).eval()
    save_hf(m, root / "tag", mcubert_task="tag")
    out["tag"] = (root / "tag", m)
    m = BertForSequenceClassification(bert_config(num_labels=5)).eval()
    save_hf(m, root / "multi")
    out["multi"] = (root / "multi", m)
    m = BertForSequenceClassification(bert_config(num_labels=1, problem_type="regression")).eval()
    save_hf(m, root / "regress")
    out["regress"] = (root / "regress", m)
    m = BertForSequenceClassification(bert_config(num_labels=3)).eval()
    save_hf(m, root / "pair", mcubert_task="pair")
    out["pair"] = (root / "pair", m)
    (root / "joint").mkdir()
    out["joint"] = (joint_dir(root / "joint"), None)
    return out


@pytest.fixture(scope="module")
def converted(hf_models, tmp_path_factory):
    """name -> blob bytes, converted by the CLI."""
    root = tmp_path_factory.mktemp("blobs")
    res = {}
    for name, (d, _) in hf_models.items():
        out = root / f"{name}.mcub"
        assert main(["convert", str(d), "-o", str(out), "--calib", str(FIXTURES / "sst2-mini.tsv"),
                     "--max-seq-len", "32"]) == 0
        res[name] = out.read_bytes()
    return res


HEAD_OF = {"tag": Head.TAG, "multi": Head.CLASSIFY, "regress": Head.REGRESS, "pair": Head.PAIR,
           "joint": Head.INTENT_SLOTS}


@pytest.mark.parametrize("name", sorted(HEAD_OF))
def test_converter_heads_and_names(converted, name):
    b = blob.unpack(converted[name])
    rt = Runtime(converted[name])
    assert b.cfg.head == rt.head_kind == HEAD_OF[name]
    seq, tok = b.labels()
    assert rt.label_names(False, b.cfg.n_labels) == seq and rt.label_names(True, b.cfg.n_tags) == tok
    assert rt.label_names(False, b.cfg.n_labels + 1)[-1] is None
    if name in ("tag", "joint"):
        assert tok == SLOTS and b.cfg.n_tags == len(SLOTS)
        assert not b.cfg.flags & blob.FLAG_POOLER if name == "tag" else b.cfg.flags & blob.FLAG_POOLER
    if name == "joint":
        assert seq == INTENTS
    if name == "multi":
        assert seq == [f"LABEL_{i}" for i in range(5)] and b.cfg.n_tags == 0
    if name == "regress":
        assert b.cfg.n_labels == 1 and rt.logit_scale == pytest.approx(b.cfg.logit_scale) and b.cfg.logit_scale > 0


def test_int8_heads_follow_the_float_models(hf_models, converted):
    """The int8 blob's logits track transformers' float logits (token, sequence, regression)."""
    ids = [2, 7, 11, 5, 9, 13, 3]
    types = [0, 0, 0, 0, 1, 1, 1]
    for name in ("tag", "multi", "regress", "pair"):
        b = blob.unpack(converted[name])
        o = Reference(b).run(ids, types)
        with torch.no_grad():
            ref = hf_models[name][1](torch.tensor([ids]), token_type_ids=torch.tensor([types])).logits[0].numpy()
        if name == "tag":
            got = o.token_logits * b.cfg.token_logit_scale
        else:
            got = o.logits * b.cfg.logit_scale
        assert np.abs(got - ref).max() < 0.1 * max(1.0, np.abs(ref).max()), name


def test_joint_checkpoint_canonical_names(hf_models):
    ck = load(hf_models["joint"][0])
    assert ck.head == Head.INTENT_SLOTS and ck.labels == INTENTS and ck.tags == SLOTS
    assert ck.weights["token_classifier.weight"].shape == (len(SLOTS), 64)


def test_converter_refuses_what_it_cannot_run(hf_models, tmp_path, capsys):
    d = hf_models["joint"][0]
    conf = json.loads((d / "config.json").read_text())
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in ("model.safetensors", "vocab.txt"):
        (bad / f).write_bytes((d / f).read_bytes())
    (bad / "config.json").write_text(json.dumps({**conf, "slot_labels": SLOTS[:2]}))
    with pytest.raises(CheckpointError, match="slot_labels must list 5 names"):
        load(bad)
    assert main(["convert", str(bad), "-o", str(tmp_path / "x.mcub")]) == 1
    assert "slot_labels" in capsys.readouterr().err
    reg = hf_models["regress"][0]
    conf = json.loads((reg / "config.json").read_text())
    multi = tmp_path / "multi"
    multi.mkdir()
    (multi / "config.json").write_text(json.dumps({**conf, "num_labels": 3}))
    from safetensors.torch import load_file, save_file

    w = load_file(str(hf_models["multi"][0] / "model.safetensors"))
    w = {k: (v[:3] if k.startswith("classifier.") else v) for k, v in w.items()}
    save_file(w, str(multi / "model.safetensors"))
    with pytest.raises(CheckpointError, match="regression with 3 outputs"):
        load(multi)


def test_run_json_fields(converted, tmp_path, capsys):
    paths = {}
    for name in ("joint", "tag", "regress", "multi"):
        paths[name] = tmp_path / f"{name}.mcub"
        paths[name].write_bytes(converted[name])
    assert main(["run", str(paths["joint"]), "book a table in paris", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["intent"] in INTENTS and len(r["intent_logits"]) == 3
    assert len(r["tags"]) == len(r["ids"]) and set(r["tags"]) <= set(SLOTS)
    text = "book a table in paris"
    assert r["slots"] is not None  # BIO tags: each slot is the text between its byte offsets
    for s in r["slots"]:
        assert s["text"] == text.encode()[s["start"]:s["end"]].decode() and f"B-{s['slot']}" in SLOTS
    assert main(["run", str(paths["tag"]), "book a table in paris", "--json", "--engine", "ref"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert len(r["tags"]) == len(r["token_logits"]) == len(r["ids"]) and "intent" not in r
    assert main(["run", str(paths["regress"]), "a fine film", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["score"] == pytest.approx(r["logits"][0])
    assert main(["run", str(paths["multi"]), "a fine film", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert len(r["logits"]) == 5 and "tags" not in r and "score" not in r


# ---------------------------------------------------------------- malformed head and LABELS sections


def section_span(data: bytes, sid: int) -> tuple[int, int]:
    h = blob.unpack(data).header
    for i in range(int(h["section_count"])):
        s, off, size, _ = struct.unpack_from(blob.SECTION_ENTRY_FORMAT, data,
                                             int(h["section_offset"]) + i * blob.SECTION_ENTRY_SIZE)
        if s == sid:
            return off, size
    raise KeyError(sid)


@pytest.fixture(scope="module")
def joint(blob_of) -> bytes:
    return blob_of("joint")[1]


def put(data: bytes, offset: int, fmt: str, *values) -> bytes:
    bad = bytearray(data)
    struct.pack_into(fmt, bad, offset, *values)
    return recrc(bad)


@pytest.mark.parametrize("head, err", [(9, errno.ENOTSUP), (Head.TAG, errno.EINVAL), (Head.REGRESS, errno.EINVAL),
                                       (Head.CLASSIFY, errno.EINVAL), (Head.NONE, errno.EINVAL)])
def test_head_kind_that_does_not_fit_is_refused(joint, head, err):
    bad = put(joint, header_field_offset("head"), "<H", int(head))
    assert Runtime.init_errno(bad) == -err
    with pytest.raises(blob.BlobError, match="head"):
        blob.unpack(bad)


def test_token_flag_without_tags_is_einval(joint):
    bad = put(joint, header_field_offset("n_tags"), "<H", 0)
    assert Runtime.init_errno(bad) == -errno.EINVAL
    with pytest.raises(blob.BlobError):
        blob.unpack(bad)


def labels_damage(data: bytes, how: str) -> bytes:
    off, size = section_span(data, blob.Sec.LABELS)
    n_seq, n_tok = struct.unpack_from("<II", data, off)
    first = off + heads.LABELS_HEADER_SIZE
    if how == "count":
        return put(data, off, "<I", n_seq + 1)
    if how == "offset_past_end":
        return put(data, first + 4, "<I", size)
    if how == "offset_into_table":
        return put(data, first, "<I", 4)
    if how == "no_nul":
        return put(data, off + size - 1, "<B", ord("x"))
    if how == "table_past_end":
        return put(data, off + 4, "<I", 0x10000000)
    raise ValueError(how)


@pytest.mark.parametrize("how", ["count", "offset_past_end", "offset_into_table", "no_nul", "table_past_end"])
def test_malformed_labels_is_einval(joint, how):
    bad = labels_damage(joint, how)
    assert Runtime.init_errno(bad) == -errno.EINVAL
    with pytest.raises(blob.BlobError):
        blob.unpack(bad)


def test_labels_round_trip_and_limits():
    raw = heads.pack_labels(["a", "ünï"], ["O", "B-x", "I-x"])
    assert heads.unpack_labels(raw, 2, 3) == (["a", "ünï"], ["O", "B-x", "I-x"])
    assert heads.unpack_labels(heads.pack_labels([], ["O"]), 4, 1) == ([], ["O"])
    with pytest.raises(heads.LabelsError):
        heads.pack_labels(["a\0b"], [])
    with pytest.raises(heads.LabelsError):
        heads.pack_labels(["x" * 256], [])


def test_format_1_0_blob_still_runs(blob_of):
    """A 1.0 blob (head, n_tags and logit scales were reserved zeros) reads as sequence classification."""
    _, data = blob_of("odd")
    old = bytearray(data)
    struct.pack_into("<H", old, header_field_offset("version_minor"), 0)
    for field, fmt in (("head", "<H"), ("n_tags", "<H"), ("logit_scale", "<f"), ("token_logit_scale", "<f")):
        struct.pack_into(fmt, old, header_field_offset(field), 0)
    old = recrc(old)
    b = blob.unpack(old)
    assert b.cfg.head == Head.CLASSIFY and b.cfg.logit_scale == 0
    rt, new = Runtime(old), Runtime(data)
    ids = np.arange(20) % b.cfg.vocab_size
    rt.infer(ids)
    new.infer(ids)
    assert rt.head_kind == Head.CLASSIFY and rt.logit_scale == 0
    np.testing.assert_array_equal(rt.logits(3), new.logits(3))


def test_token_outputs_errno(blob_of, joint):
    rt = Runtime(joint)
    assert rt.token_label(0) == -errno.ENODATA
    rt.infer([1, 2, 3])
    assert rt.token_label(3) == -errno.ERANGE
    assert rt.token_label(2) >= 0
    plain = Runtime(blob_of("odd")[1])
    plain.infer([1, 2, 3])
    assert plain.token_label(0) == -errno.ENOENT and plain.token_logits(3, 1) is None

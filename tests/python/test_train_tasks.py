# SPDX-License-Identifier: Apache-2.0
"""`mcubert train --task ...` on tiny fixtures: the task model format it writes (the NLU contract), resume,
distillation from a teacher of the same task, and `mcubert eval` of the result."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import mcubert  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

pytest.importorskip("torch")
pytest.importorskip("transformers")

from mcubert import cli, training  # noqa: E402
from mcubert.conversion import checkpoint  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nlu"
VOCAB = FIXTURES / "vocab-nlu.txt"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small "pretrained" BertModel with the fixtures' vocabulary (head size 16, like the students')."""
    from safetensors.numpy import save_file

    root = tmp_path_factory.mktemp("source")
    n = len(VOCAB.read_text().split())
    src = checkpoint.random_checkpoint(vocab_size=n, hidden=64, n_layers=3, n_heads=4, ffn=128, max_pos=64,
                                       n_labels=0, seed=3)
    save_file(src.weights, str(root / "model.safetensors"))
    (root / "config.json").write_text(json.dumps(src.config))
    return root


def _argv(source: Path, out: Path, task: str, *extra: str) -> list[str]:
    return ["train", "--task", task, "--out", str(out), "--vocab", str(VOCAB), "--init-from", str(source),
            "--layers", "2", "--hidden", "32", "--heads", "2", "--ffn", "64", "--max-pos", "64",
            "--batch-size", "8", "--lr", "3e-3", "--seed", "7", "--no-progress", *extra]


def _weights(out: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(out / "model.safetensors"))


def _config(out: Path) -> dict:
    return json.loads((out / "config.json").read_text())


def _intent_slots(source: Path, out: Path, *extra: str) -> list[str]:
    return _argv(source, out, "intent-slots", "--train", str(FIXTURES / "snips-mini"), "--holdout", "2",
                 "--max-steps", "8", *extra)


def test_intent_slots_writes_the_contract_format(source: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "is"
    assert cli.main(_intent_slots(source, out)) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["task"] == "intent-slots" and summary["finished"] and summary["step"] == 8
    cfg = _config(out)
    assert cfg["architectures"] == ["McubertForIntentSlots"] and cfg["mcubert_task"] == "intent-slots"
    assert cfg["intent_labels"] == ["PlayMusic", "SetLevel"]
    assert cfg["slot_labels"] == ["O", "B-artist", "I-artist", "B-level", "I-level", "B-room", "I-room"]
    w = _weights(out)
    assert w["intent_classifier.weight"].shape == (2, 32) and w["intent_classifier.bias"].shape == (2,)
    assert w["slot_classifier.weight"].shape == (7, 32) and w["slot_classifier.bias"].shape == (7,)
    assert "bert.pooler.dense.weight" in w and all(k.startswith(("bert.", "intent_", "slot_")) for k in w)
    assert (out / "vocab.txt").is_file()
    held = training.readers.read_jsonl(out / "heldout.jsonl")  # 2 per intent, fixed seed
    assert sorted(u.intent for u in held) == ["PlayMusic", "PlayMusic", "SetLevel", "SetLevel"]
    meta = json.loads((out / training.META_FILE).read_text())
    assert [h["step"] for h in meta["history"]] == [4, 8] and "slot_f1" in meta["history"][0]

    assert cli.main(["eval", str(out), "--data", str(FIXTURES / "nlu-mini.jsonl"), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["task"] == "intent-slots" and r["examples"] == 4 and r["slots_gold"] == 6
    assert 0 <= r["intent_accuracy"] <= 1 and 0 <= r["slot_f1"] <= 1

    # distillation from a teacher of the same task; a teacher of another task is refused
    kd = tmp_path / "kd"
    assert cli.main(_intent_slots(source, kd, "--teacher", str(out), "--max-steps", "2")) == 0
    tag = tmp_path / "tag"
    assert cli.main(_argv(source, tag, "tag", "--train", str(FIXTURES / "tags-mini.conll"), "--dev",
                          str(FIXTURES / "tags-mini.conll"), "--max-steps", "2")) == 0
    assert cli.main(_intent_slots(source, tmp_path / "bad", "--teacher", str(tag))) == 1
    assert "the teacher's task is tag" in capsys.readouterr().err

    # IO slot targets, distilled from the BIO model: the scheme is recorded for compress, the tag set is BIO
    io = tmp_path / "io"
    assert cli.main(_intent_slots(source, io, "--slot-scheme", "io", "--teacher", str(out), "--max-steps", "2")) == 0
    assert _config(io)["mcubert_slot_scheme"] == "io" and _config(out)["mcubert_slot_scheme"] == "bio"
    assert _config(io)["slot_labels"] == cfg["slot_labels"]


def test_intent_slots_resume_matches_uninterrupted_run(source: Path, tmp_path: Path) -> None:
    full, part = tmp_path / "full", tmp_path / "part"
    assert cli.main(_intent_slots(source, full)) == 0
    assert cli.main(_intent_slots(source, part, "--stop-after", "5")) == 0
    assert (part / training.STATE_FILE).exists()
    assert cli.main(_intent_slots(source, part, "--resume")) == 0
    wa, wb = _weights(full), _weights(part)
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_tag_pair_and_regress_heads(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tag = tmp_path / "tag"
    conll = str(FIXTURES / "tags-mini.conll")
    assert cli.main(_argv(source, tag, "tag", "--train", conll, "--dev", conll, "--max-steps", "2")) == 0
    cfg, w = _config(tag), _weights(tag)
    assert cfg["architectures"] == ["BertForTokenClassification"] and cfg["mcubert_task"] == "tag"
    assert cfg["id2label"] == {"0": "O", "1": "B-level", "2": "I-level", "3": "B-room", "4": "I-room"}
    assert w["classifier.weight"].shape == (5, 32) and not any("pooler" in k for k in w)
    capsys.readouterr()
    assert cli.main(["eval", str(tag), "--data", conll, "--json"]) == 0
    assert {"tag_accuracy", "tag_f1"} <= set(json.loads(capsys.readouterr().out))

    rows = [("play some abba", "play music by queen", "1"), ("set the lights to ten", "dim the lights", "1"),
            ("play some abba", "dim the lights", "0"), ("set the garage lights", "play queen", "0")] * 4
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{a}\t{b}\t{y}\n" for a, b, y in rows))
    pair = tmp_path / "pair"
    assert cli.main(_argv(source, pair, "pair", "--train", str(pairs), "--holdout", "2", "--max-steps", "2")) == 0
    cfg = _config(pair)
    assert cfg["architectures"] == ["BertForSequenceClassification"] and cfg["mcubert_task"] == "pair"
    assert _weights(pair)["classifier.weight"].shape == (2, 32)

    scores = tmp_path / "scores.tsv"
    scores.write_text("".join(f"{a}\t{b}\t{float(y) * 4 + i % 3}\n" for i, (a, b, y) in enumerate(rows)))
    reg = tmp_path / "reg"
    assert cli.main(_argv(source, reg, "regress", "--train", str(scores), "--holdout", "4", "--max-steps", "2")) == 0
    cfg = _config(reg)
    assert (cfg["num_labels"] if "num_labels" in cfg else len(cfg["id2label"])) == 1
    assert cfg["problem_type"] == "regression" and cfg["mcubert_task"] == "regress"
    assert _weights(reg)["classifier.weight"].shape == (1, 32)
    capsys.readouterr()
    assert cli.main(["eval", str(reg), "--data", str(scores), "--json"]) == 0
    assert {"mse", "pearson"} <= set(json.loads(capsys.readouterr().out))


def test_task_errors_are_one_line(source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "play abba", "intent": "PlayMusic"}\n{"text": "x", "slots": 3}\n')
    assert cli.main(_argv(source, tmp_path / "o", "intent-slots", "--train", str(bad), "--holdout", "1")) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: \"slots\" must be a list" in err and "Traceback" not in err
    assert cli.main(_argv(source, tmp_path / "o", "intent-slots", "--train", str(FIXTURES / "nlu-mini.jsonl"))) == 1
    assert "no dev set" in capsys.readouterr().err
    scores = tmp_path / "scores.tsv"
    scores.write_text("play abba\t1.5\nplay queen\thigh\n")
    assert cli.main(_argv(source, tmp_path / "o", "regress", "--train", str(scores), "--holdout", "1")) == 1
    assert f"{scores}:2: regression label 'high' is not a number" in capsys.readouterr().err

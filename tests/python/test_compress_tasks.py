# SPDX-License-Identifier: Apache-2.0
"""`mcubert search`, `distill` and `compress` for every head (classify, pair, regress, tag, intent-slots):
each task's data and metrics, the compressed model written as a task model directory that `mcubert convert`
takes, and distillation from a larger teacher of the same task (`--logit-teacher`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES as ALL_FIXTURES

pytest.importorskip("torch")
pytest.importorskip("transformers")

from mcubert import cli  # noqa: E402
from mcubert.compression import model_io  # noqa: E402
from mcubert.compression.budget import nonword_params  # noqa: E402
from mcubert.conversion import checkpoint  # noqa: E402
from mcubert.formats import blob as blobmod  # noqa: E402

FIXTURES = ALL_FIXTURES / "nlu"
VOCAB = FIXTURES / "vocab-nlu.txt"
ROWS = [("play some abba", "play music by queen", "1"), ("set the lights to ten", "dim the lights", "1"),
        ("play some abba", "dim the lights", "0"), ("set the garage lights", "play queen", "0")] * 4


def _data(root: Path, task: str) -> tuple[Path, Path]:
    """(train, dev) files of a task."""
    if task == "intent-slots":
        return FIXTURES / "snips-mini", FIXTURES / "nlu-mini.jsonl"
    if task == "tag":
        return FIXTURES / "tags-mini.conll", FIXTURES / "tags-mini.conll"
    path = root / f"{task}.tsv"
    if task == "classify":
        path.write_text("".join(f"{a}\t{y}\n" for a, _, y in ROWS))
    elif task == "pair":
        path.write_text("".join(f"{a}\t{b}\t{y}\n" for a, b, y in ROWS))
    else:
        path.write_text("".join(f"{a}\t{b}\t{float(y) * 4 + i % 3}\n" for i, (a, b, y) in enumerate(ROWS)))
    return path, path


def _teacher(root: Path, task: str, train: Path, dev: Path, hidden: int = 32, layers: int = 2) -> Path:
    out = root / f"teacher-{task}-{hidden}x{layers}"
    assert cli.main(["train", "--task", task, "--out", str(out), "--vocab", str(VOCAB), "--train", str(train),
                     "--dev", str(dev), "--layers", str(layers), "--hidden", str(hidden), "--heads", "2",
                     "--ffn", "64", "--max-pos", "64", "--batch-size", "8", "--max-steps", "2", "--seed", "7",
                     "--no-progress"]) == 0
    return out


@pytest.mark.parametrize("task", ["classify", "pair", "regress", "tag", "intent-slots"])
def test_compress_every_head_then_convert(task: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    train, dev = _data(tmp_path, task)
    teacher = _teacher(tmp_path, task, train, dev)
    config = json.loads((teacher / "config.json").read_text())
    budget = nonword_params(config, 32) + 700
    out = tmp_path / "run"
    capsys.readouterr()
    assert cli.main(["compress", "--out", str(out), "--teacher", str(teacher), "--train", str(train), "--dev",
                     str(dev), "--vocab", str(VOCAB), "--param-budget", str(budget), "--clusters", "2",
                     "--bands", "8,20", "--max-pos", "32", "--iters", "2", "--max-steps", "3", "--batch-size", "4",
                     "--eval-every", "2", "--no-progress"]) == 0
    record = json.loads((out / "finetune.json").read_text())
    metrics = record["history"][-1]["dev_metrics"]
    expect = {"classify": "accuracy", "pair": "accuracy", "regress": "pearson", "tag": "tag_f1",
              "intent-slots": "slot_f1"}[task]
    assert expect in metrics
    assert model_io.describe(out / "model.pt")["params"] <= budget
    # the task model directory: the contract's config and heads, read by the converter
    saved = json.loads((out / "model" / "config.json").read_text())
    assert saved["mcubert_task"] == task and saved["architectures"] == config["architectures"]
    assert saved["mcubert_embedding"]["kind"] == "clustered_low_rank"
    ck = checkpoint.load(out / "model")
    assert ck.clustered and ck.config["mcubert_task"] == task
    blob, calib = tmp_path / "model.mcub", tmp_path / "calib.txt"
    calib.write_text("play some abba\nset the kitchen lights to ten\ndim the lights\n")
    assert cli.main(["convert", str(out / "model"), "-o", str(blob), "--calib", str(calib), "--max-seq-len", "16"]) == 0
    b = blobmod.unpack(blob.read_bytes())
    meta = b.meta()
    if task == "intent-slots":
        assert meta["labels"] == saved["intent_labels"] and meta["tags"] == saved["slot_labels"]
    elif task == "tag":
        assert meta["tags"] == [saved["id2label"][str(i)] for i in range(len(saved["id2label"]))]


def test_search_and_distill_from_a_larger_teacher_of_the_task(tmp_path: Path) -> None:
    """intent-slots: the search compresses the student-shaped teacher (its FFN width chosen by short proxy
    distillations), distillation adds a wider teacher's intent and slot logits (hidden states from the
    student-shaped one)."""
    train, dev = _data(tmp_path, "intent-slots")
    small = _teacher(tmp_path, "intent-slots", train, dev)
    large = _teacher(tmp_path, "intent-slots", train, dev, hidden=64, layers=3)
    config = json.loads((small / "config.json").read_text())
    out = tmp_path / "s"
    common = ["--train", str(train), "--dev", str(dev), "--vocab", str(VOCAB), "--no-progress"]
    assert cli.main(["search", "--out", str(out), "--teacher", str(small), "--param-budget",
                     str(nonword_params(config, 32) + 700), "--clusters", "2", "--bands", "8,20", "--max-pos", "32",
                     "--iters", "2", "--ffn", "32,64", "--shape-steps", "2"] + common) == 0
    searched = json.loads((out / "search.json").read_text())
    assert searched["score"] == "intent_slot_mean" and searched["chosen_ffn"] in (32, 64)
    assert cli.main(["distill", "--init", str(out / "init.pt"), "--teacher", str(small), "--logit-teacher",
                     str(large), "--out", str(out), "--max-steps", "2", "--batch-size", "4", "--kd-alpha", "0.5"]
                    + common) == 0
    record = json.loads((out / "finetune.json").read_text())
    assert record["finished"] and {"intent_accuracy", "slot_f1"} <= set(record["history"][-1]["dev_metrics"])
    assert (out / "model" / "model.safetensors").is_file()

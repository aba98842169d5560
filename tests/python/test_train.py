# SPDX-License-Identifier: Apache-2.0
"""Smoke test of `mcubert train` (the command and the mcubert.training library) on a synthetic task.

It runs, is deterministic, resumes exactly and writes a model that checkpoint.load accepts.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import mcubert  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from mcubert import cli, training  # noqa: E402
from mcubert.conversion import checkpoint  # noqa: E402

POS = ["good", "great", "fine", "lovely", "fun", "moving", "best", "warm"]
NEG = ["bad", "awful", "dull", "boring", "worst", "flat", "weak", "cold"]
FILL = ["the", "a", "film", "movie", "is", "was", "very", "quite", "and", "story", "acting", "plot", "it", "not"]


def _write_task(root: Path) -> dict[str, Path]:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ",", "."] + POS + NEG + FILL
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    rng = random.Random(1)

    def rows(n: int) -> str:
        out = ["sentence\tlabel"]
        for _ in range(n):
            y = rng.randint(0, 1)
            words = [rng.choice(FILL) for _ in range(rng.randint(2, 12))]
            words.insert(rng.randint(0, len(words)), rng.choice(POS if y else NEG))
            out.append(" ".join(words) + " \t" + str(y))
        return "\n".join(out) + "\n"

    (root / "train.tsv").write_text(rows(200))
    (root / "dev.tsv").write_text(rows(40))
    # a small "pretrained" source model with the same vocabulary (head size 16, like the student's)
    src = checkpoint.random_checkpoint(vocab_size=len(vocab), hidden=64, n_layers=3, n_heads=4, ffn=128,
                                       max_pos=64, n_labels=0, seed=3)
    from safetensors.numpy import save_file

    (root / "source").mkdir()
    save_file(src.weights, str(root / "source" / "model.safetensors"))
    (root / "source" / "config.json").write_text(json.dumps(src.config))
    return {"train": root / "train.tsv", "dev": root / "dev.tsv", "vocab": root / "vocab.txt",
            "source": root / "source"}


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _write_task(tmp_path_factory.mktemp("task"))


def _argv(task: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["train", "--out", str(out), "--train", str(task["train"]), "--dev", str(task["dev"]),
            "--vocab", str(task["vocab"]), "--init-from", str(task["source"]),
            "--layers", "2", "--hidden", "32", "--heads", "2", "--ffn", "64", "--max-pos", "64",
            "--batch-size", "8", "--max-steps", "20", "--lr", "3e-3", "--seed", "7", "--no-progress", *extra]


def _weights(out: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(out / "model.safetensors"))


def _same(a: Path, b: Path) -> bool:
    wa, wb = _weights(a), _weights(b)
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_bucket_batches_cover_every_sentence_once() -> None:
    lengths = [random.Random(i).randint(3, 40) for i in range(1000)]
    batches = training.epoch_batches(lengths, 32, seed=5, epoch=2)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(1000))
    assert batches == training.epoch_batches(lengths, 32, seed=5, epoch=2)
    assert batches != training.epoch_batches(lengths, 32, seed=5, epoch=3)
    # length bucketing: much less padding than random batches
    pad = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    assert pad < 1.15 * sum(lengths)


def test_train_runs_deterministic_and_loadable(task: dict[str, Path], tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert cli.main(_argv(task, a, "--eval-every", "10")) == 0
    assert cli.main(_argv(task, b, "--eval-every", "10")) == 0
    assert _same(a, b), "same seed, different weights"

    ck = checkpoint.load(a)
    shape = ck.shape
    assert (shape.n_layers, shape.hidden, shape.n_heads, shape.ffn, shape.n_labels) == (2, 32, 2, 64, 2)
    assert ck.labels == ["negative", "positive"]
    assert ck.config["hidden_act"] == "gelu"
    assert (a / "vocab.txt").read_text() == task["vocab"].read_text()
    assert not (a / training.STATE_FILE).exists()
    meta = json.loads((a / training.META_FILE).read_text())
    assert [h["step"] for h in meta["history"]] == [10, 20]
    assert meta["best_dev_accuracy"] == max(h["dev_accuracy"] for h in meta["history"])
    # the word embeddings start as the PCA projection of the source's; the encoder as its truncation
    assert meta["init"]["encoder"] == "minilm" and len(meta["init"]["source_layers"]) == 2

    c = tmp_path / "c"
    assert cli.main(_argv(task, c, "--seed", "8")) == 0
    assert not _same(a, c), "different seeds, same weights"


def test_resume_matches_uninterrupted_run(task: dict[str, Path], tmp_path: Path) -> None:
    full, part = tmp_path / "full", tmp_path / "part"
    # 20 steps of 25 per epoch; evaluate only at the end so the best model is the last one
    assert cli.main(_argv(task, full)) == 0
    assert cli.main(_argv(task, part, "--stop-after", "7")) == 0
    assert (part / training.STATE_FILE).exists() and not (part / "model.safetensors").exists()
    assert cli.main(_argv(task, part, "--resume")) == 0
    assert _same(full, part), "resumed run differs from the uninterrupted one"


def test_random_init_and_errors(task: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert cli.main(_argv(task, out, "--random-init", "--max-steps", "3")) == 0
    assert checkpoint.load(out).shape.hidden == 32
    # a student wider than its source cannot be projected
    assert cli.main(_argv(task, tmp_path / "w", "--hidden", "128", "--heads", "2", "--ffn", "64")) == 1


def test_a_student_of_the_source_shape_starts_as_the_source(task: dict[str, Path]) -> None:
    """Fine-tuning the source itself (e.g. `--shape minilm-l6`, the teacher): its weights are copied unchanged."""
    from transformers import BertModel

    cfg = training.TrainConfig(out=Path("unused"), train=task["train"], dev=task["dev"], vocab=task["vocab"],
                            init_from=task["source"], layers=3, hidden=64, heads=4, ffn=128, max_pos=64)
    model, summary = training.build_model(cfg, vocab_size=len(task["vocab"].read_text().split()))
    assert summary["encoder"] == "copy"
    src = BertModel.from_pretrained(str(task["source"])).eval()
    ids = torch.tensor([[2, 9, 14, 20, 3]])
    with torch.no_grad():
        torch.testing.assert_close(model.bert.eval()(input_ids=ids).last_hidden_state,
                                   src(input_ids=ids).last_hidden_state, rtol=0, atol=0)

# SPDX-License-Identifier: Apache-2.0
"""The one data reader (mcubert.training.data) and the one tokenizer factory (mcubert.tokenization)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

try:
    import mcubert  # noqa: F401
except ImportError:  # running from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from mcubert import tokenization  # noqa: E402
from mcubert.training import DataError, TrainError, data  # noqa: E402

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film", "is", "the", "?", "."]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_single_sentences_with_labels(tmp_path: Path) -> None:
    p = _write(tmp_path, "sst.tsv", "sentence\tlabel\ngood film \t1\n\nbad film\t0\n")
    ex = data.read_examples(p)
    assert [(e.text, e.text_b, e.label, e.line) for e in ex] == [("good film", None, "1", 2),
                                                                  ("bad film", None, "0", 4)]
    assert data.read_tsv(p) == (["good film", "bad film"], [1, 0])
    assert data.read_tsv(p, limit=1) == (["good film"], [1])


def test_pairs_and_plain_text(tmp_path: Path) -> None:
    p = _write(tmp_path, "qnli.tsv",
               "index\tquestion\tsentence\tlabel\n0\tis it good?\tthe film is good.\tentailment\n")
    (e,) = data.read_examples(p)
    assert (e.text, e.text_b, e.label, e.pair) == ("is it good?", "the film is good.", "entailment",
                                                    ("is it good?", "the film is good."))
    assert data.label_index(e.label, ["entailment", "not_entailment"]) == 0
    with pytest.raises(TrainError, match="pairs"):
        data.read_tsv(p)
    t = _write(tmp_path, "lines.txt", "good film\n\n  bad film  \n")
    assert [(e.text, e.line) for e in data.read_examples(t)] == [("good film", 1), ("bad film", 3)]


@pytest.mark.parametrize("text, match", [
    ("", "empty tsv"),
    ("text\tlabel\nx\t1\n", "'sentence' column"),
    ("sentence\tlabel\ngood\t1\nbad\n", r"bad\.tsv:3: 1 tab-separated fields"),
    ("sentence\tlabel\ngood\tx\n", r"bad\.tsv:2: label 'x' is not an integer"),
    ("sentence\tlabel\ngood\t2\n", r"bad\.tsv:2: label 2 is not 0 or 1"),
    ("sentence\tlabel\n\n", "no examples"),
    ("sentence\n good\n", "header must name 'sentence' and 'label'"),
])
def test_malformed_training_files(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(DataError, match=match):
        data.read_tsv(_write(tmp_path, "bad.tsv", text))


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        data.read_examples(tmp_path / "missing.tsv")


def test_hf_tokenizer_interface(tmp_path: Path) -> None:
    vocab = _write(tmp_path, "vocab.txt", "\n".join(VOCAB) + "\n")
    tok = tokenization.make_tokenizer(vocab, "hf")
    assert tok.vocab_size == len(VOCAB) and tok.get_vocab()["good"] == 5
    assert tok.encode("Good film") == ([2, 5, 7, 3], [0, 0, 0, 0])
    assert tok.encode("good", "bad film", max_len=5) == ([2, 5, 3, 6, 3], [0, 0, 0, 1, 1])
    assert tok.encode_batch(["good", ("is it", "bad"), ("film", None), b"bad"], max_len=8) == [
        ([2, 5, 3], [0, 0, 0]), ([2, 8, 1, 3, 6, 3], [0, 0, 0, 0, 1, 1]), ([2, 7, 3], [0, 0, 0]),
        ([2, 6, 3], [0, 0, 0])]
    assert tokenization.encode_ids(tok, ["the film is good ."], 4) == [[2, 9, 7, 3]]
    assert data.encode(data.make_tokenizer(vocab), ["the film"], 8) == [[2, 9, 7, 3]]
    tok.save_pretrained(tmp_path / "saved")
    assert (tmp_path / "saved" / "tokenizer_config.json").is_file()


def test_factory_errors(tmp_path: Path) -> None:
    with pytest.raises(tokenization.TokenizerError, match="not found"):
        tokenization.make_tokenizer(tmp_path / "none.txt")
    dup = _write(tmp_path, "dup.txt", "\n".join(VOCAB + ["good"]) + "\n")
    with pytest.raises(TrainError, match="read 12 tokens of 13"):  # training refuses repeated tokens
        data.make_tokenizer(dup)
    with pytest.raises(TrainError, match="not found"):  # the training view of the same factory
        data.make_tokenizer(tmp_path / "none.txt")
    with pytest.raises(tokenization.TokenizerError, match="unknown tokenizer"):
        tokenization.make_tokenizer(dup, "sentencepiece")


def test_c_and_hf_agree(tmp_path: Path) -> None:
    """The same factory gives the on-device tokenizer, with the same interface and the same ids."""
    vocab = _write(tmp_path, "vocab.txt", "\n".join(VOCAB) + "\n")
    try:
        c = tokenization.make_tokenizer(vocab, "c")
    except Exception as e:  # no host C compiler
        pytest.skip(f"host runtime unavailable: {e}")
    hf = tokenization.make_tokenizer(vocab, "hf")
    items = ["Good film.", ("is the film good?", "bad"), ("film", None), "x" * 300]
    assert c.encode_batch(items, max_len=6) == hf.encode_batch(items, max_len=6)
    assert c.vocab_size == hf.vocab_size


def test_cli_parser_does_not_import_torch() -> None:
    code = ("import sys; from mcubert import cli; cli.build_parser(); "
            "sys.exit(1 if 'torch' in sys.modules else 0)")
    scripts = str(Path(__file__).resolve().parents[2] / "scripts")
    env = {"PYTHONPATH": scripts, "PATH": "/usr/bin:/bin"}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0


def test_cli_reports_a_malformed_file_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    from mcubert import cli

    vocab = _write(tmp_path, "vocab.txt", "\n".join(VOCAB) + "\n")
    bad = _write(tmp_path, "train.tsv", "sentence\tlabel\ngood film\t1\nbad film\tnegative\n")
    rc = cli.main(["train", "--out", str(tmp_path / "out"), "--train", str(bad), "--dev", str(bad),
                   "--vocab", str(vocab), "--random-init", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and err[-1] == f"mcubert: error: {bad}:3: label 'negative' is not an integer"


def test_public_names_of_the_training_package() -> None:
    """The names other packages import from the package (loaded on first use)."""
    pytest.importorskip("torch")
    from mcubert.training import (  # noqa: F401
        StepLoop,
        TrainConfig,
        batched_logits,
        classification_loss,
        collate,
        encode,
        evaluate,
        load_source,
        make_tokenizer,
        pca_basis,
        read_tsv,
        train,
        warmup_schedule,
    )
    from mcubert.training.recipe import train as recipe_train

    assert callable(train) and callable(recipe_train)

# SPDX-License-Identifier: Apache-2.0
"""`mcubert.convert()`: the library API behind `mcubert convert`, its atomic save, and the vocabulary it
finds and puts into every blob."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from test_cli import (
    hf_dir,  # noqa: F401 (a fixture: the small HF model with vocab.txt)
    hf_model,
)

from conftest import FIXTURES, ROOT
from mcubert.cli import main
from mcubert.conversion.api import ConvertedBlob, ConvertError, find_vocab, vocab_candidates
from mcubert.formats import blob

COMPRESSED = ROOT / "samples" / "sst2" / "compressed" / "model.pt"
CALIB = FIXTURES / "sst2-mini.tsv"


@pytest.fixture(scope="module")
def bare_pt(tmp_path_factory) -> Path:
    """A model.pt with no vocabulary beside it and none recorded in it."""
    model = hf_model()
    path = tmp_path_factory.mktemp("novocab") / "model.pt"
    torch.save({"config": model.config.to_dict(), "state_dict": model.state_dict()}, path)
    return path


def test_convert_returns_the_bytes_the_cli_writes(hf_dir, tmp_path, capsys):
    import mcubert

    out = tmp_path / "cli.mcub"
    assert main(["convert", str(hf_dir), "-o", str(out), "--calib", str(CALIB), "--max-seq-len", "32",
                 "--sram", "64K", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    got = mcubert.convert(str(hf_dir), calib=str(CALIB), max_seq_len=32, sram=64 * 1024)
    assert isinstance(got, ConvertedBlob)
    assert got.data == out.read_bytes()
    assert {k: v for k, v in got.summary().items()} == {k: v for k, v in printed.items()
                                                        if k not in ("output", "seconds")}
    assert got.vocab_embedded and got.vocab == hf_dir / "vocab.txt" and got.labels == ["negative", "positive"]
    assert int(blob.Sec.VOCAB) in got.parsed.sections


def test_import_mcubert_does_not_import_torch():
    code = "import sys, mcubert; assert callable(mcubert.convert); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "False"


def test_save_is_atomic(tmp_path, monkeypatch):
    b = ConvertedBlob(b"MCUB new bytes", 0, "", None, False)
    out = tmp_path / "m.mcub"
    out.write_bytes(b"old")

    def fail(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(ConvertError, match="No space left"):
        b.save(out)
    assert out.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["m.mcub"]
    monkeypatch.undo()
    assert b.save(out) == out and out.read_bytes() == b"MCUB new bytes"
    with pytest.raises(ConvertError):
        b.save(tmp_path / "no" / "such" / "dir" / "m.mcub")


def test_shipped_compressed_model_converts_with_a_vocabulary_run_can_use(tmp_path, capsys):
    """The issue: `convert model.pt -o x.mcub` (no --vocab) then `run x.mcub TEXT` said 'no vocabulary'."""
    out = tmp_path / "x.mcub"
    assert main(["convert", str(COMPRESSED), "-o", str(out), "--max-seq-len", "32", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["vocab_embedded"] and res["vocab"]
    assert int(blob.Sec.VOCAB) in blob.unpack(out.read_bytes()).sections
    assert main(["run", str(out), "a gripping , beautifully acted film .", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["ids"][0] == 101 and r["ids"][-1] == 102 and r["label_name"] in ("negative", "positive")


def test_recorded_vocabulary_is_found_relative_to_the_model(tmp_path):
    """A recorded absolute path that is gone, then the recorded teacher directory, relative to a folder above."""
    (tmp_path / "sst2" / "model").mkdir(parents=True)
    (tmp_path / "sst2" / "model" / "vocab.txt").write_text("a\nb\nc\n")
    model = tmp_path / "sst2" / "compressed" / "model.pt"
    config = {"vocab_size": 3, "mcubert_compress": {"finetune": {"vocab": "/gone/vocab.txt", "teacher": "sst2/model"}}}
    assert Path("/gone/vocab.txt") in list(vocab_candidates(model, config))
    assert find_vocab(model, config, 3) == tmp_path / "sst2" / "model" / "vocab.txt"
    assert find_vocab(model, config, 4) is None  # a vocabulary of another size is not the model's
    (tmp_path / "sst2" / "compressed").mkdir()
    (tmp_path / "sst2" / "compressed" / "vocab.txt").write_text("x\ny\nz\n")
    assert find_vocab(model, config, 3) == tmp_path / "sst2" / "compressed" / "vocab.txt"  # beside wins


def _vocab_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "vocabulary" in r.getMessage() and r.levelno >= logging.WARNING]


def test_model_without_a_vocabulary_converts_with_one_warning(bare_pt, tmp_path, capsys, caplog):
    out = tmp_path / "x.mcub"
    with caplog.at_level(logging.WARNING):
        assert main(["convert", str(bare_pt), "-o", str(out), "--max-seq-len", "16", "--json"]) == 0
    warned = _vocab_records(caplog)
    assert len(warned) == 1 and "\n" not in warned[0].getMessage() and "--no-vocab" in warned[0].getMessage()
    assert int(blob.Sec.VOCAB) not in blob.unpack(out.read_bytes()).sections
    assert not json.loads(capsys.readouterr().out)["vocab_embedded"]


def test_no_vocab_converts_silently(bare_pt, hf_dir, tmp_path, capsys, caplog):
    with caplog.at_level(logging.WARNING):
        assert main(["convert", str(bare_pt), "-o", str(tmp_path / "a.mcub"), "--max-seq-len", "16",
                     "--no-vocab", "--json"]) == 0
        assert main(["convert", str(hf_dir), "-o", str(tmp_path / "b.mcub"), "--max-seq-len", "16",
                     "--calib", str(CALIB), "--no-vocab", "--json"]) == 0
    assert _vocab_records(caplog) == []
    for name in ("a.mcub", "b.mcub"):
        assert int(blob.Sec.VOCAB) not in blob.unpack((tmp_path / name).read_bytes()).sections


def test_weights_layout_option(hf_dir, tmp_path, capsys):
    """--weights int16 widens the encoder's weights (same outputs, tests in test_wide_weights.py); auto only when
    the blob fits --flash and the target runs the DSP kernels; the Helium targets and a missing budget refused."""
    import mcubert
    from mcubert.formats import wide_weights

    kw = dict(calib=str(CALIB), max_seq_len=32)
    narrow = mcubert.convert(str(hf_dir), **kw)
    wide = mcubert.convert(str(hf_dir), weights="int16", **kw)
    assert wide.data == wide_weights.widen(narrow.data) and wide.summary()["weights"] == "int16"
    assert narrow.summary()["weights"] == "int8"
    assert mcubert.convert(str(hf_dir), weights="auto", flash=len(wide.data), **kw).data == wide.data
    assert mcubert.convert(str(hf_dir), weights="auto", flash=len(wide.data) - 1, **kw).data == narrow.data
    assert mcubert.convert(str(hf_dir), weights="auto", flash=1 << 30, target="m55", **kw).data == narrow.data
    with pytest.raises(ConvertError, match="the m55 kernels read int8 weights"):
        mcubert.convert(str(hf_dir), weights="int16", target="m55", **kw)
    out = tmp_path / "w.mcub"
    assert main(["convert", str(hf_dir), "-o", str(out), "--calib", str(CALIB), "--max-seq-len", "32",
                 "--weights", "auto"]) == 1
    assert "needs a flash budget (--flash BYTES)" in capsys.readouterr().err
    assert main(["convert", str(hf_dir), "-o", str(out), "--calib", str(CALIB), "--max-seq-len", "32",
                 "--weights", "int16"]) == 0
    assert blob.unpack(out.read_bytes()).cfg.flags & blob.FLAG_WEIGHTS_S16
    assert "int16 encoder weights" in capsys.readouterr().out

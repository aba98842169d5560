# SPDX-License-Identifier: Apache-2.0
"""`mcubert convert/run/eval/info` end to end on small models in every accepted checkpoint form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import FIXTURES, ROOT
from mcubert.cli import main
from mcubert.formats import blob

VOCAB = FIXTURES / "vocab-small.txt"
N_VOCAB = len(VOCAB.read_text().splitlines())


def hf_model(n_labels: int = 2):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=N_VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=128, max_position_embeddings=64, num_labels=n_labels,
                     id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})
    return BertForSequenceClassification(cfg).eval()


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hf")
    hf_model().save_pretrained(d)
    (d / "vocab.txt").write_text(VOCAB.read_text())
    return d


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def convert(src: Path | str, out: Path, capsys, *extra: str) -> dict:
    rc, stdout, err = run_cli(["convert", str(src), "-o", str(out), "--calib", str(FIXTURES / "sst2-mini.tsv"),
                               "--vocab", str(VOCAB), "--max-seq-len", "32", "--json", *extra], capsys)
    assert rc == 0, err
    return json.loads(stdout)


def test_convert_hf_directory(hf_dir, tmp_path, capsys):
    res = convert(hf_dir, tmp_path / "m.mcub", capsys)
    model = hf_model()
    assert res["parameters"] == sum(p.numel() for n, p in model.named_parameters())
    assert res["blob_bytes"] == (tmp_path / "m.mcub").stat().st_size
    assert res["arena_bytes"] == blob.unpack((tmp_path / "m.mcub").read_bytes()).arena_bytes
    assert res["schedule"] == "tiled"
    assert res["config"]["labels"] == ["negative", "positive"]


def test_convert_all_checkpoint_forms_give_the_same_blob(hf_dir, tmp_path, capsys):
    ref = tmp_path / "ref.mcub"
    convert(hf_dir, ref, capsys)
    model = hf_model()
    torch.save({"config": model.config.to_dict(), "state_dict": model.state_dict()}, tmp_path / "sd.pt")
    torch.save(model, tmp_path / "whole.pt")
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    (tmp_path / "config.json").write_text(model.config.to_json_string())
    forms = [(tmp_path / "sd.pt", []), (tmp_path / "whole.pt", ["--trust-pickle"]),
             (tmp_path / "bare.pt", ["--config", str(tmp_path / "config.json")]),
             (hf_dir / "model.safetensors", ["--config", str(hf_dir / "config.json")])]
    want = blob.unpack(ref.read_bytes()).sections
    for src, extra in forms:
        out = tmp_path / (src.stem + ".mcub")
        convert(src, out, capsys, *extra)
        got = blob.unpack(out.read_bytes()).sections
        assert {k: bytes(v) for k, v in got.items() if k != blob.Sec.META} == \
               {k: bytes(v) for k, v in want.items() if k != blob.Sec.META}, src


def test_run_and_eval_agree_between_engines(hf_dir, tmp_path, capsys):
    out = tmp_path / "m.mcub"
    convert(hf_dir, out, capsys)
    rc, c_out, _ = run_cli(["run", str(out), "a charming and funny film", "--json"], capsys)
    assert rc == 0
    rc, r_out, _ = run_cli(["run", str(out), "a charming and funny film", "--json", "--engine", "ref"], capsys)
    c, r = json.loads(c_out), json.loads(r_out)
    assert c["ids"][0] == 101 - 101 + 7 and c["ids"][-1] == 8  # [CLS]=7, [SEP]=8 in the fixture vocab
    assert c["logits_q"] == r["logits_q"] and c["label"] == r["label"]
    assert c["label_name"] in ("negative", "positive")
    rc, text, _ = run_cli(["run", str(out), "--ids", "7,20,30,8"], capsys)
    assert rc == 0 and "label" in text
    accs = {}
    for eng in ("c", "ref"):
        rc, e_out, _ = run_cli(["eval", str(out), "--data", str(FIXTURES / "sst2-mini.tsv"), "--engine", eng,
                                "--json", "--predictions"], capsys)
        assert rc == 0
        accs[eng] = json.loads(e_out)
    assert accs["c"]["predictions"] == accs["ref"]["predictions"] and accs["c"]["labelled"] == 6


def test_pairs_run(hf_dir, tmp_path, capsys):
    out = tmp_path / "m.mcub"
    convert(hf_dir, out, capsys)
    rc, o, _ = run_cli(["run", str(out), "is the film funny ?", "the film is a charming comedy .", "--json"], capsys)
    res = json.loads(o)
    assert rc == 0 and 1 in res["type_ids"] and res["type_ids"][0] == 0


def test_info(hf_dir, tmp_path, capsys):
    out = tmp_path / "m.mcub"
    convert(hf_dir, out, capsys)
    rc, o, _ = run_cli(["info", str(out), "--json"], capsys)
    assert rc == 0 and json.loads(o)["config"]["hidden"] == 64


def _one_line_error(args: list[str]) -> str:
    p = subprocess.run([sys.executable, "-m", "mcubert", *args], capture_output=True, text=True,
                       cwd=ROOT / "scripts")
    assert p.returncode == 1, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    assert len(lines) == 1 and lines[0].startswith("mcubert: error:"), p.stderr
    return lines[0]


def test_converter_rejects_non_bert(tmp_path):
    from transformers import GPT2Config, GPT2Model

    GPT2Model(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=50, n_positions=16)).save_pretrained(tmp_path)
    assert "not a BERT" in _one_line_error(["convert", str(tmp_path), "-o", str(tmp_path / "x.mcub")])


def test_converter_rejects_corrupt_files(tmp_path, hf_dir):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x04this is not a pickle" * 10)
    assert "not a readable torch checkpoint" in _one_line_error(["convert", str(bad), "-o", str(tmp_path / "x")])
    d = tmp_path / "hfbad"
    d.mkdir()
    (d / "config.json").write_text((hf_dir / "config.json").read_text())
    (d / "model.safetensors").write_bytes((hf_dir / "model.safetensors").read_bytes()[:1000])
    assert "safetensors" in _one_line_error(["convert", str(d), "-o", str(tmp_path / "x")])
    (d / "config.json").write_text("{not json")
    assert "cannot read config" in _one_line_error(["convert", str(d), "-o", str(tmp_path / "x")])
    assert "no such file" in _one_line_error(["convert", str(tmp_path / "nope"), "-o", str(tmp_path / "x")])


def test_run_rejects_bad_blob_and_bad_ids(tmp_path, hf_dir, capsys):
    out = tmp_path / "m.mcub"
    convert(hf_dir, out, capsys)
    data = bytearray(out.read_bytes())
    data[500] ^= 1
    (tmp_path / "flip.mcub").write_bytes(bytes(data))
    assert "checksum" in _one_line_error(["run", str(tmp_path / "flip.mcub"), "--ids", "7,8"])
    assert "ERANGE" in _one_line_error(["run", str(out), "--ids", f"7,{N_VOCAB},8"])
    assert "E2BIG" in _one_line_error(["run", str(out), "--ids", ",".join(["7"] * 40)])
    (tmp_path / "junk.mcub").write_bytes(b"hello")
    assert "not an mcubert blob" in _one_line_error(["info", str(tmp_path / "junk.mcub")])


def test_float_model_matches_transformers(hf_dir):
    from mcubert.conversion.checkpoint import load
    from mcubert.conversion.floatmodel import FloatBert

    model = hf_model()
    fm = FloatBert(load(hf_dir))
    ids = np.array([7, 20, 31, 45, 8])
    types = np.array([0, 0, 1, 1, 1])
    with torch.no_grad():
        ref = model(input_ids=torch.from_numpy(ids[None]), token_type_ids=torch.from_numpy(types[None]),
                    output_hidden_states=True)
    out = fm.forward(ids, types)
    np.testing.assert_allclose(out["hidden"].numpy(), ref.hidden_states[-1][0].numpy(), atol=1e-5)
    np.testing.assert_allclose(out["logits"].numpy(), ref.logits[0].numpy(), atol=1e-5)


@pytest.mark.parametrize("argv, expect", [
    (["search", "--help"], "usage: mcubert search"),
    (["distill", "--help"], "usage: mcubert distill"),
    (["compress", "--help"], "usage: mcubert compress"),
    (["zephyr-overlay", "--help"], "usage: mcubert zephyr-overlay"),
    (["hil", "--help"], "usage: mcubert hil"),
])
def test_every_pipeline_command_is_on_the_command_line(argv, expect):
    """`mcubert search|distill|compress|zephyr-overlay|hil` (and so `west mcubert ...`) reach their modules."""
    r = subprocess.run([sys.executable, "-m", "mcubert", *argv], capture_output=True, text=True,
                       cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "scripts")})
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(expect), r.stdout[:200]


def test_trim_positions_keeps_the_outputs_and_saves_flash(hf_dir, tmp_path, capsys):
    """--trim-positions stores max_seq_len position rows only; the first max_seq_len positions are unchanged."""
    full = convert(hf_dir, tmp_path / "full.mcub", capsys)
    trimmed = convert(hf_dir, tmp_path / "trim.mcub", capsys, "--trim-positions")
    a, b = blob.unpack((tmp_path / "full.mcub").read_bytes()), blob.unpack((tmp_path / "trim.mcub").read_bytes())
    assert (a.cfg.max_pos, b.cfg.max_pos) == (64, 32) and b.cfg.max_seq_len == 32
    assert full["blob_bytes"] - trimmed["blob_bytes"] == (64 - 32) * 64
    rc, out, err = run_cli(["run", str(tmp_path / "trim.mcub"), "--ids", ",".join(["7"] * 33)], capsys)
    assert rc == 1 and "E2BIG" in err


def test_info_on_every_kind_of_model_path(hf_dir, tmp_path, capsys):
    """`info` takes a blob, a model.pt (compressed ones with their clusters) or a Hugging Face directory."""
    n_params = sum(p.numel() for p in hf_model().parameters())
    rc, o, _ = run_cli(["info", str(hf_dir), "--json"], capsys)
    res = json.loads(o)
    assert rc == 0 and res["kind"] == "checkpoint" and res["parameters"] == n_params
    assert res["config"]["hidden"] == 64 and res["vocab"] == str(hf_dir / "vocab.txt")
    rc, o, _ = run_cli(["info", str(ROOT / "samples/sst2/compressed/model.pt"), "--json"], capsys)
    res = json.loads(o)
    assert rc == 0 and res["parameters"] == 626_563 and res["compression"]["clusters"] == 64
    assert res["compression"]["params"] == 626_563 and res["vocab"]
    rc, o, _ = run_cli(["info", str(ROOT / "samples/sst2/compressed/model.pt")], capsys)
    assert rc == 0 and "626,563 parameters" in o and "64 clusters" in o
    convert(hf_dir, tmp_path / "m.mcub", capsys)
    rc, o, _ = run_cli(["info", str(tmp_path / "m.mcub"), "--json"], capsys)
    assert rc == 0 and json.loads(o)["kind"] == "blob" and json.loads(o)["vocab_embedded"]


def test_eval_on_every_kind_of_model_path(hf_dir, tmp_path, capsys):
    """`eval` runs a blob on the C runtime and a model.pt or Hugging Face directory as the float model."""
    data = str(FIXTURES / "sst2-mini.tsv")
    model = hf_model()
    pt = tmp_path / "model.pt"
    torch.save({"config": model.config.to_dict(), "state_dict": model.state_dict()}, pt)
    (tmp_path / "vocab.txt").write_text(VOCAB.read_text())
    convert(hf_dir, tmp_path / "m.mcub", capsys)
    res = {}
    for path in (hf_dir, pt, tmp_path / "m.mcub"):
        rc, o, err = run_cli(["eval", str(path), "--data", data, "--json", "--predictions"], capsys)
        assert rc == 0, err
        res[path] = json.loads(o)
    assert res[hf_dir]["engine"] == res[pt]["engine"] == "float" and res[tmp_path / "m.mcub"]["engine"] == "c"
    assert res[hf_dir]["predictions"] == res[pt]["predictions"] and res[hf_dir]["labelled"] == 6
    rc, _, err = run_cli(["eval", str(pt), "--data", data, "--engine", "c"], capsys)
    assert rc == 1 and "convert the model first" in err
    rc, _, err = run_cli(["eval", str(tmp_path / "m.mcub"), "--data", data, "--engine", "float"], capsys)
    assert rc == 1 and "not a blob" in err


def test_one_command_tree():
    """Every verb once, each from its command module; the library never calls the command line."""
    from mcubert.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(["train", "search", "distill", "compress", "convert", "info", "run", "eval",
                                          "bench", "plan", "zephyr-overlay", "hil"])
    pkg = ROOT / "scripts" / "mcubert"
    callers = [str(f.relative_to(pkg)) for f in pkg.rglob("*.py") if f.parent.name != "cli"
               and any(s in f.read_text() for s in ("cli.main", "from mcubert import cli", "mcubert.cli"))]
    assert callers == []

# SPDX-License-Identifier: Apache-2.0
"""The converter runs no code from its input and never writes a blob that answers wrongly.

Each case an outside tester reported (issue 14) is refused by the library (CheckpointError / QuantError)
and by `mcubert convert` with one line, exit 1, no traceback and no output file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from conftest import ROOT
from mcubert import cli
from mcubert.conversion import checkpoint
from mcubert.conversion.checkpoint import CheckpointError
from mcubert.numerics import quantize
from mcubert.numerics.quantize import QuantError

Weights = dict[str, np.ndarray]
TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(115)]


def small_model(d: Path, *, weights: Callable[[Weights], None] | None = None, config: dict[str, Any] | None = None,
                n_layers: int = 2, tokens: list[str] = TOKENS) -> Path:
    """A Hugging Face directory (config.json, model.safetensors, vocab.txt) of a random small BERT."""
    from safetensors.numpy import save_file

    ck = checkpoint.random_checkpoint(vocab_size=len(TOKENS), hidden=32, n_layers=n_layers, n_heads=2, ffn=64,
                                      max_pos=64)
    w = {k: v.copy() for k, v in ck.weights.items()}
    if weights:
        weights(w)
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps({**ck.config, **(config or {})}))
    save_file({k: np.ascontiguousarray(v) for k, v in w.items()}, str(d / "model.safetensors"))
    (d / "vocab.txt").write_text("\n".join(tokens) + "\n")
    return d


def set_value(key: str, value: float) -> Callable[[Weights], None]:
    def f(w: Weights) -> None:
        w[key].flat[1] = value
    return f


def cut(key: str) -> Callable[[Weights], None]:
    def f(w: Weights) -> None:
        w[key] = w[key][..., :16] if w[key].ndim == 2 and key != "pooler.dense.weight" else w[key][:16]
    return f


def convert_fails(capsys, model: Path, out: Path, *args: str) -> str:
    """Run `mcubert convert`; assert it failed with exactly one line and wrote nothing; return the line."""
    capsys.readouterr()
    rc = cli.main(["convert", str(model), "-o", str(out), "--json", *args])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if not ln.startswith(("INFO:", "WARNING:"))]
    assert rc == 1, err
    assert len(lines) == 1 and lines[0].startswith("mcubert: error: "), err
    assert "Traceback" not in err and not out.exists()
    return lines[0]


class Evil:
    """Unpickling this runs code: it creates the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_with_code_is_refused_and_runs_nothing(tmp_path, capsys):
    import torch

    marker = tmp_path / "marker"
    torch.save({"config": {}, "state_dict": {"x": Evil(marker)}}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="pickled Python objects.*--trust-pickle"):
        checkpoint.load(tmp_path / "evil.pt")
    assert not marker.exists()
    line = convert_fails(capsys, tmp_path / "evil.pt", tmp_path / "evil.mcub")
    assert "--trust-pickle" in line and not marker.exists()
    with pytest.raises(CheckpointError, match="not a BERT config"):  # the payload is live: trusting runs it
        checkpoint.load(tmp_path / "evil.pt", trust_pickle=True)
    assert marker.exists()


LOAD_CASES = {
    # name: (weights, config, message)
    "relative_key": (None, {"position_embedding_type": "relative_key"}, "position_embedding_type 'relative_key'"),
    "relative_key_query": (None, {"position_embedding_type": "relative_key_query"},
                           "position_embedding_type 'relative_key_query'"),
    "decoder": (None, {"is_decoder": True}, "is_decoder is set"),
    "cross_attention": (None, {"add_cross_attention": True}, "add_cross_attention is set"),
    "swish": (None, {"hidden_act": "swish"}, "activation 'swish' not supported"),
    "heads_not_dividing": (None, {"num_attention_heads": 3}, "hidden_size 32 not divisible by 3 heads"),
    "zero_heads": (None, {"num_attention_heads": 0}, "num_attention_heads must be a positive integer"),
    "text_size": (None, {"hidden_size": "32"}, "hidden_size must be a positive integer"),
    "nan_eps": (None, {"layer_norm_eps": float("nan")}, "layer_norm_eps must be a finite number"),
    "inf_word_embedding": (set_value("embeddings.word_embeddings.weight", np.inf), None,
                           "tensor embeddings.word_embeddings.weight holds Inf"),
    "nan_classifier_bias": (set_value("classifier.bias", np.nan), None, "tensor classifier.bias holds NaN"),
    "nan_query": (set_value("encoder.layer.0.attention.self.query.weight", np.nan), None,
                  "tensor encoder.layer.0.attention.self.query.weight holds NaN"),
    "key_shape": (cut("encoder.layer.1.attention.self.key.weight"), None,
                  r"tensor encoder.layer.1.attention.self.key.weight has shape \(32, 16\), config implies \(32, 32\)"),
    "classifier_shape": (cut("classifier.weight"), None, r"tensor classifier.weight has shape \(2, 16\)"),
    "layernorm_shape": (cut("encoder.layer.0.output.LayerNorm.weight"), None,
                        r"tensor encoder.layer.0.output.LayerNorm.weight has shape \(16,\)"),
    "pooler_shape": (cut("pooler.dense.weight"), None, r"tensor pooler.dense.weight has shape \(16, 32\)"),
}


@pytest.mark.parametrize("case", sorted(LOAD_CASES))
def test_checkpoint_the_runtime_cannot_run_is_refused(case, tmp_path, capsys):
    weights, config, message = LOAD_CASES[case]
    model = small_model(tmp_path / case, weights=weights, config=config)
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(model)
    assert re.search(message, convert_fails(capsys, model, tmp_path / "m.mcub"))


def test_layer_norm_eps_the_runtime_does_not_honour_is_refused(tmp_path, capsys):
    model = small_model(tmp_path / "eps", config={"layer_norm_eps": 1e-3})
    ck = checkpoint.load(model)  # the float model honours eps; the integer runtime does not
    with pytest.raises(QuantError, match="layer_norm_eps 0.001 is not honoured"):
        quantize.check_convertible(ck, 16)
    assert "layer_norm_eps 0.001 is not honoured" in convert_fails(capsys, model, tmp_path / "m.mcub")
    quantize.check_convertible(checkpoint.load(small_model(tmp_path / "ok", config={"layer_norm_eps": 1e-6})), 16)


def test_more_layers_than_the_runtime_holds_are_refused(tmp_path, capsys):
    model = small_model(tmp_path / "deep", n_layers=quantize.RUNTIME_MAX_LAYERS + 1)
    ck = checkpoint.load(model)
    with pytest.raises(QuantError, match="13 encoder layers exceed the runtime's limit of 12"):
        quantize.check_convertible(ck, 16)
    quantize.check_convertible(ck, 16, max_layers=13)  # a runtime built with CONFIG_MCUBERT_MAX_LAYERS=13
    assert "-ENOTSUP" in convert_fails(capsys, model, tmp_path / "m.mcub")


def test_runtime_layer_limit_mirrors_the_c_default():
    header = (ROOT / "include/mcubert/mcubert.h").read_text()
    kconfig = (ROOT / "subsys/mcubert/Kconfig").read_text()
    assert re.search(r"#else\n#define MCUBERT_MAX_LAYERS (\d+)", header).group(1) == str(quantize.RUNTIME_MAX_LAYERS)
    assert re.search(r"config MCUBERT_MAX_LAYERS\n.*\n\tdefault (\d+)", kconfig).group(1) == \
        str(quantize.RUNTIME_MAX_LAYERS)


@pytest.mark.parametrize("n", [0, -5, 65])
def test_max_seq_len_out_of_range_is_refused(n, tmp_path, capsys):
    model = small_model(tmp_path / "m")
    ck = checkpoint.load(model)
    with pytest.raises(QuantError, match=f"--max-seq-len {n}"):
        quantize.resolve_max_seq_len(n, ck.shape.max_pos)
    with pytest.raises(QuantError, match=f"--max-seq-len {n}"):
        quantize.quantize(ck, {}, n)
    assert f"--max-seq-len {n}" in convert_fails(capsys, model, tmp_path / "m.mcub", "--max-seq-len", str(n))


def test_short_max_seq_len_converts(tmp_path, capsys):
    model = small_model(tmp_path / "m")
    assert quantize.resolve_max_seq_len(None, 64) == 64 and quantize.resolve_max_seq_len(4, 64) == 4
    assert cli.main(["convert", str(model), "-o", str(tmp_path / "m.mcub"), "--max-seq-len", "4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_seq_len"] == 4


def test_vocabulary_without_sep_is_refused(tmp_path, capsys):
    model = small_model(tmp_path / "m", tokens=[t if t != "[SEP]" else "sep" for t in TOKENS])
    calib = tmp_path / "calib.txt"
    calib.write_text("w1 w2 w3\nw4 w5\n")
    assert "not a BERT vocabulary (sep_token not found" in convert_fails(capsys, model, tmp_path / "m.mcub",
                                                                          "--calib", str(calib))
    assert "'[SEP]' is not in the vocabulary" in convert_fails(capsys, model, tmp_path / "m.mcub")


def test_config_that_is_not_an_object_is_refused(tmp_path, capsys):
    model = small_model(tmp_path / "m")
    (model / "config.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="the config is a list"):
        checkpoint.load(model)


def test_state_dict_that_is_not_tensors_is_refused(tmp_path):
    import torch

    torch.save({"config": {}, "state_dict": [1, 2]}, tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="the state dict is a list"):
        checkpoint.load(tmp_path / "list.pt")
    torch.save({"config": {}, "state_dict": {"embeddings.x": "text"}}, tmp_path / "text.pt")
    with pytest.raises(CheckpointError, match="tensor embeddings.x is not numeric"):
        checkpoint.load(tmp_path / "text.pt")

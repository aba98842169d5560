# SPDX-License-Identifier: Apache-2.0
"""The shipped SST-2 model (trained weights, BERT-tiny shape): bit-exact reference == host C == QEMU M7,
and int8 accuracy on SST-2 dev within one point of float."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT
from mcubert.cli import main
from mcubert.formats import blob
from mcubert.numerics.reference import Reference
from mcubert.targets import qemu
from mcubert.targets.native import Runtime

MODEL = ROOT / "samples" / "sst2" / "model"
SENTENCES = ["a gripping , beautifully acted film .", "the plot is thin and the jokes are flat .",
             ("is it any good ?", "it is a dull , lifeless mess ."),
             " ".join(["an unexpectedly moving story about friendship , loss and the long road home ."] * 12)]


@pytest.fixture(scope="module")
def sample_blob(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("sst2") / "sst2.mcub"
    assert main(["convert", str(MODEL), "-o", str(out), "--calib", str(ROOT / "samples/sst2/calib.txt"),
                 "--max-seq-len", "128", "--json"]) == 0
    return out.read_bytes()


def encoded(data: bytes):
    from mcubert.targets.ctokenizer import CTokenizer

    tok = CTokenizer(packed=bytes(blob.unpack(data).sections[blob.Sec.VOCAB]))
    return [tok.encode(*s, max_len=128) if isinstance(s, tuple) else tok.encode(s, max_len=128) for s in SENTENCES]


def test_trained_model_bit_exact_host_and_m7(sample_blob):
    b = blob.unpack(sample_blob)
    seqs = encoded(sample_blob)
    assert max(len(i) for i, _ in seqs) == 128 and any(1 in t for _, t in seqs)
    rt, ref = Runtime(sample_blob), Reference(b)
    outs = []
    for ids, types in seqs:
        o = ref.run(ids, types)
        rt.infer(ids, types)
        np.testing.assert_array_equal(rt.hidden(len(ids), b.cfg.hidden), o.hidden)
        np.testing.assert_array_equal(rt.logits(2), o.logits)
        outs.append(o)
    if qemu.missing_prerequisites():
        pytest.skip("QEMU/Arm toolchain missing: " + ", ".join(qemu.missing_prerequisites()))
    got = qemu.run(sample_blob, seqs, target="m7", dump="hidden")
    for o, r in zip(outs, got):
        np.testing.assert_array_equal(r["hidden"], o.hidden)
        assert r["logits"] == o.logits.tolist() and r["label"] == o.label
    assert [o.label for o in outs[:2]] == [1, 0]


@pytest.mark.slow
def test_int8_accuracy_within_one_point_of_float(sample_blob, data_dir, tmp_path, capsys):
    import json

    path = tmp_path / "m.mcub"
    path.write_bytes(sample_blob)
    dev = str(data_dir / "glue" / "SST-2" / "dev.tsv")
    assert main(["eval", str(path), "--data", dev, "--json"]) == 0
    int8 = json.loads(capsys.readouterr().out)
    assert main(["eval", str(MODEL), "--engine", "float", "--data", dev, "--json"]) == 0
    flt = json.loads(capsys.readouterr().out)
    assert int8["labelled"] == flt["labelled"] == 872
    assert int8["accuracy"] >= flt["accuracy"] - 0.01
    assert int8["accuracy"] >= 0.82


SHIPPED = ROOT / "samples" / "sst2" / "compressed" / "model.mcub"


def test_shipped_compressed_blob_is_current_and_bit_exact():
    """samples/sst2/compressed/model.mcub (made by `mcubert convert compressed/model.pt`) still loads in this
    runtime (format and checks current), carries its vocabulary, and the C runtime equals the reference."""
    data = SHIPPED.read_bytes()
    b = blob.unpack(data)
    assert b.cfg.vocab_size == 30522 and b.cfg.hidden == 128 and b.cfg.max_seq_len == 128
    rt, ref = Runtime(data), Reference(b)
    labels = []
    for ids, types in encoded(data):
        o = ref.run(ids, types)
        rt.infer(ids, types)
        np.testing.assert_array_equal(rt.hidden(len(ids), b.cfg.hidden), o.hidden)
        np.testing.assert_array_equal(rt.logits(2), o.logits)
        labels.append(o.label)
    assert labels[:2] == [1, 0]


def test_shipped_compressed_blob_accuracy(data_dir, capsys):
    import json

    dev = str(data_dir / "glue" / "SST-2" / "dev.tsv")
    assert main(["eval", str(SHIPPED), "--data", dev, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["labelled"] == 872 and res["accuracy"] >= 0.82

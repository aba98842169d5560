# SPDX-License-Identifier: Apache-2.0
"""Data-parallel training under torchrun (training/distributed.py) on the CPU with gloo.

Two processes with per-rank batches of B/2 give one process's losses (to float tolerance) and final weights
for `train` and `distill`, the search's FFN-width candidates spread over two ranks give one rank's choice,
and `torchrun -m mcubert train` stops, resumes and writes a model that `mcubert convert` takes. The runs
use dropout 0: under torchrun each rank draws its own dropout masks (training/distributed.py), so only
without dropout is one process's run the exact reference.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
    pytest.skip("torch without gloo", allow_module_level=True)

from mcubert import cli  # noqa: E402
from mcubert.compression.budget import nonword_params  # noqa: E402
from mcubert.training.distributed import Ranks  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(HERE) not in sys.path:  # the worker torchrun runs, and test_compress's task
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="module")
def task(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """test_compress's synthetic task (160 training sentences), its teacher without dropout."""
    from test_compress import write_task

    files = write_task(tmp_path_factory.mktemp("dist"))
    config = files["teacher"] / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "hidden_dropout_prob": 0.0,
                                  "attention_probs_dropout_prob": 0.0}))
    return files


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _torchrun(args: list[str], nproc: int = 2, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    """torchrun with `nproc` CPU processes on 127.0.0.1 only."""
    env = dict(os.environ, GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT / "scripts"))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(nproc),
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), *args]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, res.stderr[-4000:]
    return res


def _jobs(task: dict[str, Path], out: Path) -> dict[str, dict[str, Any]]:
    data = {k: str(task[k]) for k in ("train", "dev", "vocab")}
    budget = nonword_params(json.loads((task["teacher"] / "config.json").read_text()), 32) + 900
    # batch 7: slices of 4 and 3, and an uneven last batch (160 = 22 * 7 + 6) in each epoch
    return {
        "train": {**data, "out": str(out / "train"), "init_from": None, "layers": 1, "hidden": 32, "heads": 2,
                  "ffn": 64, "max_pos": 64, "dropout": 0.0, "epochs": 1.0, "batch_size": 7, "lr": 3e-3,
                  "seed": 3, "device": "cpu", "progress": False, "keep_state": True},
        "distill": {**data, "init": str(out / "init.pt"), "teacher": str(task["teacher"]),
                    "out": str(out / "distill"), "epochs": 1.0, "batch_size": 7, "lr": 1e-3, "eval_every": 0,
                    "stop_after": 14, "device": "cpu", "progress": False},
        "search": {**data, "teacher": str(task["teacher"]), "out": str(out / "search"), "param_budget": budget,
                   "clusters": [2], "bands": [8, 20], "max_pos": 32, "iters": 2, "ffn": [16, 32, 48],
                   "shape_steps": 3, "device": "cpu", "progress": False},
    }


def _state_weights(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


def _assert_close(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)


def test_a_global_batch_is_cut_into_contiguous_slices() -> None:
    for n in range(0, 12):
        batch = list(range(100, 100 + n))
        for world in (1, 2, 3, 4):
            parts = [Ranks(r, world).shard(batch) for r in range(world)]
            assert sum(parts, []) == batch
            assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert Ranks().spread([3, 1, 2], lambda x: x * x) == [9, 1, 4]


def test_two_gloo_processes_train_distill_and_search_like_one(task: dict[str, Path], tmp_path: Path) -> None:
    """One torchrun launch: train (stopped after 8 of 23 steps), distill, search; then `torchrun -m mcubert
    train --resume` finishes the training; all against one process's uninterrupted runs."""
    from mcubert.compression.search import SearchConfig, run_search

    one, two = tmp_path / "one", tmp_path / "two"
    jobs = {o: _jobs(task, o) for o in (one, two)}
    jobs[two]["train"]["stop_after"] = 8
    # the compressed student both distillations start from
    search = {**jobs[one]["search"], "ffn": [], "out": str(one / "s0")}
    run_search(SearchConfig(**{k: (Path(v) if k in ("teacher", "out", "train", "dev", "vocab") else
                                   tuple(v) if isinstance(v, list) else v) for k, v in search.items()}))
    for o in (one, two):
        o.mkdir(exist_ok=True)
        (o / "init.pt").write_bytes((one / "s0" / "init.pt").read_bytes())
        (o / "jobs.json").write_text(json.dumps(jobs[o]))
    import distributed_worker

    ref = json.loads(json.dumps(distributed_worker.run(json.loads((one / "jobs.json").read_text())), default=str))
    _torchrun([str(HERE / "distributed_worker.py"), str(two / "jobs.json"), str(two / "result.json")])
    got = json.loads((two / "result.json").read_text())

    assert got["train"]["run"]["world_size"] == 2 and got["train"]["run"]["per_rank_batch"] == 4
    assert ref["train"]["step"] == 23 and got["train"]["step"] == 8 and not got["train"]["finished"]
    np.testing.assert_allclose(got["train"]["losses"], ref["train"]["losses"][:8], rtol=1e-5, atol=1e-6)

    assert ref["distill"]["step"] == got["distill"]["step"] == 14
    np.testing.assert_allclose(got["distill"]["losses"], ref["distill"]["losses"], rtol=1e-5, atol=1e-6)
    _assert_close(_state_weights(two / "distill" / "finetune_state.pt"),
                  _state_weights(one / "distill" / "finetune_state.pt"))

    drop = "proxy_seconds"
    assert got["search"]["chosen_ffn"] == ref["search"]["chosen_ffn"]
    assert [{k: v for k, v in c.items() if k != drop} for c in got["search"]["shape_candidates"]] == [
        {k: v for k, v in c.items() if k != drop} for c in ref["search"]["shape_candidates"]]
    _assert_close(torch.load(two / "search" / "init.pt", weights_only=True)["state_dict"],
                  torch.load(one / "search" / "init.pt", weights_only=True)["state_dict"])

    # the stopped training resumes under torchrun from the command line, and ends where one process did
    out = two / "train"
    res = _torchrun(["-m", "mcubert", "train", "--out", str(out), "--train", str(task["train"]), "--dev",
                     str(task["dev"]), "--vocab", str(task["vocab"]), "--epochs", "1", "--resume", "--keep-state",
                     "--no-progress"])
    assert res.stdout.count("best_dev_accuracy") == 1  # rank 0 alone prints
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["step"] == 23 and summary["finished"]
    from safetensors.torch import load_file

    _assert_close(load_file(str(out / "model.safetensors")), load_file(str(one / "train" / "model.safetensors")))
    _assert_close(_state_weights(out / "train_state.pt"), _state_weights(one / "train" / "train_state.pt"))
    blob = tmp_path / "model.mcub"
    assert cli.main(["convert", str(out), "-o", str(blob), "--calib", str(task["train"]), "--max-seq-len", "32"]) == 0
    assert blob.stat().st_size > 0


def test_devices_the_machine_lacks_are_one_line_errors(task: dict[str, Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    from mcubert.training.device import resolve_device, resolve_precision

    assert resolve_device("cpu") == torch.device("cpu") and resolve_precision("auto", torch.device("cpu")) == "fp32"
    argv = ["train", "--out", str(tmp_path / "o"), "--train", str(task["train"]), "--dev", str(task["dev"]),
            "--vocab", str(task["vocab"]), "--random-init", "--max-steps", "1", "--no-progress"]
    assert cli.main([*argv, "--device", "cpu", "--precision", "bf16"]) == 1
    assert capsys.readouterr().err.strip().endswith("--precision bf16 is for CUDA GPUs; on cpu use fp32")
    if not torch.cuda.is_available():
        assert cli.main([*argv, "--device", "cuda"]) == 1
        assert capsys.readouterr().err.strip() == "mcubert: error: --device cuda: no CUDA GPU is visible to torch"

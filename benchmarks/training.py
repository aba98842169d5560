#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Training throughput: optimizer steps per second of `mcubert train` and `mcubert distill`, with 1 and 2
processes under torchrun (gloo on the CPU, NCCL on GPUs), at a fixed global batch.

Each cell is one `torchrun --nproc-per-node N -m mcubert train|distill ... --max-steps S` on a synthetic
sentiment task written to a temporary folder (no downloads, no shared data): the command users run, so the
figures include the gradient all-reduce and the per-rank slicing. Steps per second are the steps over the
training seconds the run records (evaluation and saving excluded). Shapes: `test` (1 layer, hidden 32) and
`bert-tiny` (2 layers, hidden 128, 2 heads, FFN 512); the distillation student is the SVD-compressed
teacher (`mcubert search --method svd`).

  python benchmarks/training.py                       # CPU, 1 and 2 processes, one thread each
  python benchmarks/training.py --device cuda --procs 1 --threads 4 --steps 200
  python benchmarks/training.py --json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
if str(HERE / "scripts") not in sys.path:
    sys.path.insert(0, str(HERE / "scripts"))

log = logging.getLogger("training-bench")

SHAPES = {"test": (1, 32, 2, 64), "bert-tiny": (2, 128, 2, 512)}  # layers, hidden, heads, FFN
WORDS = [f"w{i}" for i in range(2000)]
POS, NEG = ["good", "great", "fine", "fun"], ["bad", "awful", "dull", "weak"]


def write_task(root: Path, n_train: int = 2000, n_dev: int = 64) -> dict[str, Path]:
    """A synthetic sentiment task of 8-40 words a sentence and its WordPiece vocabulary."""
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + POS + NEG + WORDS
    (root / "vocab.txt").write_text("\n".join(vocab) + "\n")
    rng = random.Random(0)

    def rows(n: int) -> str:
        out = ["sentence\tlabel"]
        for _ in range(n):
            y = rng.randint(0, 1)
            words = [rng.choice(WORDS) for _ in range(rng.randint(8, 40))]
            words.insert(rng.randint(0, len(words)), rng.choice(POS if y else NEG))
            out.append(" ".join(words) + "\t" + str(y))
        return "\n".join(out) + "\n"

    (root / "train.tsv").write_text(rows(n_train))
    (root / "dev.tsv").write_text(rows(n_dev))
    return {"train": root / "train.tsv", "dev": root / "dev.tsv", "vocab": root / "vocab.txt"}


def write_teacher(path: Path, shape: tuple[int, int, int, int], vocab_size: int) -> None:
    """A randomly initialised classifier of `shape` (timing does not need a trained one)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    layers, hidden, heads, ffn = shape
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=ffn, max_position_embeddings=128, num_labels=2,
                     id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1})
    BertForSequenceClassification(cfg).save_pretrained(str(path))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def torchrun(nproc: int, argv: list[str], threads: int) -> None:
    """`torchrun --nproc-per-node nproc -m mcubert ARGV` on 127.0.0.1; fails loudly."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(HERE / "scripts"))
    env.setdefault("GLOO_SOCKET_IFNAME", "lo")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(nproc),
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "mcubert", *argv]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"training-bench: {' '.join(argv[:1])} with {nproc} processes failed:\n{res.stderr[-3000:]}")


def prepare(root: Path, task: dict[str, Path], shape_name: str) -> dict[str, Path]:
    """The teacher of a shape and its SVD-compressed student (OUT/init.pt) for the distillation cells."""
    from mcubert.compression.budget import nonword_params
    from mcubert.compression.search import SearchConfig, run_search

    vocab_size = len(task["vocab"].read_text().split())
    teacher = root / f"teacher-{shape_name}"
    write_teacher(teacher, SHAPES[shape_name], vocab_size)
    config = json.loads((teacher / "config.json").read_text())
    budget = nonword_params(config, 128) + vocab_size * int(config["hidden_size"]) // 4  # a quarter of the table
    run_search(SearchConfig(teacher=teacher, out=root / f"search-{shape_name}", train=task["train"], dev=task["dev"],
                            vocab=task["vocab"], method="svd", param_budget=budget, ratio=None, max_pos=128,
                            progress=False, device="cpu"))
    return {"teacher": teacher, "init": root / f"search-{shape_name}" / "init.pt"}


def cell(root: Path, task: dict[str, Path], models: dict[str, Path], shape_name: str, command: str, nproc: int,
         args: argparse.Namespace) -> dict[str, Any]:
    """One timed run; steps per second over its recorded training seconds."""
    out = root / f"{command}-{shape_name}-{nproc}"
    data = ["--train", str(task["train"]), "--dev", str(task["dev"]), "--vocab", str(task["vocab"])]
    run = ["--out", str(out), "--max-steps", str(args.steps), "--batch-size", str(args.batch_size),
           "--device", args.device, "--threads", str(args.threads), "--no-progress", "--save-every", "0"]
    if command == "train":
        layers, hidden, heads, ffn = SHAPES[shape_name]
        argv = ["train", *data, *run, "--random-init", "--layers", str(layers), "--hidden", str(hidden),
                "--heads", str(heads), "--ffn", str(ffn), "--max-pos", "128"]
        record = out / "mcubert_train.json"
    else:
        argv = ["distill", *data, *run, "--init", str(models["init"]), "--teacher", str(models["teacher"]),
                "--eval-every", "0"]
        record = out / "finetune.json"
    torchrun(nproc, argv, args.threads)
    rec = json.loads(record.read_text())
    seconds = float(rec["train_seconds"])
    return {"shape": shape_name, "command": command, "processes": nproc, "threads_per_process": args.threads,
            "device": args.device, "global_batch": args.batch_size, "steps": int(rec["step"]),
            "train_seconds": seconds, "steps_per_second": round(int(rec["step"]) / max(seconds, 1e-9), 2)}


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"{'shape':10} {'command':8} {'device':6} {'procs':>5} {'thr/p':>5} {'batch':>5} {'steps':>5} "
          f"{'seconds':>8} {'steps/s':>8} {'vs 1 proc':>9}")
    base: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (r["shape"], r["command"])
        if r["processes"] == 1:
            base[key] = r["steps_per_second"]
        rel = r["steps_per_second"] / base[key] if key in base else float("nan")
        print(f"{r['shape']:10} {r['command']:8} {r['device']:6} {r['processes']:>5} {r['threads_per_process']:>5} "
              f"{r['global_batch']:>5} {r['steps']:>5} {r['train_seconds']:>8.1f} {r['steps_per_second']:>8.2f} "
              f"{rel:>8.2f}x")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", default="test,bert-tiny", help="comma list of %s" % ", ".join(SHAPES))
    ap.add_argument("--commands", default="train,distill", help="comma list of train, distill")
    ap.add_argument("--procs", default="1,2", help="process counts (default: %(default)s)")
    ap.add_argument("--device", choices=("cpu", "cuda", "auto"), default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per process (default: %(default)s)")
    ap.add_argument("--steps", type=int, default=60, help="optimizer steps per run (default: %(default)s)")
    ap.add_argument("--batch-size", type=int, default=32, help="global batch (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    rows = []
    with tempfile.TemporaryDirectory(prefix="mcubert-train-bench-") as tmp:
        root = Path(tmp)
        task = write_task(root)
        for shape_name in args.shapes.split(","):
            models = prepare(root, task, shape_name) if "distill" in args.commands else {}
            for command in args.commands.split(","):
                for nproc in (int(n) for n in args.procs.split(",")):
                    rows.append(cell(root, task, models, shape_name, command, nproc, args))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

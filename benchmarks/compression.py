#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Word-embedding compression at one parameter budget: uncompressed vs SVD vs pruning vs clustered low-rank.

For each student shape, side by side: the uncompressed student (the teacher), one global truncated SVD of
the word embedding, vocabulary pruning (the most frequent SST-2 train tokens kept, the rest mapped to
[UNK]) and the clustered low-rank embedding (mcubert.compress), all at the same parameter budget and all
fine-tuned the same way (distillation from the uncompressed student). The shape column is each model's
own (layers/hidden/heads/FFN): under a flash budget the search may narrow the FFN (`--ffn`), and the
baselines are then run at the shape it chose. Columns: parameters, SST-2 dev
accuracy in float before fine-tuning, of the kept (best-on-dev) checkpoint, and averaged over the last
fine-tuning epoch's evaluations (dev has 872 sentences: one is 0.11 points, and checkpoints of one run
differ by +-0.5); agreement of the kept model's dev predictions with the uncompressed student's; the
estimated flash of the model (mcubert.compress.flash_estimate, without the packed vocabulary) and, with
--int8 and a converter that takes clustered embeddings, the blob bytes (with the ~170 KB packed
vocabulary) and int8 accuracy on the C runtime.

  # evaluate runs made with `python -m mcubert.compress compress --method M --out RUNS/M` (M = svd, prune,
  # clustered), as samples/sst2/reproduce.sh does:
  python benchmarks/compression.py --runs /tmp/cmp-tiny --teacher samples/sst2/model
  # or make the missing runs first (about 8 minutes each on one CPU thread):
  python benchmarks/compression.py --runs /tmp/cmp-tiny --build --json

Several shapes: repeat --runs/--teacher pairs (--runs A --teacher TA --runs B --teacher TB).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
if str(HERE / "scripts") not in sys.path:
    sys.path.insert(0, str(HERE / "scripts"))

import torch  # noqa: E402

from mcubert.compression import compress  # noqa: E402

log = logging.getLogger("compression")

METHODS = ("svd", "prune", "clustered")
LABEL = {"uncompressed": "uncompressed student", "svd": "truncated SVD (one rank)",
         "prune": "vocabulary pruning", "clustered": "clustered low-rank (ours)"}


def converter_supports_clustered() -> bool:
    """True once mcubert.quantize handles the clustered low-rank embedding."""
    src = HERE / "scripts" / "mcubert" / "quantize.py"
    try:
        return "clustered" in src.read_text()
    except OSError:
        return False


def _cli_json(argv: list[str]) -> dict[str, Any] | None:
    from mcubert import cli

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = cli.main(argv + ["--json"])
    if rc != 0:
        return None
    try:
        return json.loads(buf.getvalue())
    except ValueError:
        return None


def int8_figures(model: Path, blob: Path, dev: Path, vocab: Path, calib: Path,
                 convert_args: list[str] | None = None) -> dict[str, Any]:
    """Blob bytes and int8 accuracy on the C runtime via the converter, or 'n/a (converter pending)'."""
    pending = {"blob_bytes": "n/a (converter pending)", "int8_c_accuracy": "n/a (converter pending)"}
    if model.suffix == ".pt" and not converter_supports_clustered():
        return pending
    blob.parent.mkdir(parents=True, exist_ok=True)
    try:
        conv = _cli_json(["convert", str(model), "-o", str(blob), "--vocab", str(vocab), "--calib", str(calib),
                          *(convert_args or [])])
        if conv is None or not blob.is_file():
            return {"blob_bytes": "n/a (conversion failed)", "int8_c_accuracy": "n/a (conversion failed)"}
        ev = _cli_json(["eval", str(blob), "--data", str(dev), "--engine", "c"])
    except Exception as e:  # noqa: BLE001 - the converter is another module; report, do not crash the table
        log.warning("converter: %s", e)
        return {"blob_bytes": f"n/a ({type(e).__name__})", "int8_c_accuracy": f"n/a ({type(e).__name__})"}
    return {"blob_bytes": blob.stat().st_size,
            "int8_c_accuracy": None if ev is None else ev.get("accuracy")}


def last_epoch_mean(ft: dict[str, Any]) -> float | None:
    """Mean dev accuracy over the evaluations of the last fine-tuning epoch (less noisy than the best)."""
    hist = ft.get("history") or []
    if not hist:
        return None
    last = max(h["epoch"] for h in hist)
    accs = [h["dev_accuracy"] for h in hist if h["epoch"] > max(last - 1, 0)]
    return sum(accs) / len(accs) if accs else None


def predictions(model: torch.nn.Module, data: compress.Data) -> list[int]:
    from mcubert.training.train import batched_logits

    return batched_logits(model.eval(), data.dev_x).argmax(-1).tolist()


def build(runs: Path, teacher: Path, epochs: float, threads: int, extra: list[str]) -> None:
    for m in METHODS:
        if (runs / m / "model.pt").is_file() and (runs / m / "finetune.json").is_file():
            continue
        argv = ["compress", "--method", m, "--teacher", str(teacher), "--out", str(runs / m), "--epochs", str(epochs),
                "--threads", str(threads), "--no-progress"] + extra
        if (runs / m / compress.STATE_FILE).is_file():
            argv.append("--resume")
        log.info("building %s: mcubert.compress %s", m, " ".join(argv))
        t0 = time.perf_counter()
        if compress.main(argv) != 0:
            raise SystemExit(f"building {m} failed")
        log.info("%s built in %.0f s", m, time.perf_counter() - t0)


def rows_for(runs: Path, teacher: Path, data: compress.Data, args: argparse.Namespace,
             with_teacher: bool = True) -> list[dict[str, Any]]:
    t_cfg, t_model = compress.load_any(teacher)
    ref = compress.count_params(t_model)
    shape = (f"{t_cfg['num_hidden_layers']}/{t_cfg['hidden_size']}/{t_cfg['num_attention_heads']}/"
             f"{t_cfg['intermediate_size']}")
    V, d = int(t_cfg["vocab_size"]), int(t_cfg["hidden_size"])
    tag = shape.replace("/", "-")
    rows = []
    acc = compress.evaluate(t_model, data.dev_x, data.dev_y)
    t_pred = predictions(t_model, data)
    row: dict[str, Any] = {"runs": runs.name, "shape": shape, "method": "uncompressed", "params": ref, "ratio": 1.0,
                           "embedding_params": V * d, "float_dev_accuracy": acc, "float_dev_accuracy_init": acc,
                           "agreement": 1.0,
                           "flash_estimate": compress.flash_estimate(t_cfg, [V], [d], V) - d * d
                           - compress.CLUSTER_RECORD_BYTES - 2 * V}
    if args.int8 and with_teacher:
        row.update(int8_figures(teacher, args.work / tag / "uncompressed.mcub", args.dev, args.vocab, args.calib,
                                args.convert_args.split()))
    if with_teacher:
        rows.append(row)
    variants = sorted(p.name for p in runs.glob("clustered_*") if (p / "model.pt").is_file())
    for m in (*METHODS, *variants):
        path = runs / m / "model.pt"
        if not path.is_file():
            log.warning("%s: missing (make it with --build)", path)
            continue
        info = compress.describe(path)
        _, model = compress.load_any(path)
        acc = compress.evaluate(model, data.dev_x, data.dev_y)
        search = json.loads((runs / m / "search.json").read_text()) if (runs / m / "search.json").is_file() else {}
        ft = json.loads((runs / m / "finetune.json").read_text()) if (runs / m / "finetune.json").is_file() else {}
        c = model.config
        m_shape = f"{c.num_hidden_layers}/{c.hidden_size}/{c.num_attention_heads}/{c.intermediate_size}"
        row = {"runs": runs.name, "shape": m_shape, "method": m, "params": info["params"], "ratio": ref / info["params"],
               "embedding_params": info["embedding_params"], "clusters": info["clusters"],
               "float_dev_accuracy": acc,
               "float_dev_accuracy_init": search.get("dev_accuracy_init", ft.get("dev_accuracy_init")),
               "float_dev_accuracy_last_epoch_mean": last_epoch_mean(ft),
               "agreement": sum(int(a == b) for a, b in zip(predictions(model, data), t_pred)) / len(t_pred),
               "flash_estimate": info["flash_estimate"],
               "ranks": info["ranks"] if info["clusters"] <= 8 else f"{min(info['ranks'])}..{max(info['ranks'])}",
               "search_seconds": (search.get("timings_s") or {}).get("total"),
               "finetune_seconds_per_epoch": ft.get("seconds_per_epoch")}
        if args.int8:
            row.update(int8_figures(path, args.work / tag / f"{m}.mcub", args.dev, args.vocab, args.calib,
                                    args.convert_args.split()))
        rows.append(row)
    return rows


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if pct:
        return f"{100 * v:.2f} %"
    return f"{v:,}" if isinstance(v, int) else f"{v:.2f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = ["runs", "shape", "method", "parameters", "x smaller", "word emb.", "float dev (init)", "float dev",
            "(last-epoch mean)", "agree", "flash est. B", "blob B", "int8 C dev"]
    table = [head]
    for r in rows:
        label = LABEL.get(r["method"]) or f"clustered low-rank (ours, {r['method'].split('_', 1)[1]})"
        table.append([r["runs"], r["shape"], label, _fmt(r["params"]), f"{r['ratio']:.2f}",
                      _fmt(r["embedding_params"]), _fmt(r.get("float_dev_accuracy_init"), True),
                      _fmt(r["float_dev_accuracy"], True), _fmt(r.get("float_dev_accuracy_last_epoch_mean"), True),
                      _fmt(r.get("agreement"), True),
                      _fmt(r.get("flash_estimate")),
                      _fmt(r.get("blob_bytes", "n/a (not run)")),
                      _fmt(r.get("int8_c_accuracy", "n/a (not run)"), True)])
    widths = [max(len(str(row[i])) for row in table) for i in range(len(head))]
    for n, row in enumerate(table):
        print("  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    root = Path(os.environ.get("MCUBERT_DATA") or HERE.parent / "shared" / "data")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, action="append", required=True,
                    help="directory with svd/, prune/, clustered/ runs of mcubert.compress (repeatable)")
    ap.add_argument("--teacher", type=Path, action="append",
                    help="the uncompressed student of each --runs (default: samples/sst2/model)")
    ap.add_argument("--build", action="store_true", help="make missing runs first (mcubert.compress compress)")
    ap.add_argument("--epochs", type=float, default=2.0, help="fine-tuning epochs for --build (default: %(default)s)")
    ap.add_argument("--build-args", default="", help="extra mcubert.compress arguments for --build, one string")
    ap.add_argument("--int8", action="store_true",
                    help="also convert with the mcubert converter and measure int8 accuracy on the C runtime")
    ap.add_argument("--convert-args", default="",
                    help="extra `mcubert convert` arguments for --int8, one string (e.g. \"--max-seq-len 64 "
                         "--trim-positions\")")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mcubert-compression-bench"), help="blobs go here")
    ap.add_argument("--train", type=Path, default=root / "glue/SST-2/train.tsv")
    ap.add_argument("--dev", type=Path, default=root / "glue/SST-2/dev.tsv")
    ap.add_argument("--vocab", type=Path, default=root / "vocab/bert-base-uncased-vocab.txt")
    ap.add_argument("--calib", type=Path, default=HERE / "samples/sst2/calib.txt")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    teachers = args.teacher or [HERE / "samples/sst2/model"] * len(args.runs)
    if len(teachers) != len(args.runs):
        ap.error("give one --teacher per --runs")
    if not args.int8:
        log.info("blob bytes / int8 accuracy: %s", "pass --int8 to measure" if converter_supports_clustered()
                 else "n/a (converter pending)")
    data = compress.load_data(args.train, args.dev, args.vocab, 64, limit=1)
    rows: list[dict[str, Any]] = []
    done: set[Path] = set()
    for runs, teacher in zip(args.runs, teachers):
        if args.build:
            build(runs, teacher, args.epochs, args.threads, args.build_args.split())
        rows += rows_for(runs, teacher, data, args, with_teacher=teacher.resolve() not in done)
        done.add(teacher.resolve())
    if not args.int8:
        pending = "n/a (converter pending)" if not converter_supports_clustered() else "n/a (pass --int8)"
        for r in rows:
            r.setdefault("blob_bytes", pending)
            r.setdefault("int8_c_accuracy", pending)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

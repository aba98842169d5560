#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Word-embedding compression at one parameter budget: uncompressed vs SVD vs pruning vs clustered low-rank.

For each student shape, side by side: the uncompressed student (the teacher), one global truncated SVD of
the word embedding, vocabulary pruning (the most frequent SST-2 train tokens kept, the rest mapped to
[UNK]) and the clustered low-rank embedding (mcubert.compression), all at the same parameter budget and all
fine-tuned the same way (distillation from the uncompressed student). The shape column is each model's
own (layers/hidden/heads/FFN): under a flash budget the search may narrow the FFN (`--ffn`), and the
baselines are then run at the shape it chose. Columns: parameters, SST-2 dev
accuracy in float before fine-tuning, of the kept (best-on-dev) checkpoint, and averaged over the last
fine-tuning epoch's evaluations (dev has 872 sentences: one is 0.11 points, and checkpoints of one run
differ by +-0.5); agreement of the kept model's dev predictions with the uncompressed student's; the
estimated flash of the model (mcubert.compression.budget.flash_estimate, without the packed vocabulary)
and, with --int8, the blob bytes (with the ~170 KB packed vocabulary) and int8 accuracy on the C runtime.
It calls the library (mcubert.compression, mcubert.training.distill, the converter), never the CLI.

  # evaluate runs made with `mcubert compress --method M --out RUNS/M` (M = svd, prune, clustered),
  # as samples/sst2/reproduce.sh does:
  python benchmarks/compression.py --runs /tmp/cmp-tiny --teacher samples/sst2/model
  # or make the missing runs first (about 8 minutes each on one CPU thread):
  python benchmarks/compression.py --runs /tmp/cmp-tiny --build --json

Several shapes: repeat --runs/--teacher pairs (--runs A --teacher TA --runs B --teacher TB). --build-config
sets SearchConfig / DistillConfig fields for --build as JSON, e.g. '{"flash_budget": 1966080, "ffn": [96, 128]}'.
"""

from __future__ import annotations

import argparse
import dataclasses
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

from mcubert.compression.budget import CLUSTER_RECORD_BYTES, flash_estimate  # noqa: E402
from mcubert.compression.corpus import Data, load_data  # noqa: E402
from mcubert.compression.model_io import count_params, describe, evaluate, load_any  # noqa: E402
from mcubert.compression.pipeline import compress  # noqa: E402
from mcubert.compression.search import SearchConfig  # noqa: E402
from mcubert.tokenization import make_tokenizer  # noqa: E402
from mcubert.training import batched_logits  # noqa: E402
from mcubert.training.distill import RECORD_FILE, STATE_FILE, DistillConfig  # noqa: E402

log = logging.getLogger("compression")

METHODS = ("svd", "prune", "clustered")
LABEL = {"uncompressed": "uncompressed student", "svd": "truncated SVD (one rank)",
         "prune": "vocabulary pruning", "clustered": "clustered low-rank (ours)"}


def converter_supports_clustered() -> bool:
    """True when the converter reads the clustered low-rank embedding."""
    from mcubert.conversion import checkpoint

    return hasattr(checkpoint.Checkpoint, "clustered")


def convert_blob(model: Path, blob: Path, vocab: Path, calib: Path, max_seq_len: int = 128,
                 trim_positions: bool = False, calib_count: int = 256) -> bytes:
    """Quantise `model` into `blob` (the packed vocabulary included) with `mcubert.convert` and return its bytes."""
    import mcubert

    out = mcubert.convert(model, calib=calib, calib_count=calib_count, max_seq_len=max_seq_len, vocab=vocab,
                          trim_positions=trim_positions)
    blob.parent.mkdir(parents=True, exist_ok=True)
    out.save(blob)
    return out.data


def int8_accuracy(blob_bytes: bytes, dev: Path, vocab: Path) -> float:
    """Accuracy of the blob on the C runtime (host build) over a labelled TSV."""
    from mcubert.formats import blob
    from mcubert.targets.native import Runtime
    from mcubert.training import data

    b = blob.unpack(blob_bytes)
    labels = b.meta().get("labels") or [f"LABEL_{i}" for i in range(b.cfg.n_labels)]
    rt = Runtime(blob_bytes)
    examples = data.read_examples(dev)
    correct = 0
    encoded = make_tokenizer(vocab).encode_batch([e.pair for e in examples], b.cfg.max_seq_len)
    for ex, (ids, types) in zip(examples, encoded):
        rt.infer(ids, types)
        correct += int(int(rt.logits(b.cfg.n_labels).argmax()) == data.label_index(ex.label, labels))
    return correct / len(examples)


def int8_figures(model: Path, blob: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Blob bytes and int8 accuracy on the C runtime, or 'n/a (...)' saying why not."""
    if model.suffix == ".pt" and not converter_supports_clustered():
        return {"blob_bytes": "n/a (converter pending)", "int8_c_accuracy": "n/a (converter pending)"}
    try:
        data_bytes = convert_blob(model, blob, args.vocab, args.calib, args.max_seq_len, args.trim_positions)
        acc = int8_accuracy(data_bytes, args.dev, args.vocab)
    except Exception as e:  # noqa: BLE001 - the converter is another package; report, do not crash the table
        log.warning("converter: %s", e)
        return {"blob_bytes": f"n/a ({type(e).__name__})", "int8_c_accuracy": f"n/a ({type(e).__name__})"}
    return {"blob_bytes": len(data_bytes), "int8_c_accuracy": acc}


def last_epoch_mean(ft: dict[str, Any]) -> float | None:
    """Mean dev accuracy over the evaluations of the last fine-tuning epoch (less noisy than the best)."""
    hist = ft.get("history") or []
    if not hist:
        return None
    last = max(h["epoch"] for h in hist)
    accs = [h["dev_accuracy"] for h in hist if h["epoch"] > max(last - 1, 0)]
    return sum(accs) / len(accs) if accs else None


def predictions(model: torch.nn.Module, data: Data) -> list[int]:
    return batched_logits(model.eval(), data.dev_x).argmax(-1).tolist()


def build_configs(method: str, runs: Path, teacher: Path, args: argparse.Namespace
                  ) -> tuple[SearchConfig, DistillConfig]:
    """The search and distillation of one run (RUNS/METHOD), with --build-config's fields on top."""
    extra = json.loads(args.build_config or "{}")
    common = {"teacher": teacher, "out": runs / method, "train": args.train, "dev": args.dev, "vocab": args.vocab,
              "threads": args.threads, "progress": False}
    fields = {f.name for f in dataclasses.fields(SearchConfig)}
    search = SearchConfig(**common, method=method, **{k: (tuple(v) if isinstance(v, list) else v)
                                                       for k, v in extra.items() if k in fields})
    dfields = {f.name for f in dataclasses.fields(DistillConfig)}
    unknown = set(extra) - fields - dfields
    if unknown:
        raise SystemExit(f"--build-config: unknown fields {sorted(unknown)}")
    distill = DistillConfig(**common, init=runs / method / "init.pt", epochs=args.epochs,
                            **{k: v for k, v in extra.items() if k in dfields and k not in common})
    return search, distill


def build(runs: Path, teacher: Path, args: argparse.Namespace) -> None:
    for m in METHODS:
        if (runs / m / "model.pt").is_file() and (runs / m / RECORD_FILE).is_file():
            continue
        search, distill = build_configs(m, runs, teacher, args)
        resume = (runs / m / STATE_FILE).is_file()
        log.info("building %s in %s%s", m, runs / m, " (resuming)" if resume else "")
        t0 = time.perf_counter()
        compress(search, distill, resume=resume)
        log.info("%s built in %.0f s", m, time.perf_counter() - t0)


def rows_for(runs: Path, teacher: Path, data: Data, args: argparse.Namespace,
             with_teacher: bool = True) -> list[dict[str, Any]]:
    t_cfg, t_model = load_any(teacher)
    ref = count_params(t_model)
    shape = (f"{t_cfg['num_hidden_layers']}/{t_cfg['hidden_size']}/{t_cfg['num_attention_heads']}/"
             f"{t_cfg['intermediate_size']}")
    V, d = int(t_cfg["vocab_size"]), int(t_cfg["hidden_size"])
    tag = shape.replace("/", "-")
    rows = []
    acc = evaluate(t_model, data.dev_x, data.dev_y)
    t_pred = predictions(t_model, data)
    row: dict[str, Any] = {"runs": runs.name, "shape": shape, "method": "uncompressed", "params": ref, "ratio": 1.0,
                           "embedding_params": V * d, "float_dev_accuracy": acc, "float_dev_accuracy_init": acc,
                           "agreement": 1.0,
                           "flash_estimate": flash_estimate(t_cfg, [V], [d], V) - d * d
                           - CLUSTER_RECORD_BYTES - 2 * V}
    if args.int8 and with_teacher:
        row.update(int8_figures(teacher, args.work / tag / "uncompressed.mcub", args))
    if with_teacher:
        rows.append(row)
    variants = sorted(p.name for p in runs.glob("clustered_*") if (p / "model.pt").is_file())
    for m in (*METHODS, *variants):
        path = runs / m / "model.pt"
        if not path.is_file():
            log.warning("%s: missing (make it with --build)", path)
            continue
        info = describe(path)
        _, model = load_any(path)
        acc = evaluate(model, data.dev_x, data.dev_y)
        search = json.loads((runs / m / "search.json").read_text()) if (runs / m / "search.json").is_file() else {}
        ft = json.loads((runs / m / RECORD_FILE).read_text()) if (runs / m / RECORD_FILE).is_file() else {}
        c = model.config
        m_shape = f"{c.num_hidden_layers}/{c.hidden_size}/{c.num_attention_heads}/{c.intermediate_size}"
        row = {"runs": runs.name, "shape": m_shape, "method": m, "params": info["params"],
               "ratio": ref / info["params"],
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
            row.update(int8_figures(path, args.work / tag / f"{m}.mcub", args))
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
                    help="directory with svd/, prune/, clustered/ runs of `mcubert compress` (repeatable)")
    ap.add_argument("--teacher", type=Path, action="append",
                    help="the uncompressed student of each --runs (default: samples/sst2/model)")
    ap.add_argument("--build", action="store_true", help="make missing runs first (search, then distill)")
    ap.add_argument("--epochs", type=float, default=2.0,
                    help="distillation epochs for --build (default: %(default)s)")
    ap.add_argument("--build-config", default="",
                    help="SearchConfig / DistillConfig fields for --build, as JSON (e.g. '{\"ratio\": 7}')")
    ap.add_argument("--int8", action="store_true",
                    help="also convert with the mcubert converter and measure int8 accuracy on the C runtime")
    ap.add_argument("--max-seq-len", type=int, default=128, help="--int8: blob sequence length (default: 128)")
    ap.add_argument("--trim-positions", action="store_true",
                    help="--int8: store only --max-seq-len position rows (as `mcubert convert --trim-positions`)")
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
    data = load_data(args.train, args.dev, args.vocab, 64, limit=1)
    rows: list[dict[str, Any]] = []
    done: set[Path] = set()
    for runs, teacher in zip(args.runs, teachers):
        if args.build:
            build(runs, teacher, args)
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

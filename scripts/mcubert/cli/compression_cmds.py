# SPDX-License-Identifier: Apache-2.0
"""`mcubert search | distill | compress`: the compression commands of the command line.

search    stage 1 (clusters) + stage 2 (ranks) under a budget: OUT/init.pt, OUT/search.json
distill   distil the uncompressed teacher into a searched model: OUT/model.pt, OUT/finetune.json
compress  search, then distill (OUT/init.pt, OUT/model.pt)

The handlers turn arguments into configs and call the library (mcubert.compression, mcubert.training.distill);
only this module prints. `mcubert info` / `mcubert eval` describe and evaluate the model.pt they write.
"""

from __future__ import annotations

import argparse
import functools
import os
from pathlib import Path
from typing import Any, Callable

from mcubert.cli.common import CliError, emit
from mcubert.cli.training_cmds import add_device_args
from mcubert.units import parse_size

DEFAULT_TEACHER = Path(__file__).resolve().parents[3] / "samples/sst2/model"
SEARCH_KEYS = ("method", "params", "ratio", "embedding_params", "dev_accuracy_init", "score", "timings_s")
DISTILL_KEYS = ("best_dev_accuracy", "saved_dev_accuracy", "dev_accuracy_init", "score", "step", "wall_seconds",
                "seconds_per_epoch", "finished")


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma list of integers: {text}") from None


def _data_arg(rel: str) -> dict[str, Any]:
    """Default into $MCUBERT_DATA (laid out like shared/data) when it is set; otherwise the user names it."""
    root = os.environ.get("MCUBERT_DATA")
    return {"default": Path(root) / rel} if root else {"required": True}


def add_data_args(p: argparse.ArgumentParser) -> None:
    """--train, --dev, --vocab: a labelled task and its vocabulary (one definition for every training verb)."""
    p.add_argument("--train", type=Path, **_data_arg("glue/SST-2/train.tsv"),
                   help="training TSV (default: $MCUBERT_DATA/glue/SST-2/train.tsv)")
    p.add_argument("--dev", type=Path, **_data_arg("glue/SST-2/dev.tsv"),
                   help="dev TSV (default: $MCUBERT_DATA/glue/SST-2/dev.tsv)")
    p.add_argument("--vocab", type=Path, **_data_arg("vocab/bert-base-uncased-vocab.txt"),
                   help="WordPiece vocabulary (default: $MCUBERT_DATA/vocab/bert-base-uncased-vocab.txt)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--teacher", type=Path, default=DEFAULT_TEACHER,
                   help="uncompressed classifier (HF dir or model.pt) (default: %(default)s)")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    add_data_args(p)
    p.add_argument("--max-len", type=int, default=64, help="tokens, with [CLS]/[SEP] (default: %(default)s)")
    p.add_argument("--limit-train", type=int, help="use only the first N training sentences")
    p.add_argument("--seed", type=int, default=0)
    add_device_args(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def _search_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", choices=("clustered", "svd", "prune"), default="clustered",
                   help="clustered low-rank (ours) or a baseline at the same budget (default: %(default)s)")
    b = p.add_mutually_exclusive_group()
    b.add_argument("--param-budget", type=int, help="total parameters of the compressed model")
    b.add_argument("--flash-budget", type=parse_size,
                   help="blob bytes, e.g. 1MB: int8 weights, the token index and the packed vocabulary (estimated)")
    b.add_argument("--ratio", type=float, default=7.0,
                   help="parameters = teacher's / RATIO when no budget is given (default: %(default)s)")
    p.add_argument("--max-pos", type=int, default=128,
                   help="keep this many position embeddings (SST-2 sentences are <= 64 tokens; default: %(default)s)")
    p.add_argument("--no-vocab-in-budget", action="store_true",
                   help="the flash budget is for the model only (blob converted with --no-vocab)")
    p.add_argument("--clusters", type=_ints, default=None,
                   help="cluster counts K to try, best weighted error wins (default: 16,32,64)")
    p.add_argument("--bands", type=_ints, default=None,
                   help="importance-rank boundaries of the initial frequency bands (default: 256,1024,4096)")
    p.add_argument("--tail-share", type=float, default=1.0,
                   help="band b gets clusters in proportion to size^S: S>0 gives the rare tail more clusters")
    p.add_argument("--cluster-init", choices=("mixed", "freq", "kmeans"), default="mixed",
                   help="initial clusters: importance bands split by k-means (mixed), by importance rank alone "
                        "(freq), or k-means of all rows (kmeans) (default: %(default)s)")
    p.add_argument("--importance", choices=("fisher", "freq", "uniform"), default="fisher",
                   help="token weights for the reconstruction error (default: %(default)s)")
    p.add_argument("--importance-power", type=float, default=None,
                   help="w_t = importance^P; P < 1 flattens towards mid-frequency tokens (default: 1.0)")
    p.add_argument("--metric", choices=("identity", "fisher"), default=None,
                   help="measure reconstruction errors in plain embedding space or in the teacher's Fisher metric "
                        "(directions the decision is insensitive to cost less) (default: fisher)")
    p.add_argument("--metric-floor", type=float, default=None,
                   help="added to the normalised Fisher metric, times the identity (default: 0.05)")
    p.add_argument("--unseen-share", type=float, default=None,
                   help="share of the weight given to tokens unseen in training; negative: Good-Turing "
                        "(default: 0.02)")
    p.add_argument("--fisher-cache", type=Path, help="reuse/store the Fisher sums here (default: OUT/fisher.npz)")
    p.add_argument("--iters", type=int, default=None, help="k-subspace refinement rounds (default: 12)")
    p.add_argument("--rank-step", type=int, default=1, help="ranks in multiples of this (e.g. 4 for SIMD)")
    p.add_argument("--max-rank", type=int, help="cap on any cluster's rank")
    p.add_argument("--ffn", type=_ints,
                   help="FFN widths to consider, e.g. 128,192,256: the teacher's FFN neurons of least output "
                        "energy are pruned (the encoder's shape is part of the search, the budget pays for it); "
                        "with several, each is distilled for --shape-steps steps and scored on held-out training "
                        "sentences, the best is kept (default: the teacher's width)")
    p.add_argument("--shape-steps", type=int, default=None,
                   help="proxy distillation steps per FFN width (default: 300)")
    p.add_argument("--min-rank-seen", type=int, default=0,
                   help="tokens seen in the training text get clusters of at least this rank, those unseen "
                        "their own clusters (distillation re-learns seen tokens' rows; 0: off)")


def _distill_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--epochs", type=float, default=None, help="default: 2.0")
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps in all")
    p.add_argument("--batch-size", type=int, default=None,
                   help="global batch: under torchrun each of N processes takes B/N of it (default: 32)")
    p.add_argument("--lr", type=float, default=None, help="encoder peak lr (default: 0.0001)")
    p.add_argument("--emb-lr", type=float, default=None,
                   help="peak lr of the tables and projections (default: 0.001)")
    p.add_argument("--weight-decay", type=float, default=None, help="default: 0.01")
    p.add_argument("--warmup", type=float, default=None, help="default: 0.06")
    p.add_argument("--kd-alpha", type=float, default=None,
                   help="weight of the logit distillation loss (default: 1.0)")
    p.add_argument("--kd-temperature", type=float, default=None, help="default: 2.0")
    p.add_argument("--logit-teacher", type=Path,
                   help="distil the logits of this classifier instead of the teacher's (e.g. MiniLM-L6 fine-tuned "
                        "on SST-2; computed once into OUT/teacher_logits.pt; a task model of the teacher's task: "
                        "its heads, computed every step); --teacher still gives the hidden states for --hidden-mse")
    p.add_argument("--hidden-mse", type=float, default=None,
                   help="weight of the hidden-state MSE to the teacher (default: 1.0)")
    p.add_argument("--eval-every", type=int, default=None, help="default: 500")
    p.add_argument("--save-every", type=int, default=None, help="default: 500")
    p.add_argument("--stop-after", type=int, help="stop, resumably, after N steps in this run")
    p.add_argument("--save-dtype", choices=("float32", "float16"), default="float32")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its state in OUT (and OUT/init.pt)")


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    """The options the user gave (left at None otherwise, so that the config's own defaults apply)."""
    return {n: getattr(args, n) for n in names if getattr(args, n) is not None}


def _common_fields(args: argparse.Namespace) -> dict[str, Any]:
    return {"teacher": args.teacher, "out": args.out, "train": args.train, "dev": args.dev, "vocab": args.vocab,
            "max_len": args.max_len, "limit_train": args.limit_train, "seed": args.seed, "threads": args.threads,
            "device": args.device, "precision": args.precision, "progress": not args.no_progress}


def search_config(args: argparse.Namespace) -> Any:
    """The SearchConfig the arguments of `mcubert search` / `mcubert compress` describe."""
    from mcubert.compression.search import SearchConfig

    given = _given(args, ("clusters", "bands", "importance_power", "metric", "metric_floor", "iters", "ffn",
                          "shape_steps"))
    if args.unseen_share is not None:
        given["unseen_share"] = None if args.unseen_share < 0 else args.unseen_share
    return SearchConfig(
        **_common_fields(args), **given, method=args.method, param_budget=args.param_budget,
        flash_budget=args.flash_budget, ratio=None if (args.param_budget or args.flash_budget) else args.ratio,
        max_pos=args.max_pos, budget_vocab=not args.no_vocab_in_budget, tail_share=args.tail_share,
        init=args.cluster_init, importance=args.importance, fisher_cache=args.fisher_cache,
        rank_step=args.rank_step, max_rank=args.max_rank, min_rank_seen=args.min_rank_seen)


def distill_config(args: argparse.Namespace, init: Path) -> Any:
    """The DistillConfig the arguments of `mcubert distill` / `mcubert compress` describe."""
    from mcubert.training.distill import DistillConfig

    given = _given(args, ("epochs", "batch_size", "lr", "emb_lr", "weight_decay", "warmup", "kd_alpha",
                          "kd_temperature", "hidden_mse", "eval_every", "save_every"))
    return DistillConfig(**_common_fields(args), **given, init=init, max_steps=args.max_steps,
                         logit_teacher=args.logit_teacher, stop_after=args.stop_after, save_dtype=args.save_dtype)


def _one_line_errors(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """CompressError (a setup the user can fix) becomes the CLI's one-line error."""
    @functools.wraps(fn)
    def wrapped(args: argparse.Namespace) -> int:
        from mcubert.compression.errors import CompressError

        try:
            return fn(args)
        except CompressError as e:
            raise CliError(str(e)) from None
    return wrapped


def _print_distilled(args: argparse.Namespace, res: dict[str, Any]) -> None:
    def human(r: dict[str, Any]) -> None:
        state = "finished" if r["finished"] else "stopped (continue with --resume)"
        print(f"{args.out / 'model.pt'}: dev {r['score']} {100 * r['best_dev_accuracy']:.2f} % (saved file "
              f"{100 * r['saved_dev_accuracy']:.2f} %, before distillation {100 * r['dev_accuracy_init']:.2f} %), "
              f"step {r['step']}, {state}, {r['wall_seconds']} s")

    emit(args, {k: res[k] for k in DISTILL_KEYS}, human)


@_one_line_errors
def cmd_search(args: argparse.Namespace) -> int:
    from mcubert.compression.search import run_search

    res = run_search(search_config(args))

    def human(r: dict[str, Any]) -> None:
        print(f"{args.out / 'init.pt'}: {r['method']}, {r['params']:,} parameters ({r['ratio']:.2f}x smaller, "
              f"{r['embedding_params']:,} in the word embedding), dev {r['score']} before distillation "
              f"{100 * r['dev_accuracy_init']:.2f} %")

    emit(args, {k: res[k] for k in SEARCH_KEYS}, human)
    return 0


@_one_line_errors
def cmd_distill(args: argparse.Namespace) -> int:
    from mcubert.compression.errors import CompressError
    from mcubert.training.distill import STATE_FILE, distill

    state = args.out / STATE_FILE
    if args.resume and not state.is_file():
        raise CompressError(f"{state}: no distillation state to resume from")
    res = distill(distill_config(args, args.init), resume=state if args.resume else None)
    _print_distilled(args, res)
    return 0


@_one_line_errors
def cmd_compress(args: argparse.Namespace) -> int:
    from mcubert.compression.pipeline import compress

    res = compress(search_config(args), distill_config(args, args.out / "init.pt"), resume=args.resume)
    _print_distilled(args, res)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="search a compressed word embedding under a budget (stage 1 + 2)",
                       description="Stage 1 (cluster assignment) and stage 2 (ranks under the budget) of the "
                                   "clustered low-rank word embedding, optionally the FFN width: writes "
                                   "OUT/init.pt (before distillation) and OUT/search.json.")
    _search_args(p)
    _common(p)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("distill", help="distil the teacher into a searched compressed model",
                       description="Distillation of the uncompressed teacher into the compressed model from "
                                   "`mcubert search` (KL on the logits + MSE of the hidden states); the best dev "
                                   "checkpoint is kept in OUT/model.pt, the record in OUT/finetune.json.")
    p.add_argument("--init", type=Path, required=True, help="OUT/init.pt of `mcubert search`")
    _distill_args(p)
    _common(p)
    p.set_defaults(func=cmd_distill)

    p = sub.add_parser("compress", help="compress a classifier for a budget: search, then distill",
                       description="`mcubert search`, then `mcubert distill` on the same data: OUT/init.pt, then "
                                   "OUT/model.pt for `mcubert convert`.")
    _search_args(p)
    _distill_args(p)
    _common(p)
    p.set_defaults(func=cmd_compress)

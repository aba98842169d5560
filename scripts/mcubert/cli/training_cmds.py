# SPDX-License-Identifier: Apache-2.0
"""`mcubert train`: the training commands of the command line."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

TRAIN_HELP = "train a small BERT on a CPU or GPU, alone or under torchrun: classify, pair, regress, tag, intent-slots"
SUMMARY_KEYS = ("task", "score", "best_dev_score", "best_dev_accuracy", "best_dev_metrics", "heldout", "step",
                "wall_seconds", "seconds_per_epoch", "finished")


def _default_data_root() -> Path | None:
    """$MCUBERT_DATA (a folder laid out like shared/data: glue/, vocab/, weights/), if set."""
    env = os.environ.get("MCUBERT_DATA")
    return Path(env) if env else None


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help=TRAIN_HELP,
        description="Train a small BERT for a task (--task: sentence or pair classification, regression, token "
                    "tagging, joint intent + slots) on a CPU or GPU, initialised from a larger pretrained BertModel, "
                    "and save the best model as a Hugging Face directory (docs/tasks.md). Prints a JSON summary "
                    "(best dev score and metrics, steps, seconds). Data-parallel over several processes with "
                    "`torchrun --nproc-per-node N -m mcubert train ...` (--batch-size is then the global batch, cut "
                    "into per-process slices).")
    _add_data_args(p)
    _add_model_args(p)
    _add_optimization_args(p)
    _add_run_args(p)
    p.set_defaults(func=cmd_train)


def _add_data_args(p: argparse.ArgumentParser) -> None:
    root = _default_data_root()

    def path_arg(rel: str) -> dict[str, Any]:
        # with $MCUBERT_DATA the data paths default into it; without, the user must name them
        return {"default": root / rel} if root else {"required": True}

    p.add_argument("--out", type=Path, required=True, help="output model directory")
    from mcubert.training.config import TASKS

    p.add_argument("--task", choices=TASKS, default="classify",
                   help="the head and loss: classify (TSV text, label), pair (TSV text, text_b, label), regress "
                        "(TSV, number labels), tag (CoNLL BIO), intent-slots (SNIPS JSON or JSON Lines; "
                        "docs/tasks.md) (default: %(default)s)")
    p.add_argument("--train", type=Path,
                   help="training data (default for classify: $MCUBERT_DATA/glue/SST-2/train.tsv)")
    p.add_argument("--dev", type=Path,
                   help="dev data (default for classify: $MCUBERT_DATA/glue/SST-2/dev.tsv; or use --holdout)")
    p.add_argument("--holdout", type=int, default=0, metavar="N",
                   help="without --dev: keep N training examples per class (intent-slots: per intent; regress, "
                        "tag: N in all) as the dev set, written to OUT/heldout.*")
    p.add_argument("--holdout-seed", type=int, default=0, help="the draw of --holdout (default: %(default)s)")
    p.add_argument("--augment-slots", type=int, default=0, metavar="N",
                   help="intent-slots: add N copies of each training utterance with every slot's text replaced by "
                        "another value of that slot from the training utterances (the dev set is never used); the "
                        "training set is written to OUT/train_augmented.jsonl")
    p.add_argument("--slot-weight", type=float, default=1.0,
                   help="intent-slots: weight of the slot loss (default: %(default)s)")
    p.add_argument("--slot-scheme", choices=("bio", "io"), default="bio",
                   help="intent-slots: tag a slot's words B-x, I-x (bio) or all I-x (io: the model only decides each "
                        "word's slot, not where slots start; the same tag set, blob and decoder; a BIO teacher's "
                        "B-x probability counts as I-x) (default: %(default)s)")
    p.add_argument("--augment-lowercase", action="store_true",
                   help="intent-slots: add a lower-case copy of every training utterance that has a capital (with "
                        "--case-types the model then also tags text without capitals, as speech recognisers give "
                        "it); written with the --augment-slots copies to OUT/train_augmented.jsonl")
    p.add_argument("--case-types", action="store_true",
                   help="tag, intent-slots: give each token the case of its word as its token type (1: the word "
                        "begins with a capital A-Z or À-Þ), which the uncased vocabulary drops; names in commands "
                        "are capitalised. The blob records it and the device computes the same types "
                        "(mcubert_tok_case_types)")
    p.add_argument("--vocab", type=Path, **path_arg("vocab/bert-base-uncased-vocab.txt"),
                   help="WordPiece vocabulary (default: $MCUBERT_DATA/vocab/bert-base-uncased-vocab.txt)")
    p.add_argument("--init-from", type=Path, default=root / "weights/all-MiniLM-L6-v2" if root else None,
                   help="pretrained BertModel directory for the initialisation "
                        "(default: $MCUBERT_DATA/weights/all-MiniLM-L6-v2; none: random initialisation)")
    p.add_argument("--random-init", action="store_true", help="no pretrained initialisation at all")
    p.add_argument("--limit-train", type=int, help="use only the first N training sentences")


def _add_model_args(p: argparse.ArgumentParser) -> None:
    from mcubert.training import SHAPES, TrainConfig

    p.add_argument("--shape", choices=sorted(SHAPES), help="preset student shape (overrides the four below)")
    p.add_argument("--layers", type=int, default=TrainConfig.layers)
    p.add_argument("--hidden", type=int, default=TrainConfig.hidden)
    p.add_argument("--heads", type=int, default=TrainConfig.heads)
    p.add_argument("--ffn", type=int, default=TrainConfig.ffn)
    p.add_argument("--max-pos", type=int, default=TrainConfig.max_pos,
                   help="max_position_embeddings (default: %(default)s)")
    p.add_argument("--init-encoder", choices=("minilm", "random"), default=TrainConfig.init_encoder,
                   help="encoder layers truncated from the source in the PCA basis, or random (default: %(default)s)")
    p.add_argument("--init-layers", default=TrainConfig.init_layers,
                   help="source layers for the student's: first, spread or e.g. 0,3 (default: %(default)s)")
    p.add_argument("--dropout", type=float, default=TrainConfig.dropout, help="default: %(default)s")
    p.add_argument("--teacher", type=Path, help="a model directory of the same task to distil from")
    p.add_argument("--kd-alpha", type=float, default=TrainConfig.kd_alpha, help="weight of the distillation loss")
    p.add_argument("--kd-temperature", type=float, default=TrainConfig.kd_temperature)


def _add_optimization_args(p: argparse.ArgumentParser) -> None:
    from mcubert.training import TrainConfig

    p.add_argument("--epochs", type=float, default=TrainConfig.epochs, help="default: %(default)s")
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps in all")
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size,
                   help="global batch: under torchrun each of N processes takes B/N of it (default: %(default)s)")
    p.add_argument("--max-len", type=int, default=TrainConfig.max_len,
                   help="tokens, with [CLS]/[SEP] (default: %(default)s)")
    p.add_argument("--lr", type=float, default=TrainConfig.lr, help="peak learning rate (default: %(default)s)")
    p.add_argument("--emb-lr", type=float, default=TrainConfig.emb_lr,
                   help="peak learning rate of the embeddings, 0 to freeze them (default: %(default)s)")
    p.add_argument("--pos-lr", type=float, default=TrainConfig.pos_lr,
                   help="peak learning rate of the position embeddings (default: as the embeddings). The word-"
                        "embedding PCA basis keeps little of the source's position embeddings (6 %% of their "
                        "variance for MiniLM to 128 dims): taggers learn word order better with --pos-lr LR")
    p.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay, help="default: %(default)s")
    p.add_argument("--warmup", type=float, default=TrainConfig.warmup, help="warmup fraction (default: %(default)s)")
    p.add_argument("--seed", type=int, default=TrainConfig.seed)


def add_device_args(p: argparse.ArgumentParser, threads: int = 1) -> None:
    """--device, --precision, --threads: where a training command runs (one definition for every verb)."""
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto",
                   help="auto: a GPU when present (under torchrun: the GPU of each process's LOCAL_RANK) "
                        "(default: %(default)s)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto",
                   help="autocast on CUDA; auto: bf16 on a GPU that has it, fp32 elsewhere (default: %(default)s)")
    p.add_argument("--threads", type=int, default=threads,
                   help="torch CPU threads per process (default: %(default)s)")


def _add_run_args(p: argparse.ArgumentParser) -> None:
    from mcubert.training import STATE_FILE, TrainConfig

    add_device_args(p, TrainConfig.threads)
    p.add_argument("--eval-every", type=int, default=TrainConfig.eval_every,
                   help="also evaluate every N steps (default: epoch ends only)")
    p.add_argument("--save-every", type=int, default=TrainConfig.save_every,
                   help="write the resumable state every N steps (default: %(default)s)")
    p.add_argument("--stop-after", type=int, help="stop, resumably, after N steps in this run")
    p.add_argument("--resume", nargs="?", const="", metavar="STATE",
                   help=f"continue from a state file (default: OUT/{STATE_FILE}); the run's settings are taken "
                        "from it, except --epochs, --max-steps, --stop-after, --device, --precision, --threads "
                        "and output options")
    p.add_argument("--keep-state", action="store_true", help=f"keep OUT/{STATE_FILE} after a finished run")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log debug messages")


def _data_paths(args: argparse.Namespace) -> tuple[Path, Path | None]:
    """--train and --dev; for classify, the SST-2 files of $MCUBERT_DATA by default."""
    from mcubert.training import TrainError

    root = _default_data_root()
    train, dev = args.train, args.dev
    if args.task == "classify" and root is not None and not args.holdout:
        train = train or root / "glue/SST-2/train.tsv"
        dev = dev or root / "glue/SST-2/dev.tsv"
    if train is None:
        raise TrainError("give the training data: --train FILE")
    return train, dev


def config_from_args(args: argparse.Namespace) -> Any:
    """The TrainConfig of a `mcubert train` command line (a new run)."""
    from mcubert.training import SHAPES, TrainConfig

    layers, hidden, heads, ffn = SHAPES[args.shape] if args.shape else (args.layers, args.hidden, args.heads, args.ffn)
    train, dev = _data_paths(args)
    return TrainConfig(
        out=args.out, train=train, dev=dev, vocab=args.vocab, task=args.task, slot_weight=args.slot_weight,
        slot_scheme=args.slot_scheme, case_types=args.case_types, augment_lowercase=args.augment_lowercase,
        holdout=args.holdout, holdout_seed=args.holdout_seed, augment_slots=args.augment_slots,
        init_from=None if args.random_init else args.init_from, layers=layers, hidden=hidden, heads=heads, ffn=ffn,
        max_pos=args.max_pos,
        init_encoder=args.init_encoder, init_layers=args.init_layers, epochs=args.epochs, max_steps=args.max_steps,
        batch_size=args.batch_size, max_len=args.max_len, lr=args.lr, emb_lr=args.emb_lr, pos_lr=args.pos_lr,
        weight_decay=args.weight_decay, warmup=args.warmup, dropout=args.dropout, seed=args.seed,
        threads=args.threads, device=args.device, precision=args.precision, eval_every=args.eval_every,
        save_every=args.save_every, stop_after=args.stop_after,
        limit_train=args.limit_train, teacher=args.teacher, kd_alpha=args.kd_alpha,
        kd_temperature=args.kd_temperature, progress=not args.no_progress, keep_state=args.keep_state)


def cmd_train(args: argparse.Namespace) -> int:
    from mcubert.training import STATE_FILE, TrainError
    from mcubert.training.recipe import resume_config, train

    if args.resume is not None:
        state = Path(args.resume) if args.resume else args.out / STATE_FILE
        if not state.is_file():
            raise TrainError(f"{state}: no training state to resume from")
        cfg = resume_config(state, out=args.out, epochs=args.epochs, max_steps=args.max_steps,
                            stop_after=args.stop_after, threads=args.threads, device=args.device,
                            precision=args.precision, progress=not args.no_progress,
                            keep_state=args.keep_state)
        summary = train(cfg, resume=state)
    else:
        summary = train(config_from_args(args))
    print(json.dumps({k: summary[k] for k in SUMMARY_KEYS if k in summary}))
    return 0

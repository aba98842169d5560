# SPDX-License-Identifier: Apache-2.0
"""The `mcubert` command line (also `python -m mcubert` and `west mcubert`).

Every command prints results for people by default and JSON with --json.
Errors are one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Sequence

from mcubert import __version__
from mcubert.cli.common import CliError

__all__ = ["CliError", "DELEGATED", "build_parser", "entry", "main"]

log = logging.getLogger("mcubert")

EXIT_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mcubert",
        description="Run compressed int8 BERT models on microcontrollers: train and compress them, convert "
                    "checkpoints to .mcub blobs, run them on the host (C runtime or numpy reference), on "
                    "emulated Cortex-M cores and on Zephyr boards.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  mcubert convert ./my-bert-sst2 -o model.mcub --calib train.tsv --max-seq-len 128\n"
               "  mcubert run model.mcub \"a gripping, funny film\"\n"
               "  mcubert eval model.mcub --data dev.tsv\n"
               "  mcubert bench model.mcub --seq-len 128 --target m7\n")
    ap.add_argument("--version", action="version", version=f"mcubert {__version__}")
    ap.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    from mcubert.cli import compression_cmds, device_cmds, model_cmds, run_cmds, training_cmds

    for mod in (training_cmds, compression_cmds):
        mod.add_parsers(sub)
    for name, (_module, text, _prefix) in DELEGATED.items():
        p = sub.add_parser(name, help=text, add_help=False, description=f"{text} (see `mcubert {name} --help`)")
        p.add_argument("args", nargs=argparse.REMAINDER)
        p.set_defaults(func=_delegate)
    for mod in (model_cmds, run_cmds, device_cmds):
        mod.add_parsers(sub)
    return ap


# Commands whose own modules parse their arguments (they have their own --help), contributed by the
# command modules beside this file. name: (module, help, arguments put before the user's).
DELEGATED: dict[str, tuple[str, str, tuple[str, ...]]] = {}


def _delegate(args: argparse.Namespace) -> int:
    import importlib

    name, _text, prefix = DELEGATED[args.command]
    module = importlib.import_module(name)
    return int(module.main([*prefix, *args.args]) or 0)


def _user_errors() -> tuple[type[BaseException], ...]:
    from mcubert.conversion.api import ConvertError
    from mcubert.conversion.checkpoint import CheckpointError
    from mcubert.formats.blob import BlobError
    from mcubert.numerics.quantize import QuantError
    from mcubert.numerics.reference import InputError
    from mcubert.targets.native import RuntimeErrno
    from mcubert.targets.qemu import QemuError
    from mcubert.tokenization import TokenizerError
    from mcubert.training import TrainError
    from mcubert.training.data import DataError

    return (CliError, FileNotFoundError, BlobError, CheckpointError, ConvertError, DataError, RuntimeErrno,
            QuantError, InputError, TrainError, QemuError, TokenizerError)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = build_parser()
    if argv and argv[0] in DELEGATED:  # their own parsers see every argument, --help included
        args = argparse.Namespace(command=argv[0], args=argv[1:], func=_delegate, verbose=False)
    else:
        args = ap.parse_args(argv)
    _logging(args.verbose)
    if not getattr(args, "func", None):
        ap.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except _user_errors() as e:
        print(f"mcubert: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("mcubert: interrupted", file=sys.stderr)
        return 130
    finally:
        dist = sys.modules.get("mcubert.training.distributed")
        if dist is not None:  # leave torchrun's process group, if this process joined one
            dist.shutdown()


def _logging(verbose: bool) -> None:
    """Logging to stderr; under torchrun only rank 0 logs below warnings and prints results."""
    from mcubert.training.config import env_rank

    rank = env_rank()
    level = logging.DEBUG if verbose else logging.INFO
    prefix = f"[rank {rank}] " if rank else ""
    logging.basicConfig(level=logging.WARNING if rank else level, stream=sys.stderr,
                        format=prefix + "%(levelname)s: %(message)s")
    if rank:
        sys.stdout = open(os.devnull, "w")  # for the life of the process


def entry() -> None:
    try:
        sys.exit(main())
    except BrokenPipeError:  # `mcubert info x.mcub | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)

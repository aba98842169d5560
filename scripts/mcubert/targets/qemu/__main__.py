# SPDX-License-Identifier: Apache-2.0
"""`python -m mcubert.targets.qemu`: check, build, selftest and run from the shell."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcubert.targets.qemu.harness import build_harness
from mcubert.targets.qemu.machines import DUMP_FLAGS, TARGETS, QemuError
from mcubert.targets.qemu.plugin import build_plugin, fetch_plugin_header
from mcubert.targets.qemu.runner import init_errno, run_harness, selftest
from mcubert.targets.qemu.toolchain import (
    check_prerequisites,
    install_prerequisites,
    qemu_version,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------
# Command line (python -m mcubert.targets.qemu)

def _main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mcubert.targets.qemu", description=__doc__.split("\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check", help="check (or --install) the prerequisites")
    p.add_argument("--install", action="store_true")
    p = sub.add_parser("build", help="build the plugin and harness(es)")
    p.add_argument("--target", action="append", choices=list(TARGETS))
    p = sub.add_parser("selftest", help="verify the instruction counter on a known loop")
    p.add_argument("--target", default="m7", choices=list(TARGETS))
    p.add_argument("--loops", type=int, default=100000)
    p = sub.add_parser("run", help="run a blob on token ids; prints JSON")
    p.add_argument("blob", type=Path)
    p.add_argument("--ids", action="append", help="comma-separated token ids (repeatable: one per sequence)")
    p.add_argument("--types", action="append", help="comma-separated type ids (the n-th for the n-th --ids)")
    p.add_argument("--target", default="m7", choices=list(TARGETS))
    p.add_argument("--dump", default="logits", choices=list(DUMP_FLAGS))
    p.add_argument("--per-op", action="store_true")
    p.add_argument("--init-only", action="store_true", help="only print mcubert_init()'s return")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    try:
        if args.cmd == "check":
            if args.install:
                install_prerequisites()
            check_prerequisites()
            sys.stdout.write(f"ok: qemu {'.'.join(map(str, qemu_version()))}, "
                             f"plugin header {fetch_plugin_header()}\n")
        elif args.cmd == "build":
            sys.stdout.write(f"plugin: {build_plugin()}\n")
            for name in args.target or list(TARGETS):
                h = build_harness(name)
                sys.stdout.write(f"{name} ({h.target.machine}): {h.elf}\n")
        elif args.cmd == "selftest":
            n = selftest(args.loops, args.target)
            ok = n == 2 * args.loops
            sys.stdout.write(f"{args.target}: counted {n}, expected {2 * args.loops}: {'ok' if ok else 'WRONG'}\n")
            return 0 if ok else 1
        elif args.cmd == "run":
            if args.init_only:
                rc = init_errno(args.blob, args.target)
                sys.stdout.write(json.dumps({"init_rc": rc, "err": errno.errorcode.get(-rc) if rc else None}) + "\n")
                return 0
            if not args.ids:
                ap.error("run needs --ids (or --init-only)")
            types = args.types or []
            seqs = []
            for i, s in enumerate(args.ids):
                ids = [int(v) for v in s.split(",") if v]
                tt = [int(v) for v in types[i].split(",") if v] if i < len(types) else None
                seqs.append((ids, tt))
            res = run_harness(args.blob, seqs, target=args.target, dump=args.dump, per_op=args.per_op)

            def plain(v: Any) -> Any:
                return v.tolist() if isinstance(v, np.ndarray) else v

            sys.stdout.write(json.dumps({
                "target": res.target, "memory": res.memory, "init": res.init, "config": res.config,
                "arena_size": res.arena_size, "calibration": res.calibration, "wall_s": round(res.wall_s, 3),
                "sequences": [{k: plain(v) for k, v in s.items()} for s in res.sequences]}, indent=1) + "\n")
    except (QemuError, ValueError, OSError) as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main())

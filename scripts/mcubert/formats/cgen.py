# SPDX-License-Identifier: Apache-2.0
"""The C files generated from Python, and how they are written and checked.

Every fact C and Python share (blob layout, arithmetic tables, the tokenizer's
tables and constants, kernel ids, plan records) has one source of truth in
Python; the C side is rendered from it. ``GENERATED`` lists each generated file
with the function that renders it, and::

    python -m mcubert.formats.cgen --check     # exit 1 naming every stale file (a test runs this)
    python -m mcubert.formats.cgen --write     # regenerate them all

Renderers use :func:`banner` and :func:`rows` so the files look alike.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path
from typing import Callable, Iterable, Sequence

log = logging.getLogger(__name__)

REGENERATE = "python -m mcubert.formats.cgen --write"

# repository path -> "module:function" returning the file's text
GENERATED: dict[str, str] = {
    "include/mcubert/blob_format.h": "mcubert.formats.blob:render_c_header",
    "subsys/mcubert/kernels/exp2_lut.c": "mcubert.numerics.arith:render_exp2_lut_c",
    "subsys/mcubert/tokenizer_tables.c": "mcubert.formats.tokenizer_tables:render_c",
    "tools/baremetal/kernel_calls.h": "mcubert.targets.kernel_ids:render_c_header",
    "subsys/mcubert/plan_sizes.h": "mcubert.planning.buffers:render_c_header",
    "subsys/mcubert/vocab_format.h": "mcubert.formats.vocab:render_c_header",
    "subsys/mcubert/bounds.h": "mcubert.numerics.bounds:render_c_header",
}


def banner(source: str, *notes: str, comment_open: str = "/*") -> list[str]:
    """The licence block and the 'generated, do not edit' note that open every generated C file."""
    return [
        "/*",
        " * Copyright (c) 2026 The mcubert developers",
        " *",
        " * SPDX-License-Identifier: Apache-2.0",
        " */",
        "",
        comment_open,
        f" * GENERATED from {source} by `{REGENERATE}`.",
        *(f" * {n}" if n else " *" for n in notes),
        " * Do not edit: change the Python source and regenerate (a test checks they agree).",
        " */",
        "",
    ]


def rows(values: Sequence[int], fmt: str = "{}", per: int = 8) -> list[str]:
    """Initialiser rows of a C array: ``per`` values a line, each formatted by ``fmt``, tab-indented."""
    return ["\t" + " ".join(fmt.format(v) + "," for v in values[i:i + per]) for i in range(0, len(values), per)]


def renderer(path: str) -> Callable[[], str]:
    module, func = GENERATED[path].split(":")
    return getattr(importlib.import_module(module), func)


def stale(root: Path, paths: Iterable[str] | None = None) -> list[str]:
    """The generated files under ``root`` whose contents differ from their renderer's output."""
    out = []
    for path in paths or GENERATED:
        f = root / path
        if not f.is_file() or f.read_text() != renderer(path)():
            out.append(path)
    return out


def write(root: Path) -> list[str]:
    """Regenerate every file that is stale; returns the paths written."""
    written = stale(root)
    for path in written:
        (root / path).write_text(renderer(path)())
    return written


def main(argv: Sequence[str] | None = None) -> int:
    from mcubert.paths import repo_root

    ap = argparse.ArgumentParser(prog="python -m mcubert.formats.cgen", description=__doc__.split("\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 if any generated file is stale")
    mode.add_argument("--write", action="store_true", help="regenerate the stale files")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    root = repo_root()
    if args.check:
        bad = stale(root)
        for path in bad:
            log.error("stale: %s (run `%s`)", path, REGENERATE)
        return 1 if bad else 0
    for path in write(root):
        log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

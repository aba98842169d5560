# SPDX-License-Identifier: Apache-2.0
"""`mcubert search | distill | compress`: the compression commands of the command line."""

from __future__ import annotations

import argparse

from mcubert import cli


def add_parsers(sub: argparse._SubParsersAction) -> None:
    cli.DELEGATED.update({
        "compress": ("mcubert.compression.compress",
                     "clustered low-rank embeddings: search, finetune (distil), compress (both), eval, info", ()),
        "search": ("mcubert.compression.compress",
                   "two-stage search: clusters (stage 1) and ranks under a budget (stage 2) = `compress search`",
                   ("search",)),
        "distill": ("mcubert.compression.compress",
                    "distil a teacher into a searched compressed model = `compress finetune`", ("finetune",)),
    })

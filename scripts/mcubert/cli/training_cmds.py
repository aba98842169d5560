# SPDX-License-Identifier: Apache-2.0
"""`mcubert train`: the training commands of the command line."""

from __future__ import annotations

import argparse

from mcubert import cli


def add_parsers(sub: argparse._SubParsersAction) -> None:
    cli.DELEGATED["train"] = ("mcubert.training.train",
                              "train a small BERT classifier on the CPU (SST-2 style TSV)", ())

# SPDX-License-Identifier: Apache-2.0
"""`mcubert zephyr-overlay | hil`: put a blob on a Zephyr board.

Their parsers and handlers live beside the library code they drive (`targets/zephyr.py`, `targets/hil.py`),
which also serves `python -m mcubert.targets.zephyr` and `python -m mcubert.targets.hil`; this module puts
them on the one command tree.
"""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction) -> None:
    from mcubert.targets import hil, zephyr

    zephyr.add_parser(sub)
    hil.add_parser(sub)

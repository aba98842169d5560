# SPDX-License-Identifier: Apache-2.0
"""Byte sizes as people type them (``200K``, ``1.5MiB``) and as the tools print them."""

from __future__ import annotations

import argparse


def parse_size(text: str) -> int:
    """Bytes with an optional K/M/KB/MB/KiB/MiB suffix (1K = 1024); argparse's ``type=`` for sizes."""
    t = text.strip().upper().replace("IB", "").replace("B", "")
    mult = 1
    if t.endswith("K"):
        mult, t = 1024, t[:-1]
    elif t.endswith("M"):
        mult, t = 1024 * 1024, t[:-1]
    try:
        value = int(float(t) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a size cannot be negative: {text}")
    return value


def format_bytes(n: int) -> str:
    """``123,456 B (120.6 KiB)``."""
    return f"{n:,} B ({n / 1024:.1f} KiB)"

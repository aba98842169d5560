# SPDX-License-Identifier: Apache-2.0
"""Print the intent and slot lines samples/nlu prints at boot, computed on the host C runtime.

For a blob (default: the one the sample builds by default, model.mcub or tiny/model.mcub) and the
commands in commands.txt, the lines come from `mcubert run BLOB TEXT --json`, formatted as the sample
formats them (mcubert.targets.nlu.console_lines); tests/python/test_zephyr.py compares them with the
Twister run's console line for line. Regenerate after the blob changes:

  python samples/nlu/expected.py [BLOB]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from mcubert.targets.nlu import console_lines  # noqa: E402


def default_blob() -> Path:
    shipped = HERE / "model.mcub"
    return shipped if shipped.is_file() else HERE / "tiny" / "model.mcub"


def commands() -> list[str]:
    return [c for c in (HERE / "commands.txt").read_text(encoding="utf-8").splitlines() if c]


def expected_lines(blob: Path) -> list[str]:
    """Per command: its quoted text line, then its intent and slot lines, as `mcubert run --json` gives them."""
    out = []
    env = dict(os.environ, PYTHONPATH=str(ROOT / "scripts"))
    for i, text in enumerate(commands(), 1):
        r = subprocess.run([sys.executable, "-m", "mcubert", "run", str(blob), text, "--json"],
                           capture_output=True, text=True, check=True, env=env)
        out += [f'[{i}] "{text}"', *console_lines(json.loads(r.stdout), f"[{i}] ")]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("blob", nargs="?", type=Path, default=None)
    args = ap.parse_args()
    print("\n".join(expected_lines(args.blob or default_blob())))
    return 0


if __name__ == "__main__":
    sys.exit(main())

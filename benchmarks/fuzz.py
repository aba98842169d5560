#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Long fuzz campaigns of the C runtime's fuzz targets (tests/fuzz), libFuzzer under ASan + UBSan.

Runs each target for --seconds (and/or --runs executions) in libFuzzer's fork mode, which goes on after a
finding, and prints a
table: target, executions, executions per second, coverage (libFuzzer's `cov:` edges and `ft:`
features), corpus size, findings. Each distinct finding is minimized into
tests/fuzz/<target>/crashes-pending/ with its sanitizer summary beside it (<file>.txt); once the runtime
is fixed, move the reproducer to tests/fuzz/<target>/regressions/ (replayed by tests/python/test_fuzz.py).
The working corpus persists in the build cache (~/.cache/mcubert/fuzz/corpus/<target>).

  python benchmarks/fuzz.py --seconds 3600                 # an hour per target, one job each
  python benchmarks/fuzz.py blob_struct --runs 10000000    # ten million executions of one target
  python benchmarks/fuzz.py --allow-pending --seconds 600  # past the findings already handed over
  python benchmarks/fuzz.py --write-seeds                  # rewrite the seed corpora (format changed)
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from mcubert.targets import fuzz, fuzz_seeds  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", choices=[[], *fuzz.TARGETS], help="default: all")
    ap.add_argument("--seconds", type=float, help="per target (default 300 when --runs is not given)")
    ap.add_argument("--runs", type=int, help="executions per target")
    ap.add_argument("--jobs", type=int, default=1, help="libFuzzer -fork jobs per target")
    ap.add_argument("--allow-pending", action="store_true",
                    help="leave the UBSan checks of the pending findings (tests/fuzz/*/crashes-pending) out")
    ap.add_argument("--allow", default="", help="UBSan checks to leave out, comma-separated (e.g. shift-base)")
    ap.add_argument("--write-seeds", action="store_true", help="rewrite tests/fuzz/*/seeds and exit")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if args.write_seeds:
        for p in fuzz_seeds.write_seeds():
            print(f"{p.stat().st_size:7d}  {p}")
        return
    reason = fuzz.available()
    if reason:
        sys.exit(f"fuzz: error: {reason}")
    seconds = args.seconds if args.seconds is not None or args.runs is not None else 300.0
    rows = []
    for name in args.targets or list(fuzz.TARGETS):
        allow = [c for c in args.allow.split(",") if c]
        if args.allow_pending:
            allow = sorted(set(allow) | set(fuzz.pending_checks()))
        st = fuzz.campaign(name, seconds=seconds, runs=args.runs, jobs=args.jobs, allow=allow)
        rows.append({"target": name, "executions": st.execs, "seconds": round(st.seconds, 1),
                     "exec_per_s": round(st.execs_per_s), "cov": st.cov, "ft": st.ft, "corpus": st.corpus,
                     "allowed": allow, "findings": [{"reproducer": str(f.reproducer), "summary": f.summary,
                                                     "check": f.check} for f in st.findings]})
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'target':12} {'executions':>12} {'exec/s':>8} {'cov':>6} {'ft':>7} {'corpus':>7} {'findings':>8}  allowed")
    for r in rows:
        print(f"{r['target']:12} {r['executions']:>12,} {r['exec_per_s']:>8,} {r['cov']:>6} {r['ft']:>7} "
              f"{r['corpus']:>7} {len(r['findings']):>8}  {','.join(r['allowed']) or '-'}")
    for r in rows:
        for f in r["findings"]:
            print(f"{r['target']}: {f['summary']} [{f['check'] or 'asan/contract'}] -> {f['reproducer']}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Peak RAM and instructions of the three schedules, measured on the emulated Cortex-M7.

For BERT-tiny (2/128/2/512) at L = 64 ... 1024 and BERT-mini (4/256/4/1024) at 128 and 512, each schedule
(naive, tiled, lean at their default tiles, and the planner's best fit for a total-RAM budget) runs one
inference on QEMU mps2-an500. Peak RAM = arena high-water (the runtime's figure, equal to the planner's)
+ stack high-water (painted and scanned) + statics (.data + .bss of the whole image). Weights are random:
RAM and instruction counts do not depend on their values. Plans whose arena exceeds what the emulated board
can hold are reported from the planner alone ("planner only").

  python benchmarks/memory.py [--quick] [--plot peak.png] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from mcubert.conversion import checkpoint
from mcubert.conversion.api import convert
from mcubert.formats import blob
from mcubert.formats.blob import Schedule
from mcubert.planning import planner
from mcubert.targets import qemu

SHAPES = {"bert-tiny": (2, 128, 2, 512), "bert-mini": (4, 256, 4, 1024)}
QEMU_ARENA_LIMIT = 3_700_000
BUDGETS = {512: 200 * 1024, 1024: 384 * 1024}  # total RAM targets (KiB = 1024 B)


def make_blob(shape: str, L: int) -> bytes:
    layers, hidden, heads, ffn = SHAPES[shape]
    ck = checkpoint.random_checkpoint(vocab_size=30522, hidden=hidden, n_layers=layers, n_heads=heads, ffn=ffn,
                                      max_pos=max(512, L), n_labels=2, seed=0)
    rng = np.random.default_rng(1)
    seqs = [(rng.integers(1000, 30000, size=n), None) for n in (16, L)]
    return convert(ck, calib=seqs, max_seq_len=L, embed_vocab=False).data


def measure(data: bytes, L: int, label: str, shape: str) -> dict:
    b = blob.unpack(data)
    plan = b.plan()
    row = {"model": shape, "seq_len": L, "schedule": label, "q_group": plan["q_group"], "ffn_tile": plan["ffn_tile"],
           "key_block": plan["key_block"], "arena": b.arena_bytes,
           "macs": planner.make_plan(b.cfg, L, Schedule(plan["schedule"]),
                                     planner.Tiles(plan["q_group"], plan["ffn_tile"], plan["key_block"])).macs}
    if b.arena_bytes > QEMU_ARENA_LIMIT:
        row.update(source="planner only", ram_total=None, insns=None)
        return row
    ids = np.random.default_rng(2).integers(1000, 30000, size=L).tolist()
    r = qemu.run(data, [(ids, None)], target="m7")[0]
    assert r["rc"] == 0 and r["arena_peak"] == b.arena_bytes, (r, b.arena_bytes)
    row.update(source="qemu m7", stack=int(r["stack_peak"]), statics=int(r["static_ram"]), insns=int(r["insns"]),
               ram_total=int(r["arena_peak"]) + int(r["stack_peak"]) + int(r["static_ram"]))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="BERT-tiny at 64 and 128 only")
    ap.add_argument("--plot", help="PNG of peak RAM vs sequence length (BERT-tiny)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    cases = [("bert-tiny", L) for L in ((64, 128) if args.quick else (64, 128, 256, 512, 1024))]
    if not args.quick:
        cases += [("bert-mini", 128), ("bert-mini", 512)]
    rows = []
    t0 = time.monotonic()
    for shape, L in cases:
        base = make_blob(shape, L)
        for s in Schedule:
            row = measure(planner.replan(base, schedule=s), L, s.name.lower(), shape)
            rows.append(row)
            print(f"  {shape} L={L} {row['schedule']}: {row.get('ram_total') or row['arena']:,} B", file=sys.stderr)
        if L in BUDGETS and shape == "bert-tiny":
            try:  # the budget is the whole RAM figure (arena + stack + statics): the planner models the latter
                fit = planner.replan(base, budget=BUDGETS[L])
                rows.append(measure(fit, L, f"best<={BUDGETS[L] // 1024}K", shape))
            except planner.NoPlanFits as e:
                rows.append({"model": shape, "seq_len": L, "schedule": f"best<={BUDGETS[L] // 1024}K",
                             "error": str(e)})
    res = {"rows": rows, "seconds": round(time.monotonic() - t0, 1)}
    for shape in SHAPES:
        for L in (128,):
            by = {r["schedule"]: r for r in rows if r["model"] == shape and r["seq_len"] == L}
            if "naive" in by and "tiled" in by and by["naive"].get("ram_total") and by["tiled"].get("ram_total"):
                res[f"{shape}_naive_over_tiled_L{L}"] = by["naive"]["ram_total"] / by["tiled"]["ram_total"]
    if args.plot:
        from mcubert.planning.plots import plot_peak_vs_length

        plot_peak_vs_length([dict(r, ram_total=r.get("ram_total") or r.get("arena")) for r in rows
                         if r["model"] == "bert-tiny" and r["schedule"] in ("naive", "tiled", "lean")],
                            args.plot, "BERT-tiny peak RAM on Cortex-M7 (QEMU; naive >= 1024 from the planner)",
                            {"F767 SRAM 384 KiB": 384 * 1024, "200 KiB": 200 * 1024})
        res["plot"] = args.plot
    if args.json:
        print(json.dumps(res, indent=2))
        return
    print(f"{'model':10s} {'L':>5s} {'schedule':10s} {'G/T/B':>12s} {'arena':>11s} {'stack':>6s} {'statics':>7s} "
          f"{'peak RAM':>11s} {'instructions':>15s} {'MACs':>14s}  source")
    for r in rows:
        if "error" in r:
            print(f"{r['model']:10s} {r['seq_len']:>5d} {r['schedule']:10s}  {r['error']}")
            continue
        gtb = f"{r['q_group']}/{r['ffn_tile']}/{r['key_block']}"
        peak = f"{r['ram_total']:,}" if r.get("ram_total") else "-"
        ins = f"{r['insns']:,}" if r.get("insns") else "-"
        print(f"{r['model']:10s} {r['seq_len']:>5d} {r['schedule']:10s} {gtb:>12s} {r['arena']:>11,} "
              f"{r.get('stack', '-')!s:>6s} {r.get('statics', '-')!s:>7s} {peak:>11s} {ins:>15s} {r['macs']:>14,}  "
              f"{r['source']}")
    for k, v in res.items():
        if k.endswith("L128"):
            print(f"{k}: {v:.2f}x")
    print(f"({res['seconds']} s)")


if __name__ == "__main__":
    main()

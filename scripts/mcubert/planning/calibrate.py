# SPDX-License-Identifier: Apache-2.0
"""Calibrate the instruction model (planning/cost.py) on exact QEMU counts.

    PYTHONPATH=scripts python3 -m mcubert.planning.calibrate -o calibration.json [--fit-only calibration.json]
        [--targets m55]

Runs random BERT-tiny and BERT-mini blobs under every schedule and a few tile sizes on the emulated M7
(DSP kernels), M3 (portable C) and M55 (Helium kernels) with per-function counts (what `mcubert bench
--per-op` reports), splits the counts into matrix kernels, softmax, LayerNorm, activation and the rest,
and fits cost.COEFFICIENTS: per-element terms as ratios, the matrix terms by least squares. Writes the
rows, the coefficients and the measured-vs-model table as JSON (paste the coefficients into cost.py and
the table into its docstring).
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mcubert.formats.blob import Config, Schedule
from mcubert.planning import cost

log = logging.getLogger(__name__)

SHAPES = {"tiny": (2, 128, 2, 512), "mini": (4, 256, 4, 1024)}  # layers, hidden, heads, ffn
# (model, L, schedule, (G, T, B), target)
CASES: list[tuple[str, int, str, tuple[int, int, int], str]] = [
    *[("tiny", 128, s, t, "m7") for s, t in (("tiled", (4, 4, 128)), ("naive", (128, 128, 128)),
                                            ("tiled", (1, 4, 128)), ("tiled", (2, 4, 128)), ("tiled", (3, 4, 128)),
                                            ("tiled", (4, 1, 128)), ("tiled", (4, 2, 128)), ("lean", (8, 4, 32)),
                                            ("lean", (4, 4, 32)))],
    ("tiny", 64, "tiled", (4, 4, 64), "m7"), ("tiny", 64, "tiled", (1, 4, 64), "m7"),
    ("tiny", 256, "tiled", (2, 4, 256), "m7"),
    ("mini", 128, "tiled", (4, 4, 128), "m7"), ("mini", 128, "tiled", (1, 4, 128), "m7"),
    ("mini", 128, "lean", (16, 4, 64), "m7"),
    ("tiny", 128, "tiled", (4, 4, 128), "m3"), ("tiny", 128, "tiled", (1, 4, 128), "m3"),
    ("tiny", 128, "lean", (8, 4, 32), "m3"),
    *[("tiny", 128, s, t, "m55") for s, t in (("tiled", (4, 4, 128)), ("naive", (128, 128, 128)),
                                             ("tiled", (1, 4, 128)), ("tiled", (2, 4, 128)), ("tiled", (3, 4, 128)),
                                             ("tiled", (4, 1, 128)), ("lean", (8, 4, 32)))],
    ("tiny", 64, "tiled", (4, 4, 64), "m55"), ("tiny", 256, "tiled", (2, 4, 256), "m55"),
    ("mini", 128, "tiled", (4, 4, 128), "m55"), ("mini", 128, "tiled", (1, 4, 128), "m55"),
]
GROUPS = {
    "softmax": ("mcubert_softmax",),
    "layernorm": ("mcubert_layernorm", "__aeabi_uldivmod", "__udivmoddi4", "__aeabi_ldivmod", "isqrt",
                  "layernorm_dsp"),
    "act": ("mcubert_act_interp",),
    "matmul": ("mcubert_linear", "mcubert_mm", "mcubert_pack4", "mcubert_scores", "mcubert_pv",
               "mcubert_attention_rows"),
}


def config_for(model: str, L: int) -> Config:
    nl, d, nh, f = SHAPES[model]
    return Config(vocab_size=30522, n_layers=nl, hidden=d, n_heads=nh, ffn=f, max_pos=max(512, L), type_vocab=2,
                  n_labels=2, max_seq_len=L, flags=3)


def make_blob(model: str, L: int) -> bytes:
    from mcubert.conversion import checkpoint
    from mcubert.numerics import quantize

    nl, d, nh, f = SHAPES[model]
    ck = checkpoint.random_checkpoint(vocab_size=30522, hidden=d, n_layers=nl, n_heads=nh, ffn=f, n_labels=2,
                                      max_pos=max(512, L), seed=0)
    rng = np.random.default_rng(1)
    seqs = [(rng.integers(0, 30522, size=n), rng.integers(0, 2, size=n)) for n in (3, 17, L)]
    return quantize.quantize(ck, quantize.calibrate(ck, seqs), L)


def measure(cases: Sequence[tuple[str, int, str, tuple[int, int, int], str]] = CASES) -> list[dict[str, Any]]:
    """One QEMU run per case with per-function counts (the ids `mcubert bench --seq-len L` uses)."""
    from tqdm import tqdm

    from mcubert.planning import planner
    from mcubert.targets import qemu

    blobs: dict[tuple[str, int], bytes] = {}
    rows = []
    for model, L, sched, tiles, target in tqdm(cases, desc="calibration runs"):
        if (model, L) not in blobs:
            blobs[model, L] = make_blob(model, L)
        data = planner.replan(blobs[model, L], schedule=Schedule[sched.upper()], tiles=cost.Tiles(*tiles))
        ids = np.random.default_rng(0).integers(1000, 30000, size=L).tolist()
        r = qemu.run(data, [(ids, None)], target=target, per_op=True)[0]
        rows.append({"model": model, "seq_len": L, "schedule": sched, "tiles": list(tiles), "target": target,
                     "insns": int(r["insns"]), "insns_raw": int(r["insns_raw"]), "stack_peak": int(r["stack_peak"]),
                     "static_ram": int(r["static_ram"]), "per_op": {k: int(v) for k, v in r["per_op"].items()}})
    return rows


def split(row: dict[str, Any]) -> dict[str, int]:
    """Per-function counts grouped (GROUPS; the rest is "token"), summing to the row's instructions."""
    out = dict.fromkeys((*GROUPS, "token"), 0)
    for fn, n in row["per_op"].items():
        group = next((g for g, prefixes in GROUPS.items() if fn.startswith(prefixes)), "token")
        out[group] += int(n)
    out["token"] -= row["insns_raw"] - row["insns"]
    return out


def _row_features(row: dict[str, Any]) -> dict[str, float]:
    L = row["seq_len"]
    return cost.features(config_for(row["model"], L), L, Schedule[row["schedule"].upper()], cost.Tiles(*row["tiles"]))


def _lstsq(xs: Sequence[dict[str, float]], ys: Sequence[float], blocks: Sequence[Sequence[str]]) -> dict[str, float]:
    """Least-squares coefficients of feature blocks (the features of a block share one coefficient)."""
    A = np.array([[sum(x[k] for k in b) for b in blocks] for x in xs])
    sol, *_ = np.linalg.lstsq(A, np.array(ys, dtype=float), rcond=None)
    return {k: round(float(v), 4) for b, v in zip(blocks, sol) for k in b}


def full_blocks(x: dict[str, float]) -> bool:
    """Whether a run's matrix ops all ran in full 4-row blocks (the head's single row aside)."""
    return x["mm2"] + x["mm3"] + x["kv_lean"] == 0 and x["mm1"] < 1e-3 * x["mm4"]


def fit(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """cost.COEFFICIENTS from measured rows: per-element ratios, matrix terms by least squares.

    DSP and portable paths: one least-squares fit of every matrix term. MVE path: the per-MAC, per-output
    and per-token terms from the runs in full row blocks alone, then the terms of the remainder blocks (and
    lean's recomputation) from the other runs' residuals: a joint fit trades the default plans' accuracy
    (10 % off) for the remainder blocks', whose cost on the MVE path the linear terms do not capture.
    """
    coefs: dict[str, dict[str, float]] = {}
    for path in sorted({cost.kernel_path(r["target"]) for r in rows}):
        mine = [r for r in rows if cost.kernel_path(r["target"]) == path]
        xs = [_row_features(r) for r in mine]
        ys = [split(r) for r in mine]
        c = {k: sum(y[k] for y in ys) / sum(x[k] for x in xs) for k in ("softmax", "layernorm", "act")}
        target = [y["matmul"] + y["token"] for y in ys]
        if path == "mve":
            full = [i for i, x in enumerate(xs) if full_blocks(x)]
            c.update(_lstsq([xs[i] for i in full], [target[i] for i in full], [["mm4"], ["outputs"], ["token"]]))
            rest = [i for i in range(len(xs)) if i not in full]
            base = [sum(c[k] * xs[i][k] for k in ("mm4", "outputs", "token")) for i in rest]
            c.update(_lstsq([xs[i] for i in rest], [target[i] - b for i, b in zip(rest, base)],
                            [["mm1"], ["mm2"], ["mm3"], ["kv_lean"]]))
        else:
            blocks = [["mm4"], ["mm1"], ["mm2"], ["mm3"]] if path == "dsp" else [["mm4", "mm1", "mm2", "mm3"]]
            c.update(_lstsq(xs, target, blocks + [["kv_lean"], ["outputs"], ["token"]]))
        c["w16"] = cost.W16_PER_MAC[path]  # structural, the calibration blobs have int8 weights
        coefs[path] = {k: round(c[k], 4) for k in cost.FEATURES}
    return coefs


def table(rows: Sequence[dict[str, Any]], coefs: dict[str, dict[str, float]]) -> list[str]:
    out = [f"{'target':7s} {'model':5s} {'L':>4s}  {'schedule G/T/B':18s} {'measured':>13s} {'modelled':>13s}   error"]
    for r in rows:
        x = _row_features(r)
        m = round(sum(coefs[cost.kernel_path(r["target"])][k] * v for k, v in x.items()))
        g = "/".join(map(str, r["tiles"]))
        out.append(f"{r['target']:7s} {r['model']:5s} {r['seq_len']:>4d}  {r['schedule'] + ' ' + g:18s} "
                   f"{r['insns']:>13,} {m:>13,}  {100 * (m / r['insns'] - 1):+.1f} %")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", type=Path, required=True, help="JSON: rows, coefficients, table")
    ap.add_argument("--fit-only", type=Path, help="refit the rows of an earlier JSON instead of measuring")
    ap.add_argument("--targets", help="comma-separated: measure only the cases on these targets (default: all)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    wanted = set(args.targets.split(",")) if args.targets else None
    cases = [c for c in CASES if wanted is None or c[4] in wanted]
    rows = json.loads(args.fit_only.read_text())["rows"] if args.fit_only else measure(cases)
    coefs = fit(rows)
    lines = table(rows, coefs)
    args.output.write_text(json.dumps({"rows": rows, "coefficients": coefs, "table": lines}, indent=1))
    for line in lines:
        log.info("%s", line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Exact instruction counts of the kernels: BERT-tiny on emulated Cortex-M cores, DSP path vs portable path.

BERT-tiny shape (2 layers, hidden 128, 2 heads, FFN 512; random weights, calibrated like the tests'
build_blob("tiny", 512)), one inference of L = 64, 128, 256, 512 tokens (ids as `mcubert bench`), on:

  m7      Cortex-M7 (mps2-an500), DSP kernels (SMLAD...)
  m7p     the same core and build with the DSP kernels switched off (-DMCUBERT_PORTABLE)
  m3      Cortex-M3 (mps2-an385), portable kernels
  m33     Cortex-M33 without DSP (mps2-an521), portable kernels
  m33dsp  Cortex-M33 with DSP (mps2-an505), DSP kernels
  m55     Cortex-M55 (mps3-an547), the Helium (MVE) kernels
  m55d    the same core and build with the MVE kernels switched off (-DMCUBERT_NO_MVE): the DSP kernels

Per run: total instructions (exact, QEMU TCG plugin), instructions per op group (from the per-function
histogram), MACs, matrix-product instructions per MAC and the SMLAD bound (MACs / 2: one dual 16-bit
MAC per instruction), softmax instructions per score, the ratio to the CMSIS-NN anchors (m7) and to the
portable path on the same core (m7 / m7p), kernel flash (bytes of every symbol defined by
subsys/mcubert/kernels/*.c that the linked image keeps, via pyelftools) and RAM (stack peak of the
inference, which holds the DSP kernels' packing buffers; the arena is the blob's plan, the same for
every path).

With --weights int16 the blob's encoder weights are pre-extended to int16 (FLAG_WEIGHTS_S16,
`mcubert convert --weights int16`) on the targets that run the DSP kernels (m7, m33dsp, m55d) and on the
portable ones; the Helium build (m55) reads int8 weights and keeps them.

  python benchmarks/kernel_counts.py [--quick] [--targets m7,m3] [--lengths 128,512] [--weights int16] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mcubert.conversion import checkpoint
from mcubert.conversion.api import convert
from mcubert.formats import blob, wide_weights
from mcubert.planning import cost
from mcubert.targets import qemu

TARGETS = ("m7", "m7p", "m3", "m33", "m33dsp", "m55", "m55d")
LENGTHS = (64, 128, 256, 512)
DSP_TARGETS = {"m7", "m33dsp", "m55d"}
MVE_TARGETS = {"m55"}
# CMSIS-NN instruction counts of the same model on the M7 (the anchors)
CMSIS_NN = {64: 73.3e6, 128: 172.3e6, 256: 444.9e6, 512: 1283.6e6}
# ... and on the M55 (QEMU mps3-an547, CMSIS-NN's Helium kernels), 128 tokens: built by GCC 12.2, by clang 14
CMSIS_NN_M55 = {128: {"gcc": 70.5e6, "clang": 22.9e6}}

GROUPS = {
    "matmul": ("mcubert_linear", "mcubert_mm", "mcubert_pack4", "mcubert_scores", "mcubert_pv",
               "mcubert_attention_rows", "mcubert_attention_row_s8"),
    "softmax": ("mcubert_softmax",),
    "layernorm": ("mcubert_layernorm", "__aeabi_uldivmod", "__udivmoddi4", "__aeabi_ldivmod", "isqrt",
                  "layernorm_dsp"),
    "act": ("mcubert_act_interp",),
}


def make_blob(L: int = 512) -> bytes:
    """BERT-tiny, random weights and calibration as tests/python/conftest.py:build_blob("tiny", L)."""
    ck = checkpoint.random_checkpoint(vocab_size=30522, hidden=128, n_layers=2, n_heads=2, ffn=512, n_labels=2,
                                      max_pos=max(512, L), seed=0)
    rng = np.random.default_rng(1)
    seqs = [(rng.integers(0, 30522, size=n), rng.integers(0, 2, size=n)) for n in (3, 17, L)]
    return convert(ck, calib=seqs, max_seq_len=L, embed_vocab=False).data


def group_of(fn: str) -> str:
    for g, prefixes in GROUPS.items():
        if fn.startswith(prefixes):
            return g
    return "other"


def kernel_flash(target: str) -> int:
    """Bytes of the kernels (subsys/mcubert/kernels/*.c) in the linked harness image of @target."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    def symbols(path: Path, defined_only: bool) -> dict[str, int]:
        out: dict[str, int] = {}
        with path.open("rb") as f:
            for sec in ELFFile(f).iter_sections():
                if not isinstance(sec, SymbolTableSection):
                    continue
                for s in sec.iter_symbols():
                    if s["st_info"]["type"] not in ("STT_FUNC", "STT_OBJECT") or not s.name:
                        continue
                    if defined_only and s["st_shndx"] == "SHN_UNDEF":
                        continue
                    out[s.name] = max(out.get(s.name, 0), int(s["st_size"]))
        return out

    h = qemu.build_harness(target)
    names: set[str] = set()
    for obj in h.elf.parent.glob("subsys__mcubert__kernels__*.o"):
        names |= set(symbols(obj, True))
    linked = symbols(h.elf, True)
    return sum(size for name, size in linked.items() if name in names)


def measure(data: bytes, target: str, L: int) -> dict:
    cfg = blob.unpack(data).cfg
    rng = np.random.default_rng(0)  # the ids `mcubert bench --seq-len L` uses
    ids = rng.integers(1000, min(cfg.vocab_size, 30000), size=L)
    r = qemu.run(data, [(ids.tolist(), None)], target=target, per_op=True)[0]
    if r["rc"] != 0:
        raise SystemExit(f"inference failed on {target}: {r['err']}")
    groups = dict.fromkeys((*GROUPS, "other"), 0)
    group_cycles = dict.fromkeys((*GROUPS, "other"), 0)
    for fn, n in r["per_op"].items():
        groups[group_of(fn)] += int(n)
        group_cycles[group_of(fn)] += int(n) + int(r.get("per_op_extra_cycles", {}).get(fn, 0))
    # per_op sums to insns_raw (the marker pair's calibration included): report it against insns
    groups["other"] -= int(r["insns_raw"]) - int(r["insns"])
    macs = cost.macs(cfg, L)
    scores = cfg.n_layers * cfg.n_heads * L * L
    path = "mve" if target in MVE_TARGETS else ("dsp" if target in DSP_TARGETS else "portable")
    scale = int(r["insns"]) / max(1, int(r["insns_raw"]))  # less the marker pair's calibration
    vec, extra = int(r["vector_insns"] * scale), int(r.get("extra_cycles", 0) * scale)
    row = {"target": target, "path": path, "seq_len": L,
           "insns": int(r["insns"]), "vector_insns": vec,
           "cycles_est": cost.cycle_estimate(target, int(r["insns"]), vec, extra),
           "per_group": groups, "per_group_cycles_est": group_cycles, "per_op": r["per_op"], "macs": macs,
           "smlad_bound": macs // 2, "matmul_per_mac": groups["matmul"] / macs,
           "insns_per_mac": int(r["insns"]) / macs, "softmax_per_score": groups["softmax"] / scores,
           "stack_peak": int(r["stack_peak"]), "arena_peak": int(r["arena_peak"]),
           "static_ram": int(r["static_ram"]), "label": r["label"],
           "weights": "int16" if cfg.flags & blob.FLAG_WEIGHTS_S16 else "int8", "blob_bytes": len(data)}
    if target == "m7":
        row["cmsis_nn"] = CMSIS_NN.get(L)
        row["vs_cmsis_nn"] = CMSIS_NN[L] / row["insns"] if L in CMSIS_NN else None
    if target == "m55" and L in CMSIS_NN_M55:
        row["cmsis_nn"] = CMSIS_NN_M55[L]
        row["vs_cmsis_nn"] = {k: v / row["insns"] for k, v in CMSIS_NN_M55[L].items()}
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--targets", default=",".join(TARGETS), help="comma-separated (default: all)")
    ap.add_argument("--lengths", default=",".join(map(str, LENGTHS)), help="comma-separated sequence lengths")
    ap.add_argument("--quick", action="store_true", help="m7 and m7p at 128 tokens only")
    ap.add_argument("--weights", choices=("int8", "int16"), default="int8",
                    help="encoder weight layout (int16: pre-extended, except on m55)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = ap.parse_args()
    targets = ["m7", "m7p"] if args.quick else [t for t in args.targets.split(",") if t]
    lengths = [128] if args.quick else [int(v) for v in args.lengths.split(",") if v]
    missing = qemu.missing_prerequisites()
    if missing:
        sys.exit("QEMU/Arm toolchain missing: " + ", ".join(missing))
    data = make_blob(max(512, max(lengths)))
    wide = wide_weights.widen(data) if args.weights == "int16" else data
    rows = [measure(data if t in MVE_TARGETS else wide, t, L) for t in targets for L in lengths]
    by = {(r["target"], r["seq_len"]): r for r in rows}
    for r in rows:
        if r["target"] == "m7" and ("m7p", r["seq_len"]) in by:
            r["vs_portable"] = by[("m7p", r["seq_len"])]["insns"] / r["insns"]
        if r["target"] == "m33dsp" and ("m33", r["seq_len"]) in by:
            r["vs_portable"] = by[("m33", r["seq_len"])]["insns"] / r["insns"]
        if r["target"] == "m55" and ("m55d", r["seq_len"]) in by:
            r["vs_dsp"] = by[("m55d", r["seq_len"])]["insns"] / r["insns"]
    flash = {t: kernel_flash(t) for t in targets}
    for r in rows:
        r["kernel_flash"] = flash[r["target"]]
    if args.json:
        print(json.dumps({"model": "bert-tiny (2/128/2/512)", "rows": rows}, indent=1))
        return
    print("BERT-tiny (2 layers, hidden 128, 2 heads, FFN 512), one inference, exact QEMU instruction counts; "
          f"{args.weights} encoder weights" + (" (m55: int8)" if args.weights == "int16" else ""))
    hdr = (f"{'target':7s} {'L':>4s} {'instructions':>14s} {'matmul':>13s} {'/MAC':>5s} {'softmax':>11s} {'/score':>6s}"
           f" {'layernorm':>10s} {'act':>10s} {'other':>10s} {'MACs':>12s} {'SMLAD bnd':>12s}"
           f" {'vs CMSIS':>8s} {'vs port.':>8s} {'stack':>6s} {'flash':>6s}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        g = r["per_group"]
        vs = r.get("vs_cmsis_nn")
        cm = (f"{vs['clang']:.2f}x" if isinstance(vs, dict) else f"{vs:.2f}x") if vs else "-"
        vp = f"{r['vs_portable']:.2f}x" if r.get("vs_portable") else "-"
        print(f"{r['target']:7s} {r['seq_len']:4d} {r['insns']:14,} {g['matmul']:13,} {r['matmul_per_mac']:5.2f}"
              f" {g['softmax']:11,} {r['softmax_per_score']:6.1f} {g['layernorm']:10,} {g['act']:10,}"
              f" {g['other']:10,} {r['macs']:12,} {r['smlad_bound']:12,} {cm:>8s} {vp:>8s}"
              f" {r['stack_peak']:6,} {r['kernel_flash']:6,}")
    print("matmul: linear layers, Q.K^T and P.V with their packing and requantisation; /MAC over all MACs.")
    print("vs CMSIS: CMSIS-NN anchor / instructions (M7; M55: CMSIS-NN built by clang 14, --json has GCC 12.2 too); "
          "cycles_est in --json (planning.cost.cycle_estimate); vs port.: same core with the portable kernels "
          "(m7p for m7, m33 for m33dsp; for m55 the DSP kernels, m55d: vs_dsp in --json).")
    print("stack: bytes of stack the inference used (DSP: includes the kernels' packing buffers); "
          "flash: kernel code + tables in the image.")
    print(f"arena (memory plan, every path): {rows[0]['arena_peak']:,} bytes at max_seq_len 512.")


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: Apache-2.0
"""`mcubert convert | info | plan`: make a blob and look inside models and blobs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from mcubert.cli.common import CliError, emit, is_blob, read_blob
from mcubert.units import format_bytes, parse_size

# ---------------------------------------------------------------- convert


def cmd_convert(args: argparse.Namespace) -> int:
    from mcubert.conversion.api import convert

    t0 = time.monotonic()
    blob = convert(args.model, config=args.config, calib=args.calib, calib_count=args.calib_count, seed=args.seed,
                   max_seq_len=args.max_seq_len, schedule=args.schedule, sram=args.sram,
                   fast_ram=args.fast_ram, q_group=args.q_group, ffn_tile=args.ffn_tile, key_block=args.key_block,
                   vocab=args.vocab, embed_vocab=not args.no_vocab, extend_positions=args.extend_positions,
                   trim_positions=args.trim_positions, arena_only=args.arena_only, target=args.target,
                   trust_pickle=args.trust_pickle, weights=args.weights, flash=args.flash,
                   progress=not args.json)
    out = blob.save(args.output)
    result = {"output": str(out), **blob.summary(), "seconds": round(time.monotonic() - t0, 2)}
    emit(args, result, _print_convert)
    return 0


def _print_convert(r: dict[str, Any]) -> None:
    c, p = r["config"], r["plan"]
    print(f"wrote {r['output']}")
    print(f"  model       {c['layers']} layers, hidden {c['hidden']}, {c['heads']} heads, FFN {c['ffn']}, "
          f"vocab {c['vocab']}" + (f", labels {c['labels']}" if c["labels"] else ""))
    print(f"  parameters  {r['parameters']:,}")
    print(f"  flash       {format_bytes(r['flash_bytes'])} (blob; {r['weights']} encoder weights)")
    print(f"  RAM         {format_bytes(r['arena_bytes'])} arena for {r['max_seq_len']} tokens "
          f"({p['schedule']} schedule, query group {p['q_group']}, FFN tile {p['ffn_tile']}"
          + (f", key block {p['key_block']}" if p["schedule"] == "lean" else "")
          + (f"; {p['region_bytes'][0]:,} B in the fast region" if p["region_bytes"][1] else "") + ")")
    vocab = "none" if not r["vocab"] else r["vocab"] + ("" if r["vocab_embedded"] else " (not embedded)")
    print(f"  vocabulary  {vocab}")
    print(f"  calibration {r['calibration']}; {r['seconds']} s")


def add_convert(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="quantise a BERT checkpoint into an .mcub blob",
                       description="Quantise a BERT checkpoint (Hugging Face directory, torch.save file, or "
                                   "safetensors with --config) to int8 and write an .mcub blob for the runtime. "
                                   "Activation scales are calibrated on --calib sentences. The vocabulary goes "
                                   "into the blob: --vocab, else vocab.txt beside the model, else the one the "
                                   "checkpoint recorded (mcubert train/compress); a warning when none is found.")
    p.add_argument("model", help="model directory or file")
    p.add_argument("-o", "--output", required=True, help="output .mcub path")
    p.add_argument("--config", help="config.json for a bare state dict or safetensors file")
    p.add_argument("--trust-pickle", action="store_true",
                   help="load a whole pickled model (torch.save(model)): this runs code from the file, so only for "
                        "files you trust; state dicts and safetensors need no such trust")
    p.add_argument("--vocab", help="WordPiece vocab.txt (default: vocab.txt beside the model, or the vocabulary "
                                   "recorded in the checkpoint)")
    p.add_argument("--calib", help="calibration text: .tsv (GLUE style) or .txt (one sentence per line)")
    p.add_argument("--calib-count", type=int, default=256, help="sentences sampled from --calib (default 256)")
    p.add_argument("--max-seq-len", type=int,
                   help="longest sequence the blob is planned for (default min(128, model positions))")
    p.add_argument("--seed", type=int, default=0, help="seed for calibration sampling")
    p.add_argument("--schedule", choices=("naive", "tiled", "lean"),
                   help="default schedule (default: tiled, or the cheapest that fits --sram)")
    p.add_argument("--sram", type=parse_size, help="RAM budget in bytes (K/M suffixes; arena + stack + statics of "
                                              "--target): the planner picks the cheapest schedule and tiles that "
                                              "fit, or fails saying so")
    p.add_argument("--fast-ram", type=parse_size, help="bytes of a fast region (e.g. 128K DTCM) to fill with the "
                                                  "hottest buffers first")
    add_budget_args(p)
    p.add_argument("--q-group", type=int, help="query rows per group (tiled, lean)")
    p.add_argument("--ffn-tile", type=int, help="tokens per FFN tile (tiled, lean)")
    p.add_argument("--key-block", type=int, help="keys per block (lean)")
    p.add_argument("--weights", choices=("int8", "int16", "auto"), default="int8",
                   help="layout of the encoder's weights: int8 (default); int16, pre-extended for the DSP kernels "
                        "of --target m7/m33dsp (about 12%% fewer instructions per inference for one more byte of "
                        "flash per weight, +393 KB for BERT-tiny; not for m55); auto: int16 when --target runs "
                        "the DSP kernels and the blob still fits --flash")
    p.add_argument("--flash", type=parse_size, help="flash budget of the blob in bytes (K/M suffixes), for "
                                               "--weights auto")
    p.add_argument("--no-vocab", action="store_true",
                   help="do not embed the packed vocabulary (the on-device tokenizer's, ~170 KB for BERT's)")
    p.add_argument("--extend-positions", type=int, metavar="N",
                   help="extend the position table to N rows (cycling the trained rows) to run longer sequences")
    p.add_argument("--trim-positions", action="store_true",
                   help="store only the first --max-seq-len rows of the position table: (rows - max_seq_len) x "
                        "hidden bytes less flash; the blob then cannot be re-planned for longer sequences")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_convert)


# ---------------------------------------------------------------- info


def blob_info(path: str) -> dict[str, Any]:
    from mcubert.formats import blob

    b = blob.unpack(read_blob(path))
    cfg = b.cfg
    return {"kind": "blob", "version": f"{b.header['version_major']}.{b.header['version_minor']}",
            "total_bytes": int(b.header["total_size"]), "config": {**cfg.__dict__, "head_dim": cfg.head_dim},
            "arena_bytes": int(b.header["arena_bytes"]), "sections": len(b.sections), "meta": b.meta(),
            "vocab_embedded": int(blob.Sec.VOCAB) in b.sections}


def model_info(path: str) -> dict[str, Any]:
    """Config, parameter counts and vocabulary of a model.pt or Hugging Face directory."""
    from mcubert.conversion.api import count_parameters, find_vocab
    from mcubert.conversion.checkpoint import load

    ckpt = load(path)
    s = ckpt.shape
    params = count_parameters(ckpt)
    emb = [v.size for k, v in ckpt.weights.items() if k.startswith("embeddings.word_embeddings.")
           and not k.endswith((".cluster", ".row"))]
    vocab = find_vocab(path, ckpt.config, s.vocab_size)
    result: dict[str, Any] = {
        "kind": "checkpoint", "model": str(path), "parameters": params, "embedding_params": int(sum(emb)),
        "config": {"layers": s.n_layers, "hidden": s.hidden, "heads": s.n_heads, "ffn": s.ffn,
                   "vocab_size": s.vocab_size, "max_positions": s.max_pos, "labels": ckpt.labels,
                   "activation": s.act},
        "vocab": None if vocab is None else str(vocab), "compression": None}
    if ckpt.config.get("mcubert_embedding") and not Path(path).is_dir():
        from mcubert.compression.model_io import describe

        result["compression"] = describe(Path(path))
    return result


def _print_blob_info(r: dict[str, Any]) -> None:
    c = r["config"]
    print(f"mcubert blob v{r['version']}, {format_bytes(r['total_bytes'])}, {r['sections']} sections")
    print(f"  {c['n_layers']} layers, hidden {c['hidden']}, {c['n_heads']} heads, FFN "
          f"{c['ffn']}, vocab {c['vocab_size']}, labels {c['n_labels']}, max_seq_len {c['max_seq_len']}")
    print(f"  arena {format_bytes(r['arena_bytes'])} at max_seq_len")
    print(f"  vocabulary {'embedded' if r['vocab_embedded'] else 'not embedded'}")
    for k in ("source", "calibration", "labels"):
        if r["meta"].get(k) is not None:
            print(f"  {k}: {r['meta'][k]}")


def _print_model_info(r: dict[str, Any]) -> None:
    c, z = r["config"], r["compression"]
    print(f"{r['model']}: BERT, {r['parameters']:,} parameters ({r['embedding_params']:,} in the word embedding)")
    print(f"  {c['layers']} layers, hidden {c['hidden']}, {c['heads']} heads, FFN {c['ffn']}, vocab "
          f"{c['vocab_size']}, {c['max_positions']} positions, {c['activation']}"
          + (f", labels {c['labels']}" if c["labels"] else ""))
    if z:
        print(f"  compressed word embedding: {z['method']}, {z['clusters']} clusters, ~{z['flash_estimate']:,} B flash")
    print(f"  vocabulary {r['vocab'] or 'not found (convert with --vocab VOCAB.txt)'}")


def cmd_info(args: argparse.Namespace) -> int:
    if is_blob(args.model):
        emit(args, blob_info(args.model), _print_blob_info)
    else:
        emit(args, model_info(args.model), _print_model_info)
    return 0


def add_info(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a blob, a model.pt or a Hugging Face directory",
                       description="For a blob: format version, shape, arena and metadata. For a model.pt (from "
                                   "mcubert train, distill or compress) or a Hugging Face directory: shape, "
                                   "parameter counts, compression and the vocabulary convert would use.")
    p.add_argument("model", metavar="MODEL", help=".mcub blob, model.pt or model directory")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)


# ---------------------------------------------------------------- plan


def cmd_plan(args: argparse.Namespace) -> int:
    from mcubert.formats import blob as blobmod
    from mcubert.planning import planner

    data = read_blob(args.blob)
    b = blobmod.unpack(data)
    L = args.seq_len or b.cfg.max_seq_len
    if not 1 <= L <= min(b.cfg.max_pos, blobmod.MAX_SEQ_LEN_LIMIT):
        raise CliError(f"--seq-len must be in [1, {min(b.cfg.max_pos, blobmod.MAX_SEQ_LEN_LIMIT)}] for this blob "
                       f"(convert with --extend-positions for longer sequences)")
    sched = planner.Schedule[args.schedule.upper()] if args.schedule else None
    try:
        chosen = planner.choose(b.cfg, L, budget=args.sram, schedule=sched, region0=args.fast_ram,
                                arena_only=args.arena_only, target=args.target)
    except planner.NoPlanFits as e:
        raise CliError(str(e)) from None
    others = {s.name.lower(): planner.make_plan(b.cfg, L, s, planner.default_tiles(b.cfg, L, s), target=args.target)
              for s in planner.Schedule}
    result = {"seq_len": L, "budget": args.sram, "fast_ram": args.fast_ram, "arena_only": args.arena_only,
              "chosen": chosen.to_json(),
              "schedules": {k: {"arena_bytes": p.arena_bytes, "macs": p.macs, "instructions": p.instructions,
                                "ram_total": p.ram_total, "q_group": p.tiles.q_group,
                                "ffn_tile": p.tiles.ffn_tile, "key_block": p.tiles.key_block}
                            for k, p in others.items()}}
    if args.plot:
        from mcubert.planning.plots import plot_plan

        plot_plan(chosen, b.cfg, args.plot)
        result["plot"] = args.plot
    if args.output:
        new = planner.replan(data, seq_len=L, schedule=sched, budget=args.sram, region0=args.fast_ram,
                             arena_only=args.arena_only, target=args.target)
        Path(args.output).write_bytes(new)
        result["output"] = args.output
    emit(args, result, _print_plan)
    return 0


def _print_plan(r: dict[str, Any]) -> None:
    c = r["chosen"]
    print(f"{r['seq_len']} tokens" + (f", {'arena' if r['arena_only'] else 'RAM'} budget {r['budget']:,} B"
                                      if r["budget"] else "")
          + f": {c['schedule']} schedule, query group {c['q_group']}, FFN tile {c['ffn_tile']}"
          + (f", key block {c['key_block']}" if c["schedule"] == "lean" else "")
          + f" -> arena {c['arena_bytes']:,} B, {c['macs']:,} MACs")
    print(f"  on {c['target']}: RAM {c['ram_total']:,} B = arena {c['arena_bytes']:,} + stack {c['stack']:,} + "
          f"statics {c['statics']:,}" + (f" + scratch {c['scratch']:,}" if c["scratch"] else "")
          + f"; ~{c['instructions']:,} instructions (model)")
    print(f"  {'buffer':8s} {'bytes':>10s} {'region':>6s} {'offset':>10s}  live (steps)")
    for buf in sorted(c["buffers"], key=lambda x: (x["region"], x["offset"])):
        print(f"  {buf['name']:8s} {buf['size']:>10,} {buf['region']:>6d} {buf['offset']:>10,}  "
              f"{buf['live'][0]}-{buf['live'][1]}")
    print("  all schedules at default tiles:")
    for k, v in r["schedules"].items():
        print(f"    {k:6s} arena {v['arena_bytes']:>12,} B   {v['macs']:>14,} MACs   "
              f"~{v['instructions']:>14,} instructions")
    for k in ("plot", "output"):
        if k in r:
            print(f"  wrote {r[k]}")


def add_budget_args(p: argparse.ArgumentParser) -> None:
    """--arena-only and --target: what --sram budgets (see planning.cost.ram_model)."""
    p.add_argument("--arena-only", action="store_true", help="--sram budgets the arena alone")
    p.add_argument("--target", choices=("m7", "m7p", "m3", "m33", "m33dsp", "m55", "m55d"), default="m7",
                   help="core whose stack, statics and instruction model the planner uses (default m7)")


def add_plan(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plan", help="memory plan of a blob: every buffer, schedule and tiles that fit a budget",
                       description="Lay out every activation buffer (offset, size, lifetime) for a sequence "
                                   "length, pick the cheapest schedule and tiles that fit --sram, and say clearly "
                                   "when nothing fits. --plot draws the buffers over the forward pass; -o writes "
                                   "the blob again with this plan as its default.")
    p.add_argument("blob")
    p.add_argument("--seq-len", type=int, help="tokens (default: the blob's max_seq_len)")
    p.add_argument("--sram", type=parse_size, help="RAM budget in bytes (K/M suffixes): arena + stack + statics "
                                                  "of --target, fast region included")
    p.add_argument("--fast-ram", type=parse_size, help="bytes of a fast region filled with the hottest buffers first")
    add_budget_args(p)
    p.add_argument("--schedule", choices=("naive", "tiled", "lean"))
    p.add_argument("--plot", help="write a PNG of the buffers over the forward pass")
    p.add_argument("-o", "--output", help="write the blob with this plan (and --seq-len) as its default")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    add_convert(sub)
    add_info(sub)
    add_plan(sub)

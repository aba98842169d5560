# SPDX-License-Identifier: Apache-2.0
"""The `mcubert` command line (also `python -m mcubert` and `west mcubert`).

Every command prints results for people by default and JSON with --json.
Errors are one line on stderr and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from mcubert import __version__
from mcubert.units import format_bytes, parse_size

log = logging.getLogger("mcubert")

EXIT_ERROR = 1


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


# ---------------------------------------------------------------- helpers

def _emit(args: argparse.Namespace, result: dict[str, Any], human: Callable[[dict[str, Any]], None]) -> None:
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        human(result)


def _read_blob(path: str) -> bytes:
    from mcubert.formats import blob

    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise CliError(f"{path}: {e.strerror}") from None
    if data[:4] != blob.MAGIC:
        raise CliError(f"{path}: not an mcubert blob (convert a model first with `mcubert convert`)")
    return data


def _parse_ids(text: str) -> list[int]:
    try:
        return [int(t) for t in text.replace(" ", "").split(",") if t]
    except ValueError:
        raise CliError(f"--ids wants comma-separated integers, got '{text}'") from None


class Engine:
    """Runs token ids through the C runtime, the numpy reference, or the float model."""

    def __init__(self, kind: str, model_path: str, max_len: int = 0) -> None:
        from mcubert.formats import blob as blobmod

        self.kind = kind
        self.vocab_section: bytes | None = None
        if kind == "float":
            from mcubert.conversion.checkpoint import load
            from mcubert.conversion.floatmodel import FloatBert

            ckpt = load(model_path)
            self.fm = FloatBert(ckpt)
            self.labels = ckpt.labels
            self.max_seq_len = ckpt.shape.max_pos
            self.meta: dict[str, Any] = {}
            return
        data = _read_blob(model_path)
        self.blob = blobmod.unpack(data)
        self.meta = self.blob.meta()
        self.labels = self.meta.get("labels") or [f"LABEL_{i}" for i in range(self.blob.cfg.n_labels)]
        self.max_seq_len = self.blob.cfg.max_seq_len
        raw_vocab = self.blob.sections.get(int(blobmod.Sec.VOCAB))
        self.vocab_section = None if raw_vocab is None else bytes(raw_vocab)
        if kind == "c":
            from mcubert.targets.native import Runtime

            self.rt = Runtime(data, max_len=max_len)
        elif kind == "ref":
            from mcubert.numerics.reference import Reference

            self.ref = Reference(self.blob)
        else:
            raise CliError(f"unknown engine {kind}")

    def run(self, ids: Sequence[int], types: Sequence[int] | None) -> dict[str, Any]:
        if self.kind == "float":
            out = self.fm.forward(ids, types)
            logits = None if out["logits"] is None else out["logits"].numpy().astype(float)
            return {"logits": None if logits is None else logits.tolist(),
                    "label": None if logits is None else int(np.argmax(logits))}
        if self.kind == "c":
            self.rt.infer(ids, types)
            q = self.rt.logits(self.blob.cfg.n_labels)
        else:
            q = self.ref.run(ids, types).logits
        if q is None:
            return {"logits": None, "label": None}
        scale = float(self.meta.get("logit_scale") or 1.0)
        return {"logits_q": q.tolist(), "logits": (q.astype(np.float64) * scale).tolist(),
                "label": int(np.argmax(q))}


def _packed_vocab(path: str) -> bytes:
    from mcubert.formats.vocab import pack_vocab

    try:
        return pack_vocab(path)
    except (OSError, ValueError) as e:
        raise CliError(f"{path}: cannot pack the vocabulary ({e})") from None


def _tokenizer(args: argparse.Namespace, meta: dict[str, Any], packed: bytes | None = None):
    """The C tokenizer (default; the blob's own vocabulary when it has one) or HF `tokenizers` (--tokenizer hf)."""
    from mcubert.training.data import HostTokenizer

    kind = getattr(args, "tokenizer", "c")
    vocab = args.vocab or meta.get("vocab")
    if kind == "c" and packed is not None and not args.vocab:
        from mcubert.targets.ctokenizer import CTokenizer

        return _BatchAdapter(CTokenizer(packed=packed))
    if not vocab:
        raise CliError("no vocabulary: pass --vocab VOCAB.txt")
    if not Path(vocab).is_file():
        raise CliError(f"{vocab}: vocabulary file not found (pass --vocab VOCAB.txt)")
    if kind == "c":
        from mcubert.targets.ctokenizer import CTokenizer

        return _BatchAdapter(CTokenizer(vocab))
    return HostTokenizer(vocab, lowercase=meta.get("lowercase", True))


class _BatchAdapter:
    """Gives the C tokenizer HostTokenizer's encode/encode_batch(examples) interface."""

    def __init__(self, tok) -> None:
        self.tok = tok

    def encode(self, text: str, text_b: str | None = None, max_len: int = 512):
        return self.tok.encode(text, text_b, max_len=max_len)

    def encode_batch(self, examples, max_len: int = 512):
        return [self.tok.encode(e.text, e.text_b, max_len=max_len) for e in examples]


# ---------------------------------------------------------------- convert

def cmd_convert(args: argparse.Namespace) -> int:
    from mcubert.formats import blob
    from mcubert.training import data
    from mcubert.numerics import quantize
    from mcubert.conversion.checkpoint import load

    from mcubert.planning import planner

    t0 = time.monotonic()
    ckpt = load(args.model, args.config, trust_pickle=args.trust_pickle)
    if args.extend_positions:
        from mcubert.conversion.checkpoint import extend_positions

        ckpt = extend_positions(ckpt, args.extend_positions)
    shape = ckpt.shape
    max_seq_len = quantize.resolve_max_seq_len(args.max_seq_len, shape.max_pos)
    if args.trim_positions and max_seq_len <= shape.max_pos:
        from mcubert.conversion.checkpoint import trim_positions

        ckpt = trim_positions(ckpt, max_seq_len)
        shape = ckpt.shape
    vocab = args.vocab
    if vocab is None and Path(args.model).is_dir() and (Path(args.model) / "vocab.txt").is_file():
        vocab = str(Path(args.model) / "vocab.txt")
    rng = np.random.default_rng(args.seed)
    if args.calib:
        if not vocab:
            raise CliError("--calib needs the vocabulary: pass --vocab VOCAB.txt (or keep vocab.txt in the model dir)")
        examples = data.read_examples(args.calib)
        if len(examples) > args.calib_count:
            pick = rng.choice(len(examples), size=args.calib_count, replace=False)
            examples = [examples[i] for i in sorted(pick)]
        tok = data.HostTokenizer(vocab)
        seqs = [(ids, types) for ids, types in tok.encode_batch(examples, max_len=max_seq_len)]
        calib_desc = f"{len(seqs)} sequences from {args.calib}"
    else:
        log.warning("no --calib text: calibrating on random token ids; pass --calib FILE for real accuracy")
        seqs = [(rng.integers(0, shape.vocab_size, size=int(rng.integers(min(8, max_seq_len), max_seq_len + 1))), None)
                for _ in range(32)]
        calib_desc = "32 random sequences"
    absmax = quantize.calibrate(ckpt, seqs, progress=not args.json)
    meta = {"source": str(args.model), "vocab": str(Path(vocab).resolve()) if vocab else None,
            "lowercase": True, "calibration": calib_desc, "mcubert_version": __version__}
    tiles = None
    if args.q_group or args.ffn_tile or args.key_block:
        sched = planner.Schedule[args.schedule.upper()] if args.schedule else planner.Schedule.TILED
        dt = planner.default_tiles(None, max_seq_len, sched)  # type: ignore[arg-type]
        tiles = planner.Tiles(args.q_group or dt.q_group, args.ffn_tile or dt.ffn_tile, args.key_block or dt.key_block)
    try:
        data_bytes = quantize.quantize(
            ckpt, absmax, max_seq_len, meta=meta,
            schedule=planner.Schedule[args.schedule.upper()] if args.schedule else None,
            budget=args.sram, region0=args.fast_ram, tiles=tiles,
            vocab=_packed_vocab(vocab) if vocab and not args.no_vocab else None)
    except planner.NoPlanFits as e:
        raise CliError(str(e)) from None
    out = Path(args.output)
    try:
        out.write_bytes(data_bytes)
    except OSError as e:
        raise CliError(f"{out}: {e.strerror}") from None
    b = blob.unpack(data_bytes)
    params = int(sum(v.size for k, v in ckpt.weights.items()
                     if not k.endswith(("word_embeddings.cluster", "word_embeddings.row"))))
    result = {
        "output": str(out), "parameters": params, "blob_bytes": len(data_bytes), "flash_bytes": len(data_bytes),
        "max_seq_len": max_seq_len, "arena_bytes": b.arena_bytes,
        "schedule": blob.Schedule(int(b.header["schedule"])).name.lower(),
        "config": {"layers": shape.n_layers, "hidden": shape.hidden, "heads": shape.n_heads, "ffn": shape.ffn,
                   "vocab": shape.vocab_size, "labels": ckpt.labels},
        "calibration": calib_desc, "seconds": round(time.monotonic() - t0, 2),
    }

    plan = b.plan()
    result["plan"] = {"schedule": result["schedule"], "q_group": plan["q_group"], "ffn_tile": plan["ffn_tile"],
                      "key_block": plan["key_block"], "region_bytes": list(plan["region_bytes"])}

    def human(r: dict[str, Any]) -> None:
        c = r["config"]
        p = r["plan"]
        print(f"wrote {r['output']}")
        print(f"  model       {c['layers']} layers, hidden {c['hidden']}, {c['heads']} heads, FFN {c['ffn']}, "
              f"vocab {c['vocab']}" + (f", labels {c['labels']}" if c["labels"] else ""))
        print(f"  parameters  {r['parameters']:,}")
        print(f"  flash       {format_bytes(r['flash_bytes'])} (blob)")
        print(f"  RAM         {format_bytes(r['arena_bytes'])} arena for {r['max_seq_len']} tokens "
              f"({p['schedule']} schedule, query group {p['q_group']}, FFN tile {p['ffn_tile']}"
              + (f", key block {p['key_block']}" if p["schedule"] == "lean" else "")
              + (f"; {p['region_bytes'][0]:,} B in the fast region" if p["region_bytes"][1] else "") + ")")
        print(f"  calibration {r['calibration']}; {r['seconds']} s")

    _emit(args, result, human)
    return 0


# ---------------------------------------------------------------- run / eval

def _run_on_target(args: argparse.Namespace, ids, types) -> dict[str, Any]:
    from mcubert.formats import blob as blobmod
    from mcubert.targets import qemu

    data = _read_blob(args.blob)
    meta = blobmod.unpack(data).meta()
    r = qemu.run(data, [(list(ids), None if types is None else list(types))], target=args.target)[0]
    if r["rc"] != 0:
        raise CliError(f"mcubert_infer failed on {args.target}: {r.get('err')}")
    ram = int(r["arena_peak"]) + int(r["stack_peak"]) + int(r["static_ram"])
    out: dict[str, Any] = {"target": args.target, "instructions": int(r["insns"]), "ram_total": ram,
                           "arena_peak": int(r["arena_peak"]), "stack_peak": int(r["stack_peak"]),
                           "static_ram": int(r["static_ram"]), "label": r["label"]}
    if r["logits"] is not None:
        out["logits_q"] = list(r["logits"])
        out["logits"] = [x * float(meta.get("logit_scale") or 1.0) for x in r["logits"]]
    else:
        out["logits"] = None
    return out


def cmd_run(args: argparse.Namespace) -> int:
    eng = Engine(args.engine if args.target == "host" else "ref", args.blob)
    if args.ids:
        ids = _parse_ids(args.ids)
        types = _parse_ids(args.types) if args.types else None
    else:
        if not args.text:
            raise CliError("give TEXT (and optionally TEXT_B) or --ids")
        tok = _tokenizer(args, eng.meta, eng.vocab_section)
        ids, types = tok.encode(args.text, args.text_b, max_len=eng.max_seq_len)
    if args.target == "host":
        res = eng.run(ids, types)
        where = f"engine {args.engine}"
    else:
        res = _run_on_target(args, ids, types)
        where = f"{args.target}: {res['instructions']:,} instructions, peak RAM {res['ram_total']:,} B"
    label = res["label"]
    result = {"ids": list(map(int, ids)), "type_ids": None if types is None else list(map(int, types)),
              "engine": args.engine, **res,
              "label_name": None if label is None else eng.labels[label]}

    def human(r: dict[str, Any]) -> None:
        if r["label"] is None:
            print(f"ran {len(r['ids'])} tokens (the model has no classifier) [{where}]")
            return
        print(f"{r['label_name']:>9} (label {r['label']})  logits "
              + " ".join(f"{x:+.3f}" for x in r["logits"]) + f"  [{len(r['ids'])} tokens, {where}]")

    _emit(args, result, human)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mcubert.training import data

    eng = Engine(args.engine, args.model)
    examples = data.read_examples(args.data, limit=args.limit)
    if args.engine == "float":
        from mcubert.conversion.checkpoint import load

        vocab = args.vocab or (str(Path(args.model) / "vocab.txt") if Path(args.model).is_dir() else None)
        if not vocab:
            raise CliError("pass --vocab VOCAB.txt")
        tok = _tokenizer(argparse.Namespace(vocab=vocab, tokenizer=args.tokenizer), {})
        max_len = min(args.max_len or 128, eng.max_seq_len)
    else:
        tok = _tokenizer(args, eng.meta, eng.vocab_section)
        max_len = eng.max_seq_len
    encoded = tok.encode_batch(examples, max_len=max_len)
    t0 = time.monotonic()
    correct = total = 0
    preds = []
    for ex, (ids, types) in tqdm(list(zip(examples, encoded)), desc=f"eval ({args.engine})", unit="ex",
                                 disable=args.json):
        r = eng.run(ids, types)
        preds.append(r["label"])
        gold = data.label_index(ex.label, eng.labels)
        if gold is not None and r["label"] is not None:
            total += 1
            correct += int(gold == r["label"])
    secs = time.monotonic() - t0
    result = {"data": str(args.data), "engine": args.engine, "examples": len(examples), "labelled": total,
              "correct": correct, "accuracy": (correct / total) if total else None, "seconds": round(secs, 2)}
    if args.predictions:
        result["predictions"] = preds

    def human(r: dict[str, Any]) -> None:
        acc = "n/a" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f} %"
        print(f"accuracy {acc} ({r['correct']}/{r['labelled']}) on {r['data']}, engine {r['engine']}, "
              f"{r['seconds']} s")

    _emit(args, result, human)
    return 0


# ---------------------------------------------------------------- info / bench

def cmd_plan(args: argparse.Namespace) -> int:
    from mcubert.formats import blob as blobmod
    from mcubert.planning import planner

    data = _read_blob(args.blob)
    b = blobmod.unpack(data)
    L = args.seq_len or b.cfg.max_seq_len
    if not 1 <= L <= min(b.cfg.max_pos, blobmod.MAX_SEQ_LEN_LIMIT):
        raise CliError(f"--seq-len must be in [1, {min(b.cfg.max_pos, blobmod.MAX_SEQ_LEN_LIMIT)}] for this blob "
                       f"(convert with --extend-positions for longer sequences)")
    sched = planner.Schedule[args.schedule.upper()] if args.schedule else None
    try:
        chosen = planner.choose(b.cfg, L, budget=args.sram, schedule=sched, region0=args.fast_ram)
    except planner.NoPlanFits as e:
        raise CliError(str(e)) from None
    others = {s.name.lower(): planner.make_plan(b.cfg, L, s, planner.default_tiles(b.cfg, L, s))
              for s in planner.Schedule}
    result = {"seq_len": L, "budget": args.sram, "fast_ram": args.fast_ram, "chosen": chosen.to_json(),
              "schedules": {k: {"arena_bytes": p.arena_bytes, "macs": p.macs, "q_group": p.tiles.q_group,
                                "ffn_tile": p.tiles.ffn_tile, "key_block": p.tiles.key_block}
                            for k, p in others.items()}}
    if args.plot:
        from mcubert.planning.plots import plot_plan

        plot_plan(chosen, b.cfg, args.plot)
        result["plot"] = args.plot
    if args.output:
        new = planner.replan(data, seq_len=L, schedule=sched, budget=args.sram, region0=args.fast_ram)
        Path(args.output).write_bytes(new)
        result["output"] = args.output

    def human(r: dict[str, Any]) -> None:
        c = r["chosen"]
        print(f"{r['seq_len']} tokens" + (f", arena budget {r['budget']:,} B" if r["budget"] else "")
              + f": {c['schedule']} schedule, query group {c['q_group']}, FFN tile {c['ffn_tile']}"
              + (f", key block {c['key_block']}" if c["schedule"] == "lean" else "")
              + f" -> arena {c['arena_bytes']:,} B, {c['macs']:,} MACs")
        print(f"  {'buffer':8s} {'bytes':>10s} {'region':>6s} {'offset':>10s}  live (steps)")
        for buf in sorted(c["buffers"], key=lambda x: (x["region"], x["offset"])):
            print(f"  {buf['name']:8s} {buf['size']:>10,} {buf['region']:>6d} {buf['offset']:>10,}  "
                  f"{buf['live'][0]}-{buf['live'][1]}")
        print("  all schedules at default tiles:")
        for k, v in r["schedules"].items():
            print(f"    {k:6s} arena {v['arena_bytes']:>12,} B   {v['macs']:>14,} MACs")
        for k in ("plot", "output"):
            if k in r:
                print(f"  wrote {r[k]}")

    _emit(args, result, human)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from mcubert.formats import blob

    b = blob.unpack(_read_blob(args.blob))
    cfg = b.cfg
    result = {"version": f"{b.header['version_major']}.{b.header['version_minor']}",
              "total_bytes": int(b.header["total_size"]), "config": {**cfg.__dict__, "head_dim": cfg.head_dim},
              "arena_bytes": int(b.header["arena_bytes"]), "sections": len(b.sections), "meta": b.meta()}

    def human(r: dict[str, Any]) -> None:
        c = r["config"]
        print(f"mcubert blob v{r['version']}, {format_bytes(r['total_bytes'])}, {r['sections']} sections")
        print(f"  {c['n_layers']} layers, hidden {c['hidden']}, {c['n_heads']} heads, FFN {c['ffn']}, "
              f"vocab {c['vocab_size']}, labels {c['n_labels']}, max_seq_len {c['max_seq_len']}")
        print(f"  arena {format_bytes(r['arena_bytes'])} at max_seq_len")
        for k in ("source", "calibration", "labels"):
            if r["meta"].get(k) is not None:
                print(f"  {k}: {r['meta'][k]}")

    _emit(args, result, human)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from mcubert.formats import blob
    from mcubert.targets import qemu

    data_bytes = _read_blob(args.blob)
    cfg = blob.unpack(data_bytes).cfg
    if not 1 <= args.seq_len <= cfg.max_seq_len:
        raise CliError(f"--seq-len must be in [1, {cfg.max_seq_len}] for this blob")
    rng = np.random.default_rng(args.seed)
    ids = rng.integers(1000, min(cfg.vocab_size, 30000), size=args.seq_len) if cfg.vocab_size > 1000 \
        else rng.integers(0, cfg.vocab_size, size=args.seq_len)
    res = qemu.run(data_bytes, [(ids.tolist(), None)], target=args.target, per_op=args.per_op)[0]
    if res.get("rc", 0) != 0:
        raise CliError(f"inference failed on {args.target}: {res.get('err') or res['rc']}")
    macs = macs_per_inference(cfg, args.seq_len)
    ram = int(res["arena_peak"]) + int(res["stack_peak"]) + int(res["static_ram"])
    result = {"target": args.target, "seq_len": args.seq_len, "instructions": int(res["insns"]), "macs": macs,
              "insns_per_mac": res["insns"] / macs, "smlad_bound": macs // 2,
              "arena_peak": int(res["arena_peak"]), "stack_peak": int(res["stack_peak"]),
              "static_ram": int(res["static_ram"]), "ram_total": ram, "label": res.get("label"),
              "logits": res.get("logits")}
    if args.per_op and "per_op" in res:
        result["per_op"] = res["per_op"]

    def human(r: dict[str, Any]) -> None:
        print(f"{args.blob} on {r['target']}, {r['seq_len']} tokens")
        print(f"  instructions {r['instructions']:,}  ({r['insns_per_mac']:.2f} per MAC; {r['macs']:,} MACs, "
              f"SMLAD bound {r['smlad_bound']:,})")
        print(f"  peak RAM     {format_bytes(r['ram_total'])} = arena {r['arena_peak']:,} + stack {r['stack_peak']:,}"
              f" + statics {r['static_ram']:,}")
        if r["logits"] is not None:
            print(f"  label {r['label']}, logits {r['logits']}")
        for name, n in sorted((r.get("per_op") or {}).items(), key=lambda kv: -kv[1]):
            print(f"    {name:32s} {n:>14,}")

    _emit(args, result, human)
    return 0


def macs_per_inference(cfg, seq_len: int) -> int:
    """Multiply-accumulates of one forward pass (linear layers, Q.K^T and P.V, pooler, classifier)."""
    L, d, f = seq_len, cfg.hidden, cfg.ffn
    per_layer = 4 * L * d * d + 2 * L * L * d + 2 * L * d * f
    head = (d * d if cfg.flags & 1 else 0) + cfg.n_labels * d
    return cfg.n_layers * per_layer + head


# ---------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="mcubert",
        description="Run compressed int8 BERT models on microcontrollers: convert checkpoints to .mcub blobs, "
                    "run them on the host (C runtime or numpy reference) and on emulated Cortex-M cores.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  mcubert convert ./my-bert-sst2 -o model.mcub --calib train.tsv --max-seq-len 128\n"
               "  mcubert run model.mcub \"a gripping, funny film\"\n"
               "  mcubert eval model.mcub --data dev.tsv\n"
               "  mcubert bench model.mcub --seq-len 128 --target m7\n")
    ap.add_argument("--version", action="version", version=f"mcubert {__version__}")
    ap.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("convert", help="quantise a BERT checkpoint into an .mcub blob",
                       description="Quantise a BERT checkpoint (Hugging Face directory, torch.save file, or "
                                   "safetensors with --config) to int8 and write an .mcub blob for the runtime. "
                                   "Activation scales are calibrated on --calib sentences.")
    p.add_argument("model", help="model directory or file")
    p.add_argument("-o", "--output", required=True, help="output .mcub path")
    p.add_argument("--config", help="config.json for a bare state dict or safetensors file")
    p.add_argument("--trust-pickle", action="store_true", help="load a whole pickled model (runs code from the file)")
    p.add_argument("--vocab", help="WordPiece vocab.txt (default: vocab.txt in the model directory)")
    p.add_argument("--calib", help="calibration text: .tsv (GLUE style) or .txt (one sentence per line)")
    p.add_argument("--calib-count", type=int, default=256, help="sentences sampled from --calib (default 256)")
    p.add_argument("--max-seq-len", type=int,
                   help="longest sequence the blob is planned for (default min(128, model positions))")
    p.add_argument("--seed", type=int, default=0, help="seed for calibration sampling")
    p.add_argument("--schedule", choices=("naive", "tiled", "lean"),
                   help="default schedule (default: tiled, or the cheapest that fits --sram)")
    p.add_argument("--sram", type=parse_size, help="arena budget in bytes (K/M suffixes): the planner picks the "
                                              "cheapest schedule and tiles that fit, or fails saying so")
    p.add_argument("--fast-ram", type=parse_size, help="bytes of a fast region (e.g. 128K DTCM) to fill with the "
                                                  "hottest buffers first")
    p.add_argument("--q-group", type=int, help="query rows per group (tiled, lean)")
    p.add_argument("--ffn-tile", type=int, help="tokens per FFN tile (tiled, lean)")
    p.add_argument("--key-block", type=int, help="keys per block (lean)")
    p.add_argument("--no-vocab", action="store_true",
                   help="do not embed the packed vocabulary (the on-device tokenizer's, ~170 KB for BERT's)")
    p.add_argument("--extend-positions", type=int, metavar="N",
                   help="extend the position table to N rows (cycling the trained rows) to run longer sequences")
    p.add_argument("--trim-positions", action="store_true",
                   help="store only the first --max-seq-len rows of the position table: (rows - max_seq_len) x "
                        "hidden bytes less flash; the blob then cannot be re-planned for longer sequences")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("run", help="classify one text (or token ids) with a blob",
                       description="Tokenise TEXT (and TEXT_B for sentence pairs) on the host and run the blob.")
    p.add_argument("blob")
    p.add_argument("text", nargs="?")
    p.add_argument("text_b", nargs="?")
    p.add_argument("--ids", help="comma-separated token ids instead of text")
    p.add_argument("--types", help="comma-separated token type ids (with --ids)")
    p.add_argument("--vocab", help="vocab.txt (default: the blob's own packed vocabulary, or the one recorded at "
                                   "convert time)")
    p.add_argument("--tokenizer", choices=("c", "hf"), default="c",
                   help="c: the on-device C tokenizer (default; uses the blob's vocabulary); hf: Hugging Face tokenizers")
    p.add_argument("--engine", choices=("c", "ref"), default="c",
                   help="c: the C runtime (default); ref: the numpy integer reference")
    p.add_argument("--target", choices=("host", "m7", "m3", "m33"), default="host",
                   help="host (default), or run the C runtime on an emulated Cortex-M under QEMU and report "
                        "exact instructions and peak RAM")
    p.add_argument("--json", action="store_true", help="print JSON (includes the token ids run)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("eval", help="accuracy of a blob (or float model) on a labelled .tsv",
                       description="Evaluate on a GLUE-style .tsv. With --engine float, MODEL is a checkpoint and "
                                   "the float model runs instead (for comparison).")
    p.add_argument("model", metavar="BLOB", help=".mcub blob (or a checkpoint with --engine float)")
    p.add_argument("--data", required=True, help="labelled .tsv")
    p.add_argument("--engine", choices=("c", "ref", "float"), default="c")
    p.add_argument("--vocab", help="vocab.txt")
    p.add_argument("--tokenizer", choices=("c", "hf"), default="c",
                   help="c: the on-device C tokenizer (default; uses the blob's vocabulary); hf: Hugging Face tokenizers")
    p.add_argument("--limit", type=int, help="first N examples only")
    p.add_argument("--max-len", type=int, help="truncation length for --engine float (default 128)")
    p.add_argument("--predictions", action="store_true", help="include per-example labels in --json")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("plan", help="memory plan of a blob: every buffer, schedule and tiles that fit a budget",
                       description="Lay out every activation buffer (offset, size, lifetime) for a sequence "
                                   "length, pick the cheapest schedule and tiles that fit --sram, and say clearly "
                                   "when nothing fits. --plot draws the buffers over the forward pass; -o writes "
                                   "the blob again with this plan as its default.")
    p.add_argument("blob")
    p.add_argument("--seq-len", type=int, help="tokens (default: the blob's max_seq_len)")
    p.add_argument("--sram", type=parse_size, help="arena budget in bytes (K/M suffixes)")
    p.add_argument("--fast-ram", type=parse_size, help="bytes of a fast region filled with the hottest buffers first")
    p.add_argument("--schedule", choices=("naive", "tiled", "lean"))
    p.add_argument("--plot", help="write a PNG of the buffers over the forward pass")
    p.add_argument("-o", "--output", help="write the blob with this plan (and --seq-len) as its default")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_plan)

    from mcubert.cli import compression_cmds, training_cmds

    for mod in (training_cmds, compression_cmds):
        mod.add_parsers(sub)
    for name, (module, text, _prefix) in DELEGATED.items():
        p = sub.add_parser(name, help=text, add_help=False, description=f"{text} (see `mcubert {name} --help`)")
        p.add_argument("args", nargs=argparse.REMAINDER)
        p.set_defaults(func=_delegate)

    from mcubert.targets import hil
    from mcubert.targets import zephyr

    zephyr.add_parser(sub)
    hil.add_parser(sub)

    p = sub.add_parser("info", help="describe a blob")
    p.add_argument("blob")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("bench", help="exact instruction count and peak RAM on an emulated Cortex-M",
                       description="Run one inference of SEQ_LEN tokens on QEMU (mps2-an500 = Cortex-M7, "
                                   "mps2-an385 = M3, mps2-an521 = M33, mps2-an505 = M33 with DSP; m7p: the M7 "
                                   "with the DSP kernels off) and count executed instructions exactly "
                                   "with a TCG plugin. Peak RAM = arena high-water + stack high-water + statics.")
    p.add_argument("blob")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--target", choices=("m7", "m3", "m33", "m33dsp", "m7p"), default="m7")
    p.add_argument("--per-op", action="store_true", help="break instructions down by kernel function")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
    return ap


# Commands whose own modules parse their arguments (they have their own --help), contributed by the
# command modules beside this file. name: (module, help, arguments put before the user's).
DELEGATED: dict[str, tuple[str, str, tuple[str, ...]]] = {}


def _delegate(args: argparse.Namespace) -> int:
    import importlib

    name, _text, prefix = DELEGATED[args.command]
    module = importlib.import_module(name)
    return int(module.main([*prefix, *args.args]) or 0)


def _user_errors() -> tuple[type[BaseException], ...]:
    from mcubert.formats.blob import BlobError
    from mcubert.conversion.checkpoint import CheckpointError
    from mcubert.training.data import DataError
    from mcubert.targets.native import RuntimeErrno
    from mcubert.numerics.quantize import QuantError
    from mcubert.numerics.reference import InputError

    errs: list[type[BaseException]] = [CliError, FileNotFoundError, BlobError, CheckpointError, DataError, RuntimeErrno, QuantError,
                                       InputError]
    try:
        from mcubert.training.train import TrainError

        errs.append(TrainError)
    except ImportError:
        pass
    try:
        from mcubert.targets.qemu import QemuError

        errs.append(QemuError)
    except ImportError:
        pass
    return tuple(errs)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = build_parser()
    if argv and argv[0] in DELEGATED:  # their own parsers see every argument, --help included
        args = argparse.Namespace(command=argv[0], args=argv[1:], func=_delegate, verbose=False)
    else:
        args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    if not getattr(args, "func", None):
        ap.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except _user_errors() as e:
        print(f"mcubert: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("mcubert: interrupted", file=sys.stderr)
        return 130


def entry() -> None:
    try:
        sys.exit(main())
    except BrokenPipeError:  # `mcubert info x.mcub | head`: the reader left, which is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)

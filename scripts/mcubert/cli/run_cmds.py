# SPDX-License-Identifier: Apache-2.0
"""`mcubert run | eval | bench`: run a blob (or the float model) on the host or an emulated Cortex-M."""

from __future__ import annotations

import argparse
import time
from typing import Any, Sequence

import numpy as np

from mcubert.cli.common import CliError, Engine, emit, is_blob, parse_ids, read_blob, tokenizer
from mcubert.slots import case_types
from mcubert.targets.ctokenizer import to_bytes
from mcubert.units import format_bytes

TARGETS = ("host", "m7", "m3", "m33", "m55")
BENCH_TARGETS = ("m7", "m3", "m33", "m33dsp", "m7p", "m55", "m55d")
TOKENIZERS_HELP = "c: the on-device C tokenizer (default; uses the blob's vocabulary); hf: Hugging Face tokenizers"

# ---------------------------------------------------------------- run


def _run_on_target(args: argparse.Namespace, ids: Sequence[int], types: Sequence[int] | None) -> dict[str, Any]:
    from mcubert.formats import blob as blobmod
    from mcubert.targets import qemu

    data = read_blob(args.blob)
    meta = blobmod.unpack(data).meta()
    r = qemu.run(data, [(list(ids), None if types is None else list(types))], target=args.target)[0]
    if r["rc"] != 0:
        raise CliError(f"mcubert_infer failed on {args.target}: {r.get('err')}")
    out: dict[str, Any] = {"target": args.target, "instructions": int(r["insns"]), **_ram(r), "label": r["label"]}
    if r["logits"] is not None:
        out["logits_q"] = list(r["logits"])
        out["logits"] = [x * float(meta.get("logit_scale") or 1.0) for x in r["logits"]]
    else:
        out["logits"] = None
    if r.get("token_logits") is not None:
        scale = float(blobmod.unpack(data).cfg.token_logit_scale or 1.0)
        out.update(token_logits_q=r["token_logits"].tolist(), token_logits=(r["token_logits"] * scale).tolist(),
                   tag_ids=list(r["tags"]))
    return out


def _slots(tag_names: Sequence[str], tag_ids: Sequence[int], spans: Sequence[Any],
           texts: Sequence[str]) -> list[dict[str, Any]] | None:
    """The slots of BIO tags (None when the tags are not BIO tags)."""
    from mcubert.slots import SlotError, slot_records

    try:
        return slot_records(tag_names, tag_ids, spans, texts)
    except SlotError:
        return None


def _device_frame(args: argparse.Namespace, result: dict[str, Any]) -> dict[str, Any]:
    """The whole device path on the target, text in (mcubert_nlu_run: tokenizer, inference, slot decoding):
    its instructions and peak RAM; its intent and slots must be the host's."""
    from mcubert.targets import nlu

    frame = nlu.frames(read_blob(args.blob), [args.text], args.target)[0]
    if frame["slots"] != result["slots"] or frame["intent"] != result.get("intent", frame["intent"]):
        raise CliError(f"{args.target} understood {args.text!r} differently from the host: {frame}")
    return frame


def _ram(r: dict[str, Any]) -> dict[str, int]:
    """Peak RAM of a QEMU run: arena high-water + stack high-water + statics."""
    parts = {k: int(r[k]) for k in ("arena_peak", "stack_peak", "static_ram")}
    return {**parts, "ram_total": sum(parts.values())}


def cmd_run(args: argparse.Namespace) -> int:
    eng = Engine(args.engine if args.target == "host" else "ref", args.blob)
    spans = None
    if args.ids:
        ids = parse_ids(args.ids)
        types = parse_ids(args.types) if args.types else None
    else:
        if not args.text:
            raise CliError("give TEXT (and optionally TEXT_B) or --ids")
        tok = tokenizer(args.tokenizer, args.vocab, eng.meta, eng.vocab_section)
        ids, types, spans = tok.encode_with_spans(args.text, args.text_b, max_len=eng.max_seq_len)
        if eng.case_types:
            if args.text_b is not None:
                raise CliError(f"{args.blob} reads case types, which are for one text: give no TEXT_B")
            types = case_types(to_bytes(args.text), spans)
    if args.target == "host":
        res = eng.run(ids, types)
        where = f"engine {args.engine}"
    else:
        res = _run_on_target(args, ids, types)
        where = f"{args.target}: {res['instructions']:,} instructions, peak RAM {res['ram_total']:,} B"
    label = res["label"]
    result = {"ids": list(map(int, ids)), "type_ids": None if types is None else list(map(int, types)),
              "engine": args.engine, **res,
              "label_name": None if label is None else eng.labels[label], **eng.head_fields(res)}
    if spans is not None and res.get("tag_ids") is not None:
        result["slots"] = _slots(eng.tags, res["tag_ids"], spans, [args.text, args.text_b or ""])
        if args.target != "host" and result["slots"] is not None and args.text_b is None:
            result["device"] = _device_frame(args, result)
            where = (f"{args.target}: text to slots {result['device']['instructions']:,} instructions "
                     f"(inference {res['instructions']:,}), peak RAM {result['device']['ram_total']:,} B")

    def human(r: dict[str, Any]) -> None:
        if "score" in r:
            print(f"score {r['score']:+.4f}  [{len(r['ids'])} tokens, {where}]")
            return
        if "tags" in r:
            if "intent" in r:
                print(f"intent {r['intent']}  [{where}]")
            for s in r.get("slots") or []:
                print(f"  {s['slot']:>20} = {s['text']!r}  bytes [{s['start']}, {s['end']})")
            if r.get("slots") is None:
                print(" ".join(r["tags"]) + f"  [{len(r['ids'])} tokens]")
            return
        if r["label"] is None:
            print(f"ran {len(r['ids'])} tokens (the model has no classifier) [{where}]")
            return
        print(f"{r['label_name']:>9} (label {r['label']})  logits "
              + " ".join(f"{x:+.3f}" for x in r["logits"]) + f"  [{len(r['ids'])} tokens, {where}]")

    emit(args, result, human)
    return 0


def add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="classify one text (or token ids) with a blob",
                       description="Tokenise TEXT (and TEXT_B for sentence pairs) on the host and run the blob.")
    p.add_argument("blob")
    p.add_argument("text", nargs="?")
    p.add_argument("text_b", nargs="?")
    p.add_argument("--ids", help="comma-separated token ids instead of text")
    p.add_argument("--types", help="comma-separated token type ids (with --ids)")
    p.add_argument("--vocab", help="vocab.txt (default: the blob's own packed vocabulary, or the one recorded at "
                                   "convert time)")
    p.add_argument("--tokenizer", choices=("c", "hf"), default="c", help=TOKENIZERS_HELP)
    p.add_argument("--engine", choices=("c", "ref"), default="c",
                   help="c: the C runtime (default); ref: the numpy integer reference")
    p.add_argument("--target", choices=TARGETS, default="host",
                   help="host (default), or run the C runtime on an emulated Cortex-M under QEMU and report "
                        "exact instructions and peak RAM")
    p.add_argument("--json", action="store_true", help="print JSON (includes the token ids run)")
    p.set_defaults(func=cmd_run)


# ---------------------------------------------------------------- eval


def _eval_engine(args: argparse.Namespace) -> tuple[Engine, Any, int]:
    """The engine for MODEL (a blob: c or ref; a model.pt or directory: float), its tokenizer, the max length."""
    if is_blob(args.model):
        if args.engine == "float":
            raise CliError(f"{args.model}: --engine float runs the float model (a model.pt or model directory), "
                           "not a blob")
        eng = Engine(args.engine or "c", args.model)
        return eng, tokenizer(args.tokenizer, args.vocab, eng.meta, eng.vocab_section), eng.max_seq_len
    if args.engine not in (None, "float"):
        raise CliError(f"{args.model}: --engine {args.engine} runs a blob; convert the model first "
                       "(mcubert convert), or evaluate it in float")
    from mcubert.conversion.api import find_vocab

    eng = Engine("float", args.model)
    vocab = args.vocab or find_vocab(args.model, eng.config, int(eng.config["vocab_size"]))
    if not vocab:
        raise CliError(f"{args.model}: no vocabulary found beside the model or recorded in it: pass --vocab VOCAB.txt")
    return eng, tokenizer(args.tokenizer, str(vocab), {}), min(args.max_len or 128, eng.max_seq_len)


TASK_EVAL = ("regress", "tag", "intent-slots")  # model directories that `mcubert eval` runs by their task


def _model_task(model: str) -> str | None:
    """The `mcubert_task` of a model directory's config.json (None: not a task model directory)."""
    import json
    from pathlib import Path

    cfg = Path(model) / "config.json"
    try:
        return json.loads(cfg.read_text()).get("mcubert_task") if cfg.is_file() else None
    except (OSError, ValueError):
        return None


def cmd_eval_task(args: argparse.Namespace) -> int:
    """`mcubert eval` of a regress, tag or intent-slots model directory (float), by its task's metrics."""
    from transformers.utils import logging as hf_logging

    from mcubert.compression.errors import CompressError
    from mcubert.compression.model_io import load_task
    from mcubert.training.evaluate import evaluate_task_model

    hf_logging.disable_progress_bar()  # one result line, no weight-loading bars
    if args.engine not in (None, "float"):
        raise CliError(f"{args.model}: --engine {args.engine} runs a blob; a model directory runs in float")
    try:  # a compressed model (mcubert compress) as well as a trained one
        loaded = load_task(args.model)
    except CompressError as e:
        raise CliError(str(e)) from None
    result = evaluate_task_model(args.model, args.data, args.vocab, args.limit, args.max_len or 128, loaded)

    def human(r: dict[str, Any]) -> None:
        keys = {"intent-slots": ("intent_accuracy", "slot_f1", "frame_accuracy"),
                "tag": ("tag_accuracy", "tag_f1"), "regress": ("mse", "pearson")}[r["task"]]
        parts = [f"{k.replace('_', ' ')} {100 * r[k]:.2f}" + (" %" if k.endswith("accuracy") else "")
                 if k not in ("mse", "pearson") else f"{k} {r[k]:.4f}" for k in keys]
        print(", ".join(parts) + f" ({r['examples']} examples) on {r['data']}, engine float, {r['seconds']} s")

    emit(args, result, human)
    return 0


def _is_utterance_data(path: str) -> bool:
    """Intent+slots data (SNIPS JSON, a folder of it, or JSON Lines) rather than a .tsv."""
    from pathlib import Path

    p = Path(path)
    return p.is_dir() or p.suffix in (".json", ".jsonl")


def cmd_eval_nlu(args: argparse.Namespace) -> int:
    """`mcubert eval BLOB --data utterances`: mcubert_nlu_run() on the host C runtime or a target."""
    from mcubert.targets import nlu
    from mcubert.training.readers import read_utterances

    if args.engine not in (None, "c"):
        raise CliError(f"{args.model}: intent+slots data runs on the C runtime (--engine c), as the device does")
    if args.tokenizer != "c" or args.vocab:
        raise CliError("intent+slots data is tokenized on the device, with the blob's own vocabulary: "
                       "drop --tokenizer/--vocab")
    from mcubert.formats import blob as blobmod

    data = read_blob(args.model)
    if blobmod.unpack(data).cfg.n_tags == 0:
        raise CliError(f"{args.model} has no slot tags: intent+slots data ({args.data}) needs a blob of "
                       "`mcubert train --task intent-slots` (or --task tag)")
    utterances = read_utterances(args.data, args.limit)
    t0 = time.monotonic()
    metrics, frames = nlu.evaluate(data, utterances, args.target)
    result = {"data": str(args.data), "engine": "c", "target": args.target, "examples": len(utterances),
              **metrics, "seconds": round(time.monotonic() - t0, 2)}
    if args.predictions:
        result["predictions"] = frames

    def human(r: dict[str, Any]) -> None:
        print(f"intent accuracy {100 * r['intent_accuracy']:.2f} %, slot F1 {100 * r['slot_f1']:.2f}, "
              f"frame accuracy {100 * r['frame_accuracy']:.2f} % ({r['examples']} examples) on {r['data']}, "
              f"C runtime on {r['target']}, {r['seconds']} s")
        t = r.get("emulated")
        if t:
            print(f"{t['name']}: median {t['median_instructions']:,} instructions per utterance (tokenizer, "
                  f"inference and slot decoding; max {t['max_instructions']:,}), peak RAM {t['peak_ram']:,} B")

    emit(args, result, human)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mcubert.training import data

    if not is_blob(args.model) and _model_task(args.model) in TASK_EVAL:
        return cmd_eval_task(args)
    if is_blob(args.model) and _is_utterance_data(args.data):
        return cmd_eval_nlu(args)
    if args.target != "host":
        raise CliError("--target runs intent+slots data (SNIPS .json or .jsonl) on an emulated core; "
                       f"{args.data} is not")
    eng, tok, max_len = _eval_engine(args)
    examples = data.read_examples(args.data, limit=args.limit)
    encoded = tok.encode_batch([e.pair for e in examples], max_len=max_len)
    t0 = time.monotonic()
    correct = total = 0
    preds = []
    for ex, (ids, types) in tqdm(list(zip(examples, encoded)), desc=f"eval ({eng.kind})", unit="ex",
                                 disable=args.json):
        r = eng.run(ids, types)
        preds.append(r["label"])
        gold = data.label_index(ex.label, eng.labels)
        if gold is not None and r["label"] is not None:
            total += 1
            correct += int(gold == r["label"])
    result = {"data": str(args.data), "engine": eng.kind, "examples": len(examples), "labelled": total,
              "correct": correct, "accuracy": (correct / total) if total else None,
              "seconds": round(time.monotonic() - t0, 2)}
    if args.predictions:
        result["predictions"] = preds

    def human(r: dict[str, Any]) -> None:
        acc = "n/a" if r["accuracy"] is None else f"{100 * r['accuracy']:.2f} %"
        print(f"accuracy {acc} ({r['correct']}/{r['labelled']}) on {r['data']}, engine {r['engine']}, "
              f"{r['seconds']} s")

    emit(args, result, human)
    return 0


def add_eval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="accuracy of a blob, a model.pt or a Hugging Face directory on a labelled .tsv "
                                    "(intent accuracy and slot F1, tag F1, MSE/Pearson for those tasks)",
                       description="Evaluate on a GLUE-style .tsv. A blob runs on the C runtime (or --engine ref); "
                                   "a model.pt (from mcubert train, distill or compress) or a Hugging Face "
                                   "directory runs as the float model. A blob on intent+slots data (SNIPS "
                                   "JSON or JSON Lines) runs as the device does (mcubert_nlu_run: on-device "
                                   "tokenizer, spans, slot decoding): intent accuracy, slot F1, frame accuracy. "
                                   "A model directory of `mcubert train --task intent-slots|tag|regress` is "
                                   "evaluated in float on data of its task "
                                   "(SNIPS JSON or JSON Lines: intent accuracy, slot F1; CoNLL: tag accuracy "
                                   "and F1; TSV: MSE and Pearson).")
    p.add_argument("model", metavar="MODEL", help=".mcub blob, model.pt or model directory")
    p.add_argument("--data", required=True, help="labelled .tsv, or the task's data (.json, .jsonl, .conll)")
    p.add_argument("--engine", choices=("c", "ref", "float"),
                   help="c (default for a blob), ref, or float (the only one for a model.pt or directory)")
    p.add_argument("--vocab", help="vocab.txt (default: the blob's own, or the model's)")
    p.add_argument("--tokenizer", choices=("c", "hf"), default="c", help=TOKENIZERS_HELP)
    p.add_argument("--limit", type=int, help="first N examples only")
    p.add_argument("--max-len", type=int, help="truncation length for the float model (default 128)")
    p.add_argument("--target", choices=TARGETS, default="host",
                   help="where a blob runs intent+slots data: host (default), or an emulated Cortex-M under QEMU "
                        "(adds instructions per utterance and peak RAM)")
    p.add_argument("--predictions", action="store_true", help="include per-example labels (frames) in --json")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)


# ---------------------------------------------------------------- bench


def cmd_bench(args: argparse.Namespace) -> int:
    from mcubert.formats import blob
    from mcubert.planning import cost
    from mcubert.targets import qemu

    data_bytes = read_blob(args.blob)
    cfg = blob.unpack(data_bytes).cfg
    if not 1 <= args.seq_len <= cfg.max_seq_len:
        raise CliError(f"--seq-len must be in [1, {cfg.max_seq_len}] for this blob")
    rng = np.random.default_rng(args.seed)
    ids = rng.integers(1000, min(cfg.vocab_size, 30000), size=args.seq_len) if cfg.vocab_size > 1000 \
        else rng.integers(0, cfg.vocab_size, size=args.seq_len)
    res = qemu.run(data_bytes, [(ids.tolist(), None)], target=args.target, per_op=True)[0]
    if res.get("rc", 0) != 0:
        raise CliError(f"inference failed on {args.target}: {res.get('err') or res['rc']}")
    macs = cost.macs(cfg, args.seq_len)
    scale = res["insns"] / max(1, res["insns_raw"])
    vec, extra = int(res.get("vector_insns", 0) * scale), int(res.get("extra_cycles", 0) * scale)
    result = {"target": args.target, "seq_len": args.seq_len, "instructions": int(res["insns"]),
              "vector_instructions": vec,
              "cycles_est": cost.cycle_estimate(args.target, int(res["insns"]), vec, extra),
              "macs": macs, "insns_per_mac": res["insns"] / macs, "smlad_bound": macs // 2, **_ram(res),
              "label": res.get("label"), "logits": res.get("logits")}
    if args.per_op and "per_op" in res:
        result["per_op"] = res["per_op"]

    def human(r: dict[str, Any]) -> None:
        print(f"{args.blob} on {r['target']}, {r['seq_len']} tokens")
        print(f"  instructions {r['instructions']:,}  ({r['insns_per_mac']:.2f} per MAC; {r['macs']:,} MACs, "
              f"SMLAD bound {r['smlad_bound']:,})")
        print(f"  cycles (est) {r['cycles_est']:,}  ({r['vector_instructions']:,} vector instructions; "
              "planning.cost.cycle_estimate)")
        print(f"  peak RAM     {format_bytes(r['ram_total'])} = arena {r['arena_peak']:,} + stack {r['stack_peak']:,}"
              f" + statics {r['static_ram']:,}")
        if r["logits"] is not None:
            print(f"  label {r['label']}, logits {r['logits']}")
        for name, n in sorted((r.get("per_op") or {}).items(), key=lambda kv: -kv[1]):
            print(f"    {name:32s} {n:>14,}")

    emit(args, result, human)
    return 0


def add_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="exact instruction count and peak RAM on an emulated Cortex-M",
                       description="Run one inference of SEQ_LEN tokens on QEMU (mps2-an500 = Cortex-M7, "
                                   "mps2-an385 = M3, mps2-an521 = M33, mps2-an505 = M33 with DSP, "
                                   "mps3-an547 = M55 with MVE; m7p, m55d: the M7 without the DSP kernels, the M55 "
                                   "without the MVE kernels) and count executed instructions exactly "
                                   "with a TCG plugin. Peak RAM = arena high-water + stack high-water + statics.")
    p.add_argument("blob")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--target", choices=BENCH_TARGETS, default="m7")
    p.add_argument("--per-op", action="store_true", help="break instructions down by kernel function")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    add_run(sub)
    add_eval(sub)
    add_bench(sub)

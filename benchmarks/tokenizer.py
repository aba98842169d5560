#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""On-device tokenizer on the emulated Cortex-M7: exact instructions per input byte, ids checked.

Encodes sentences with the C tokenizer inside the bare-metal harness on QEMU mps2-an500, using the packed
vocabulary stored in the blob, counts mcubert_tok_encode's instructions exactly (QEMU plugin), and checks
the ids against the host C tokenizer and Hugging Face `tokenizers`. With --spans it runs
mcubert_tok_encode_spans instead (instructions and stack are its own) and checks the spans too.

  python benchmarks/tokenizer.py BLOB --data dev.tsv [--limit N] [--vocab vocab.txt] [--spans] [--json]
"""

from __future__ import annotations

import argparse
import json

from mcubert.formats import blob
from mcubert.targets import qemu
from mcubert.targets.ctokenizer import CTokenizer, spans_to_c
from mcubert.tokenization import HFTokenizer
from mcubert.training.data import read_examples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("blob")
    ap.add_argument("--data", required=True, help=".tsv or .txt sentences")
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--vocab", help="vocab.txt for the Hugging Face cross-check")
    ap.add_argument("--target", default="m7")
    ap.add_argument("--spans", action="store_true", help="mcubert_tok_encode_spans (ids and spans checked)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    data = open(args.blob, "rb").read()
    packed = bytes(blob.unpack(data).sections[blob.Sec.VOCAB])
    texts = [e.text for e in read_examples(args.data, limit=args.limit)]
    got = []
    for i in range(0, len(texts), 100):  # the harness input region holds 1 MiB
        got += qemu.tokenize(data, texts[i:i + 100], target=args.target, spans=args.spans)
    host = CTokenizer(packed=packed)
    hf = HFTokenizer(args.vocab) if args.vocab else None
    n_bytes = sum(len(t.encode()) for t in texts)
    n_tokens = sum(len(r["ids"]) for r in got)
    mismatches = sum(r["ids"] != host.encode(t, max_len=4096)[0] for t, r in zip(texts, got))
    if args.spans:  # (start, end, word, flags) as the host gives them
        mismatches += sum(r["tokspans"] != [(int(x["start"]), int(x["end"]), int(x["word"]), int(x["flags"]))
                                            for x in spans_to_c(host.encode_with_spans(t, max_len=4096)[2])]
                          for t, r in zip(texts, got))
    hf_mismatches = None if hf is None else sum(r["ids"] != hf.encode(t, max_len=4096)[0] for t, r in zip(texts, got))
    insns = sum(r["insns"] for r in got)
    res = {"target": args.target, "spans": args.spans,
           "texts": len(texts), "bytes": n_bytes, "tokens": n_tokens, "instructions": insns,
           "insns_per_byte": insns / n_bytes, "insns_per_token": insns / n_tokens,
           "max_stack": max(r["stack_peak"] for r in got), "vocab_bytes": len(packed),
           "mismatches_vs_host_c": mismatches, "mismatches_vs_hf": hf_mismatches}
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"{res['texts']} texts, {n_bytes:,} bytes, {n_tokens:,} tokens on {args.target}: "
              f"{insns:,} instructions = {res['insns_per_byte']:.1f} per byte, {res['insns_per_token']:.0f} per token; "
              f"stack {res['max_stack']} B; packed vocab {len(packed):,} B; "
              f"{'ids or spans' if args.spans else 'ids'} differing from host C: {mismatches}"
              + ("" if hf_mismatches is None else f", from HF tokenizers: {hf_mismatches}"))


if __name__ == "__main__":
    main()

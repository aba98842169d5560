#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fidelity of an int8 blob against its float model: cosine similarity of the last hidden state.

For each sentence the C runtime's int8 last hidden state (dequantised with the
blob's hidden scale) is compared with the float model's, token by token; the
figure printed is the mean over tokens, then over sentences. Also printed: the
cosine of mean-pooled sentence embeddings and, for classifiers, label agreement.

  python benchmarks/fidelity.py MODEL BLOB --data dev.tsv [--vocab vocab.txt] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from tqdm import tqdm

from mcubert.conversion.checkpoint import load
from mcubert.conversion.floatmodel import FloatBert
from mcubert.formats import blob as blobmod
from mcubert.targets.native import Runtime
from mcubert.tokenization import make_tokenizer
from mcubert.training.data import read_examples


def cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1) + 1e-12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("blob")
    ap.add_argument("--data", required=True)
    ap.add_argument("--vocab")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    data = open(args.blob, "rb").read()
    b = blobmod.unpack(data)
    meta = b.meta()
    fm = FloatBert(load(args.model))
    rt = Runtime(data)
    tok = make_tokenizer(args.vocab or meta["vocab"])
    examples = read_examples(args.data, limit=args.limit)
    tok_cos, pooled_cos, agree, n_cls = [], [], 0, 0
    t0 = time.monotonic()
    for ids, types in tqdm(tok.encode_batch([e.pair for e in examples], max_len=b.cfg.max_seq_len), disable=args.json):
        f = fm.forward(ids, types)
        rt.infer(ids, types)
        hq = rt.hidden(len(ids), b.cfg.hidden).astype(np.float64) * meta["hidden_scale"]
        hf = f["hidden"].numpy().astype(np.float64)
        tok_cos.append(float(cos(hq, hf).mean()))
        pooled_cos.append(float(cos(hq.mean(0), hf.mean(0))))
        if f["logits"] is not None:
            n_cls += 1
            agree += int(np.argmax(rt.logits(b.cfg.n_labels)) == int(f["logits"].argmax()))
    res = {"sentences": len(tok_cos), "token_cosine_mean": float(np.mean(tok_cos)),
           "token_cosine_min": float(np.min(tok_cos)), "meanpool_cosine_mean": float(np.mean(pooled_cos)),
           "label_agreement": agree / n_cls if n_cls else None, "seconds": round(time.monotonic() - t0, 1)}
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"sentences {res['sentences']}: last-hidden-state cosine int8 vs float "
              f"mean {res['token_cosine_mean']:.4f} (worst sentence {res['token_cosine_min']:.4f}); "
              f"mean-pooled {res['meanpool_cosine_mean']:.4f}"
              + (f"; label agreement {100 * res['label_agreement']:.2f} %" if n_cls else "")
              + f"; {res['seconds']} s")


if __name__ == "__main__":
    main()

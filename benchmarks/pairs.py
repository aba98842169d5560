# SPDX-License-Identifier: Apache-2.0
"""Sentence pairs (QNLI-style): a trained pair classifier in float and its int8 blob on the C runtime.

Prints the accuracy of the float model (PyTorch) and of the blob on the host C runtime (the on-device
tokenizer with the blob's vocabulary, [CLS] a [SEP] b [SEP] with type ids, the int8 forward pass) on
labelled pairs, e.g. the held-out split `mcubert train --task pair --holdout N` writes:

  python benchmarks/pairs.py --model runs/qnli-tiny --blob qnli.mcub --data runs/qnli-tiny/heldout.tsv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from mcubert.compression.model_io import load_task  # noqa: E402
from mcubert.formats import blob as blobmod  # noqa: E402
from mcubert.targets.native import Runtime  # noqa: E402
from mcubert.tokenization import make_tokenizer  # noqa: E402
from mcubert.training.evaluate import evaluate_task_model  # noqa: E402
from mcubert.training.metrics import accuracy  # noqa: E402
from mcubert.training.tasks import task  # noqa: E402


def c_runtime_accuracy(data: bytes, examples: list) -> float:
    """Accuracy of the blob on the host C runtime, tokenizing with the blob's own vocabulary."""
    b = blobmod.unpack(data)
    names = [n.lower() for n in b.meta()["labels"]]
    tok = make_tokenizer(kind="c", packed=bytes(b.sections[int(blobmod.Sec.VOCAB)]))
    rt = Runtime(data)
    pred, gold = [], []
    for e in examples:
        ids, types = tok.encode(e.text, e.text_b, max_len=b.cfg.max_seq_len)
        rt.infer(ids, types)
        pred.append(int(rt.logits(b.cfg.n_labels).argmax()))
        gold.append(names.index(e.label.lower()) if e.label.lower() in names else int(e.label))
    return accuracy(pred, gold)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True, help="the trained pair model (mcubert train --task pair)")
    ap.add_argument("--blob", type=Path, required=True, help="its blob (mcubert convert)")
    ap.add_argument("--data", type=Path, required=True, help="labelled pairs (TSV)")
    ap.add_argument("--max-len", type=int, default=128, help="tokens of the float model's inputs")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    examples = task("pair").read(args.data)
    data = args.blob.read_bytes()
    rows = {"float": evaluate_task_model(args.model, args.data, max_len=args.max_len,
                                         loaded=load_task(args.model))["accuracy"],
            "int8 (C runtime)": c_runtime_accuracy(data, examples)}
    if args.json:
        print(json.dumps({"rows": rows, "examples": len(examples), "blob_bytes": len(data)}, indent=2))
        return 0
    print(f"{len(examples)} pairs of {args.data}; blob {len(data):,} B")
    for name, acc in rows.items():
        print(f"{name:18s} accuracy {100 * acc:6.2f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())

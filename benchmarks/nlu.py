# SPDX-License-Identifier: Apache-2.0
"""Intent + slots: a trained joint model in float and its int8 blob on the C runtime, on held-out utterances.

Prints intent accuracy, slot F1 (a slot is right when its name and its text equal a gold slot's) and frame
accuracy for the float model (PyTorch) and for the blob on the host C runtime (the device's bits: the
on-device tokenizer with byte spans, the int8 forward pass, the C slot decoder's rule), then, on the
emulated Cortex-M7, instructions and peak RAM per utterance for --target-count utterances spread over the
data: one measured call of mcubert_nlu_run() each (the on-device tokenizer with spans, inference, tags and
slot decoding; targets/nlu.py).

  python benchmarks/nlu.py --model runs/snips-tiny --blob nlu.mcub --data runs/snips-tiny/heldout.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from mcubert.compression.model_io import load_task  # noqa: E402
from mcubert.targets import nlu  # noqa: E402
from mcubert.training.evaluate import evaluate_task_model  # noqa: E402
from mcubert.training.readers import read_utterances  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, required=True,
                    help="the trained model directory (mcubert train; mcubert compress: OUT/model)")
    ap.add_argument("--blob", type=Path, required=True, help="its blob (mcubert convert)")
    ap.add_argument("--data", type=Path, required=True, help="held-out utterances: JSON Lines or SNIPS JSON")
    ap.add_argument("--target", default="m7")
    ap.add_argument("--target-count", type=int, default=20,
                    help="utterances run on the emulated core, spread evenly over the data")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    utterances = read_utterances(args.data)
    data = args.blob.read_bytes()
    rows = {"float": evaluate_task_model(args.model, args.data, loaded=load_task(args.model)),
            "int8 (C runtime)": nlu.evaluate(data, utterances)[0]}
    emu = None
    if args.target_count:
        spread = utterances[::max(1, len(utterances) // args.target_count)][:args.target_count]
        emu = {"target": args.target, **nlu.target_summary(nlu.frames(data, [u.text for u in spread], args.target))}
    if args.json:
        print(json.dumps({"rows": rows, "target": emu, "blob_bytes": len(data)}, indent=2))
        return 0
    print(f"{len(utterances)} utterances of {args.data}; blob {len(data):,} B")
    print(f"{'engine':18s} {'intent acc':>10s} {'slot F1':>8s} {'frame acc':>9s}")
    for name, r in rows.items():
        print(f"{name:18s} {100 * r['intent_accuracy']:9.2f}% {100 * r['slot_f1']:8.2f} "
              f"{100 * r['frame_accuracy']:8.2f}%")
    if emu:
        print(f"{emu['target']}: median {emu['median_instructions']:,} instructions per utterance (max "
              f"{emu['max_instructions']:,}, {emu['utterances']} utterances), peak RAM {emu['peak_ram']:,} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: Apache-2.0
"""Make samples/nlu/tiny/model.mcub: a random joint intent + slots model of a tiny shape (hidden 16, one
layer, the 157-word test vocabulary) with SNIPS's intent names and a few of its slot tags. Its answers mean
nothing; it proves that the sample builds and runs where the shipped model (samples/nlu/model.mcub) does
not fit or has not landed, and that the device's frames equal the host's.

  python samples/nlu/tiny/make_tiny.py      # then: python -m mcubert.targets.zephyr stamp (printed)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

from safetensors.numpy import save_file  # noqa: E402

from mcubert.conversion.api import convert  # noqa: E402
from mcubert.conversion.checkpoint import random_checkpoint  # noqa: E402
from mcubert.targets.zephyr import write_stamp  # noqa: E402

VOCAB = ROOT / "tests" / "fixtures" / "vocab-small.txt"
CALIB = HERE.parent / "commands.txt"
INTENTS = ["AddToPlaylist", "BookRestaurant", "GetWeather", "PlayMusic", "RateBook", "SearchCreativeWork",
           "SearchScreeningEvent"]
SLOTS = ["artist", "city", "genre", "playlist", "restaurant_type", "timeRange"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--output", type=Path, default=HERE / "model.mcub")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    tags = ["O"] + [f"{k}-{s}" for s in SLOTS for k in "BI"]
    n_vocab = len(VOCAB.read_text(encoding="utf-8").splitlines())
    ck = random_checkpoint(vocab_size=n_vocab, hidden=16, n_layers=1, n_heads=2, ffn=32, n_labels=len(INTENTS),
                           max_pos=64, seed=args.seed, n_tags=len(tags), task="intent-slots")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        save_file({k: v.astype("float32") for k, v in ck.weights.items()}, str(d / "model.safetensors"))
        cfg = dict(ck.config, architectures=["McubertForIntentSlots"], intent_labels=INTENTS, slot_labels=tags)
        (d / "config.json").write_text(json.dumps(cfg, indent=2, default=str))
        (d / "vocab.txt").write_bytes(VOCAB.read_bytes())
        convert(d, calib=CALIB, vocab=d / "vocab.txt", max_seq_len=48).save(args.output)
    stamp = write_stamp(args.output, [VOCAB, CALIB, Path(__file__)])
    print(f"wrote {args.output} ({args.output.stat().st_size:,} B) and {stamp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

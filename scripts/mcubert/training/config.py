# SPDX-License-Identifier: Apache-2.0
"""The settings of a training run (TrainConfig), the student shape presets, the file names of a run and the
process's place in a torchrun launch (from its environment).

No torch here: the command line builds its parser from these defaults.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

STATE_FILE = "train_state.pt"  # the resumable state, in the output directory
META_FILE = "mcubert_train.json"  # the run's config, history and result, beside the saved model

TASKS = ("classify", "pair", "regress", "tag", "intent-slots")  # what `mcubert train --task` trains (tasks.py)

SHAPES = {  # name: (layers, hidden, heads, ffn)
    "tiny": (2, 128, 2, 512),
    "mini": (4, 256, 4, 1024),
    "minilm-l6": (6, 384, 12, 1536),  # the source itself: fine-tunes MiniLM-L6 (the distillation teacher)
    "small": (4, 512, 8, 2048),
}

# what a resumed run may change; everything else comes from its saved state
RESUME_OVERRIDES = ("out", "epochs", "max_steps", "stop_after", "threads", "progress", "keep_state", "device",
                    "precision")


@dataclasses.dataclass
class TrainConfig:
    out: Path
    train: Path
    dev: Path | None  # None: hold out `holdout` training examples as the dev set
    vocab: Path
    init_from: Path | None  # pretrained BertModel dir (config.json + model.safetensors); None: random init
    task: str = "classify"  # classify, pair, regress, tag, intent-slots (training/tasks.py)
    slot_weight: float = 1.0  # intent-slots: loss = intent CE + slot_weight * slot CE
    augment_lowercase: bool = False  # intent-slots: add a lower-case copy of each utterance (training/augment.py)
    case_types: bool = False  # tag, intent-slots: token types carry each word's case (training/tasks.py)
    slot_scheme: str = "bio"  # intent-slots: training targets B-x, I-x ("bio") or I-x only ("io"; training/slots.py)
    holdout: int = 0  # without `dev`: hold out this many training examples per class (intent) as dev
    holdout_seed: int = 0  # the draw of the held-out examples (independent of `seed`)
    augment_slots: int = 0  # intent-slots: this many slot-value substituted copies of each training utterance
    layers: int = 2
    hidden: int = 128
    heads: int = 2
    ffn: int = 512
    max_pos: int = 512
    init_encoder: str = "minilm"  # "minilm" (truncate the source layers in the PCA basis) or "random"
    init_layers: str = "first"  # which source layers: "first", "spread", or a comma list "0,3"
    epochs: float = 4.0
    max_steps: int | None = None
    batch_size: int = 32
    max_len: int = 64
    lr: float = 5e-4
    emb_lr: float | None = 1e-4  # learning rate of the embeddings (None: lr; 0: frozen)
    pos_lr: float | None = None  # learning rate of the position embeddings (None: emb_lr)
    weight_decay: float = 0.01
    warmup: float = 0.06  # fraction of the steps
    dropout: float = 0.1
    seed: int = 0
    threads: int = 1
    device: str = "auto"  # auto (a GPU when present), cpu, cuda, mps
    precision: str = "auto"  # auto (bf16 on a CUDA GPU, else fp32), fp32, bf16, fp16
    eval_every: int = 0  # also evaluate every N steps (0: only at epoch ends)
    save_every: int = 500  # write the resumable state every N steps (0: only at epoch ends)
    stop_after: int | None = None  # stop (resumably) after this many steps in this run
    limit_train: int | None = None  # use only the first N training sentences (tests, quick trials)
    teacher: Path | None = None
    kd_alpha: float = 0.5
    kd_temperature: float = 2.0
    progress: bool = True
    keep_state: bool = False

    def to_json(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(self).items()}


def env_rank() -> int:
    """This process's rank as torchrun set it (0 outside torchrun)."""
    return int(os.environ.get("RANK", "0"))


def env_world() -> int:
    """The number of processes torchrun started (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))

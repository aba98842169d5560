# SPDX-License-Identifier: Apache-2.0
"""Old address of the training names, kept until their importers switch; import from `mcubert.training`.

compression/compress.py and tests/python/test_compress.py import from here, samples/sst2/reproduce.sh runs
`python -m mcubert.training.train` (= `mcubert train`). Delete this module when they have moved: once it is
imported, the package attribute `mcubert.training.train` is this module rather than the function train(),
so the module is made callable (it calls train()) until then.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from mcubert.training.config import META_FILE, STATE_FILE, TrainConfig
from mcubert.training.data import encode, make_tokenizer, read_tsv
from mcubert.training.errors import TrainError
from mcubert.training.loop import (StepLoop, batched_logits, classification_loss, collate, evaluate,
                                   warmup_schedule)
from mcubert.training.recipe import train


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

_loss = classification_loss
_schedule = warmup_schedule

__all__ = ["META_FILE", "STATE_FILE", "StepLoop", "TrainConfig", "TrainError", "batched_logits", "collate",
           "encode", "evaluate", "make_tokenizer", "read_tsv", "train"]

if __name__ == "__main__":
    from mcubert.cli import main

    raise SystemExit(main(["train", *sys.argv[1:]]))

# SPDX-License-Identifier: Apache-2.0
"""`compress`: the search, then distillation, on data read once (OUT/init.pt, then OUT/model.pt)."""

from __future__ import annotations

import logging
import time
from typing import Any

from mcubert.compression.corpus import load_data
from mcubert.compression.errors import CompressError
from mcubert.compression.model_io import read_config
from mcubert.compression.search import SearchConfig, run_search
from mcubert.training.distill import STATE_FILE, DistillConfig, distill

log = logging.getLogger(__name__)


def compress(search: SearchConfig, distillation: DistillConfig, resume: bool = False) -> dict[str, Any]:
    """Search into `search.out`, then distil OUT/init.pt; returns distillation's summary.

    With `resume`, an existing OUT/init.pt is kept and an interrupted distillation continues from its state.
    """
    if distillation.init != search.out / "init.pt" or distillation.out != search.out:
        raise CompressError("compress distils the searched OUT/init.pt into the same OUT")
    init, state = search.out / "init.pt", search.out / STATE_FILE
    data = load_data(search.train, search.dev, search.vocab, search.max_len, search.limit_train,
                     read_config(search.teacher))
    t0 = time.perf_counter()
    if resume and init.is_file():
        log.info("resume: reusing %s", init)
    else:
        run_search(search, data)
    log.info("search: %.1f s", time.perf_counter() - t0)
    return distill(distillation, resume=state if resume and state.is_file() else None, data=data)

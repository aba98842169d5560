# SPDX-License-Identifier: Apache-2.0
"""The library calls of tests/python/test_distributed.py, for torchrun to run in every process.

    torchrun --nproc-per-node 2 ... distributed_worker.py JOBS.json RESULT.json

JOBS.json maps "train" / "distill" / "search" to the keyword arguments of TrainConfig / DistillConfig /
SearchConfig (paths as strings); the jobs run in that order and rank 0 writes their summaries (the step
losses included) to RESULT.json. Run without torchrun, it is the single-process reference.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from mcubert.training.config import env_rank  # noqa: E402

PATHS = ("out", "train", "dev", "vocab", "init_from", "teacher", "init", "logit_teacher", "fisher_cache")


def _kw(job: dict[str, Any]) -> dict[str, Any]:
    return {k: (Path(v) if k in PATHS and v is not None else tuple(v) if isinstance(v, list) else v)
            for k, v in job.items()}


def run(jobs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The summaries of the jobs, run in the order train, distill, search."""
    results: dict[str, Any] = {}
    if "train" in jobs:
        from mcubert.training import TrainConfig
        from mcubert.training.recipe import train

        results["train"] = train(TrainConfig(**_kw(jobs["train"])))
    if "distill" in jobs:
        from mcubert.training.distill import DistillConfig, distill

        results["distill"] = distill(DistillConfig(**_kw(jobs["distill"])))
    if "search" in jobs:
        from mcubert.compression.search import SearchConfig, run_search

        results["search"] = run_search(SearchConfig(**_kw(jobs["search"])))
    return results


def main() -> None:
    jobs = json.loads(Path(sys.argv[1]).read_text())
    results = run(jobs)
    if env_rank() == 0:
        Path(sys.argv[2]).write_text(json.dumps(results, indent=1, default=str))
    from mcubert.training.distributed import shutdown

    shutdown()


if __name__ == "__main__":
    main()

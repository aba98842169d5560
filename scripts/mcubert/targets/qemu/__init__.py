# SPDX-License-Identifier: Apache-2.0
"""Run the mcubert C runtime on Cortex-M under QEMU, with exact instruction counts.

The bare-metal harness (tools/baremetal) is built once per target with
arm-none-eabi-gcc and reused for any blob and inputs: QEMU's generic loader
places the blob and an input record in RAM. A TCG plugin of ours
(tools/qemu_plugin/insn_count.c) counts the guest instructions executed
between two marker functions, exactly. See docs/qemu-harness.md.

Typical use::

    from mcubert.targets import qemu
    res = qemu.run(blob_bytes, [(ids, None), (ids2, type_ids2)], target="m7")
    res[0]["logits"], res[0]["insns"], res[0]["stack_peak"]

Everything built is cached under ``$MCUBERT_CACHE`` (default
``~/.cache/mcubert``), keyed by a hash of the sources and flags.

Modules: ``machines`` (targets, errors, record constants), ``toolchain``
(prerequisites, cached builds), ``plugin`` (the instruction counter),
``harness`` (the bare-metal program), ``record`` (its input record),
``runner`` (running and parsing).
"""

from mcubert.targets.qemu.harness import Harness, build_harness
from mcubert.targets.qemu.machines import (
                                           DUMP_FLAGS,
                                           FLAG_HIDDEN,
                                           FLAG_LOGITS,
                                           FLAG_POOLED,
                                           INPUT_END_MAGIC,
                                           INPUT_MAGIC,
                                           INPUT_VERSION,
                                           MODE_INIT_ONLY,
                                           MODE_NLU,
                                           MODE_RUN,
                                           MODE_SELFTEST,
                                           MODE_TOKENIZE,
                                           PROGRAMS,
                                           TARGETS,
                                           PluginHeaderUnavailable,
                                           QemuError,
                                           Target,
                                           ToolchainMissing,
)
from mcubert.targets.qemu.plugin import build_plugin, fetch_plugin_header
from mcubert.targets.qemu.record import encode_input, split_sequence
from mcubert.targets.qemu.runner import RunResult, init_errno, nlu, run, run_harness, selftest, tokenize
from mcubert.targets.qemu.toolchain import (
                                           check_prerequisites,
                                           install_prerequisites,
                                           missing_prerequisites,
                                           qemu_version,
)

__all__ = [
    "QemuError", "ToolchainMissing", "PluginHeaderUnavailable", "Target", "TARGETS", "PROGRAMS", "Harness",
    "RunResult", "check_prerequisites", "install_prerequisites", "missing_prerequisites", "qemu_version",
    "fetch_plugin_header", "build_plugin", "build_harness", "run", "run_harness", "tokenize", "nlu", "init_errno",
    "selftest", "encode_input", "split_sequence", "DUMP_FLAGS", "FLAG_LOGITS", "FLAG_POOLED", "FLAG_HIDDEN",
    "INPUT_MAGIC", "INPUT_END_MAGIC", "INPUT_VERSION", "MODE_RUN", "MODE_INIT_ONLY", "MODE_SELFTEST",
    "MODE_TOKENIZE", "MODE_NLU",
]

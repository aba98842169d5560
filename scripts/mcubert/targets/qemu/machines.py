# SPDX-License-Identifier: Apache-2.0
"""Cortex-M targets the harness runs on (QEMU machines and compiler flags), the errors, and the
input record's constants shared with tools/baremetal/harness.c."""

from __future__ import annotations

import dataclasses
import logging
import os

log = logging.getLogger(__name__)

class QemuError(RuntimeError):
    """Building or running the QEMU harness failed."""


class ToolchainMissing(QemuError):
    """arm-none-eabi-gcc, newlib, qemu-system-arm or a host C compiler is missing."""


class PluginHeaderUnavailable(ToolchainMissing):
    """qemu-plugin.h could not be obtained (no apt-get, no deb-src archive reachable)."""


@dataclasses.dataclass(frozen=True)
class Target:
    name: str          # short name: m7, m3, m33
    machine: str       # QEMU -M
    cpu: str           # -mcpu
    cflags: tuple[str, ...]


TARGETS: dict[str, Target] = {
    "m7": Target("m7", "mps2-an500", "cortex-m7", ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=soft")),
    "m3": Target("m3", "mps2-an385", "cortex-m3", ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft")),
    # AN521's CPU0 (the one that boots) is an M33 without DSP or FPU, in QEMU as on the board.
    "m33": Target("m33", "mps2-an521", "cortex-m33", ("-mcpu=cortex-m33+nodsp", "-mthumb", "-mfloat-abi=soft")),
    # AN505 (IoTKit): an M33 with DSP (and FPU), as most M33 MCUs; same memory map.
    "m33dsp": Target("m33dsp", "mps2-an505", "cortex-m33", ("-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=soft")),
    # The M7 with the DSP kernels switched off: the portable C path's counts on the same core.
    "m7p": Target("m7p", "mps2-an500", "cortex-m7", ("-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=soft",
                                                     "-DMCUBERT_PORTABLE")),
    # AN547 (Corstone-300): a Cortex-M55 with MVE (Helium) and the FPU. GCC 12 turns MVE off
    # under -mfloat-abi=soft, so the hard-float ABI (newlib's v8-m.main+dp/hard multilib).
    "m55": Target("m55", "mps3-an547", "cortex-m55", ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard")),
    # The M55 with the MVE kernels switched off: the DSP path's counts on the same core.
    "m55d": Target("m55d", "mps3-an547", "cortex-m55", ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard",
                                                        "-DMCUBERT_NO_MVE")),
}

# Bare-metal programs build_harness() can build: their files under tools/baremetal (.c compiled,
# .h hashed) besides startup.c and semihost.c. kernel_test runs single kernels (mcubert.kernels_qemu).
PROGRAMS: dict[str, tuple[str, ...]] = {
    "harness": ("harness.c", "harness_text.c", "harness.h"),
    "kernel_test": ("kernel_test.c", "kernel_calls.c", "kernel_calls.h"),
}

# The cross compiler; MCUBERT_CROSS_CC=tools/baremetal/clang-arm-cc builds the runtime with clang (linked by
# arm-none-eabi-gcc against its newlib), e.g. for benchmarks/kernel_counts.py.
CROSS_CC = os.environ.get("MCUBERT_CROSS_CC") or "arm-none-eabi-gcc"
CROSS_AR = "arm-none-eabi-ar"
CROSS_OBJDUMP = "arm-none-eabi-objdump"
QEMU = "qemu-system-arm"
APT_PACKAGES = ("gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "qemu-system-arm")

COMMON_CFLAGS = ("-std=c11", "-O3", "-g", "-ffunction-sections", "-fdata-sections",
                 "-Wall", "-Wextra", "-DNDEBUG")
LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "-Wl,--gc-sections")

# Input record (see tools/baremetal/harness.c).
INPUT_MAGIC = 0x4942434D      # 'MCBI'
INPUT_END_MAGIC = 0x4542434D  # 'MCBE'
INPUT_VERSION = 1
MODE_RUN, MODE_INIT_ONLY, MODE_SELFTEST, MODE_TOKENIZE, MODE_NLU = 0, 1, 2, 3, 4
FLAG_LOGITS, FLAG_POOLED, FLAG_HIDDEN = 1, 2, 4
FLAG_TOKENS = 8  # modes 0-1: token logits and tags
FLAG_SPANS = 8  # mode 3: spans and the harness's slot self-check (the same bit, another mode)
HARNESS_OUTPUT_VERSION = 2  # the "harness version=" line: 2 adds config n_tags/head and the tokens line
DUMP_FLAGS = {"logits": FLAG_LOGITS | FLAG_TOKENS, "pooled": FLAG_LOGITS | FLAG_POOLED | FLAG_TOKENS,
              "hidden": FLAG_LOGITS | FLAG_POOLED | FLAG_HIDDEN | FLAG_TOKENS,
              "spans": FLAG_SPANS}  # mode 3
EXIT_STATUS = {1: "error", 2: "bad input record", 3: "CPU fault", 4: "stack overflow",
               5: "assertion failed"}




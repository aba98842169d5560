#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Install what mcubert needs on a Debian/Ubuntu machine, by package name:
#   apt: gcc (host runtime), gcc-arm-none-eabi + libnewlib-arm-none-eabi (Cortex-M builds),
#        qemu-system-arm (emulated Cortex-M3/M7/M33), clang-format-16 (the C style check),
#        clang-16 + libclang-rt-16-dev (libFuzzer and the sanitizers of the fuzz targets, tests/fuzz)
#   pip: torch 2.13.0 (CPU build) first, so nothing pulls a CUDA build, then this package (editable), pytest
#        and ruff (the Python style check).
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

pkgs=()
command -v cc >/dev/null 2>&1 || pkgs+=(gcc)
command -v arm-none-eabi-gcc >/dev/null 2>&1 || pkgs+=(gcc-arm-none-eabi)
[ -d /usr/lib/arm-none-eabi/newlib ] || pkgs+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null 2>&1 || pkgs+=(qemu-system-arm)
command -v clang-format-16 >/dev/null 2>&1 || pkgs+=(clang-format-16)
command -v clang-16 >/dev/null 2>&1 || pkgs+=(clang-16)
dpkg -s libclang-rt-16-dev >/dev/null 2>&1 || pkgs+=(libclang-rt-16-dev)
if [ ${#pkgs[@]} -gt 0 ]; then
	echo "== apt-get install ${pkgs[*]}"
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${pkgs[@]}"
fi

PY=${PYTHON:-python3}
if ! $PY -c "import torch" >/dev/null 2>&1; then
	echo "== pip install torch==2.13.0"
	$PY -m pip install -q torch==2.13.0
fi
if ! $PY -c "import mcubert, pytest, transformers, tokenizers, ruff" >/dev/null 2>&1 \
	|| ! command -v mcubert >/dev/null 2>&1; then
	echo "== pip install -e .[test]"
	$PY -m pip install -q -e ".[test]"
fi
echo "== dependencies ready"

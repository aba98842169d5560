# SPDX-License-Identifier: Apache-2.0
"""Checked-in C generated from Python tables: each file equals its rendering."""

from __future__ import annotations

from conftest import ROOT
from mcubert.targets import kernel_ids


def test_kernel_calls_h_is_generated_from_kernel_ids_py():
    assert (ROOT / "tools/baremetal/kernel_calls.h").read_text() == kernel_ids.render_c_header()


def test_kernel_ids_are_unique():
    ids = [kid for _, kid, _ in kernel_ids.TABLE]
    assert len(set(ids)) == len(ids) and len(kernel_ids.KERNELS) == len(ids)
    assert all(len(args.split(",")) <= kernel_ids.MAX_ARGS for _, _, args in kernel_ids.TABLE)


def test_kernels_qemu_uses_the_table():
    from mcubert import kernels_qemu

    assert kernels_qemu.KERNELS is kernel_ids.KERNELS

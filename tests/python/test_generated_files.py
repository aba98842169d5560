# SPDX-License-Identifier: Apache-2.0
"""Every C file generated from Python is current (mcubert.formats.cgen.GENERATED)."""

from __future__ import annotations

import unicodedata

import pytest

from conftest import ROOT
from mcubert.formats import cgen, tokenizer_tables
from mcubert.targets import kernel_ids, kernels_qemu


@pytest.mark.parametrize("path", sorted(cgen.GENERATED))
def test_generated_file_is_current(path: str) -> None:
    if path.endswith("tokenizer_tables.c") and unicodedata.unidata_version != tokenizer_tables.UNIDATA_VERSION:
        pytest.skip(f"unicodedata {unicodedata.unidata_version}: the tables were generated with "
                    f"{tokenizer_tables.UNIDATA_VERSION}")
    assert (ROOT / path).read_text() == cgen.renderer(path)(), f"{path} is stale: run `{cgen.REGENERATE}`"


def test_check_names_a_stale_file(tmp_path) -> None:
    (tmp_path / "include/mcubert").mkdir(parents=True)
    (tmp_path / "include/mcubert/blob_format.h").write_text("/* edited by hand */\n")
    assert cgen.stale(tmp_path, ["include/mcubert/blob_format.h"]) == ["include/mcubert/blob_format.h"]


def test_kernel_ids_are_unique() -> None:
    ids = [kid for _, kid, _ in kernel_ids.TABLE]
    assert len(set(ids)) == len(ids) and len(kernel_ids.KERNELS) == len(ids)
    assert all(len(args.split(",")) <= kernel_ids.MAX_ARGS for _, _, args in kernel_ids.TABLE)
    assert kernels_qemu.KERNELS is kernel_ids.KERNELS

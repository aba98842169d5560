# SPDX-License-Identifier: Apache-2.0
"""The compression budget's flash figure comes from the blob's own layout (formats.blob.blob_size)."""

from __future__ import annotations

from conftest import ROOT
from mcubert.compression.model_io import describe
from mcubert.formats import blob


def test_flash_estimate_of_the_shipped_model_is_its_blob_size() -> None:
    """Exact but for the META text, which the estimate counts generously (never under, at most 1 KiB over)."""
    d = describe(ROOT / "samples/sst2/compressed/model.pt")
    data = (ROOT / "samples/sst2/compressed/model.mcub").read_bytes()
    vocab = len(blob.unpack(data).sections.get(int(blob.Sec.VOCAB), b""))
    assert 0 <= d["flash_estimate"] - (len(data) - vocab) <= 1024

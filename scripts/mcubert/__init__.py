# SPDX-License-Identifier: Apache-2.0
"""mcubert: compressed int8 BERT models on microcontrollers (Zephyr module tooling).

    import mcubert
    mcubert.convert("model.pt", calib="calib.txt", max_seq_len=128).save("model.mcub")

`import mcubert` stays light (no torch): `convert` imports its module when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcubert.conversion.api import ConvertedBlob

__version__ = "0.1.0"


def convert(model: Any, **kwargs: Any) -> "ConvertedBlob":
    """Quantise a BERT checkpoint into an .mcub blob: see `mcubert.conversion.api.convert`."""
    from mcubert.conversion.api import convert as _convert

    return _convert(model, **kwargs)

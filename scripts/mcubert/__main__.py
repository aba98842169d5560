# SPDX-License-Identifier: Apache-2.0
"""python -m mcubert"""

from .cli import entry

entry()

# SPDX-License-Identifier: Apache-2.0
"""mcubert: compressed int8 BERT models on microcontrollers (Zephyr module tooling)."""

__version__ = "0.1.0"

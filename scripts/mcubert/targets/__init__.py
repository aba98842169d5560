# SPDX-License-Identifier: Apache-2.0
"""Where blobs run: the host C runtime, the QEMU bare-metal harness, Zephyr and boards."""

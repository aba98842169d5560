# SPDX-License-Identifier: Apache-2.0
"""The compression package's error: a setup that cannot run, said in one line."""


class CompressError(ValueError):
    """A compression setup that cannot run; the message is one line for the user."""

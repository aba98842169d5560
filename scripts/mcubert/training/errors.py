# SPDX-License-Identifier: Apache-2.0
"""The errors of the training package: one line for the user, no traceback."""

from __future__ import annotations


class TrainError(ValueError):
    """A training setup that cannot run; the message is one line for the user."""


class DataError(TrainError):
    """A data file that cannot be read, with the file (and line) in the message.

    A TrainError, so that the callers of the recipes catch one class."""

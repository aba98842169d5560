# SPDX-License-Identifier: Apache-2.0
"""Target-side tables shared by the Python tooling and generated C (kernel ids of the test dispatcher)."""

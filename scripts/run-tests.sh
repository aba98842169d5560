#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Install dependencies, then run every test: Python + host C runtime, QEMU Cortex-M (bit-exact, errors),
# and the Zephyr workspace check when a Zephyr tree is found (ZEPHYR_BASE or ~/zephyrproject/zephyr).
# Extra arguments go to pytest (e.g. -k bitexact, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
PY=${PYTHON:-python3}

zephyr_base="${ZEPHYR_BASE:-$HOME/zephyrproject/zephyr}"
if [ -f "$zephyr_base/VERSION" ]; then
	export ZEPHYR_BASE="$zephyr_base"
	if [ "${MCUBERT_ZEPHYR_FULL:-}" = "1" ]; then
		echo "== Zephyr tree found at $zephyr_base: Zephyr checks and the full Twister pass run (MCUBERT_ZEPHYR_FULL=1, ~15 min on 2 cores)"
	else
		echo "== Zephyr tree found at $zephyr_base: the quick Zephyr checks run; the full Twister pass is" \
			"SKIPPED (set MCUBERT_ZEPHYR_FULL=1 to build and run tests/zephyr and samples/sst2 on the QEMU boards)"
	fi
else
	echo "== Zephyr check SKIPPED: no Zephyr tree at $zephyr_base (ZEPHYR_BASE is ${ZEPHYR_BASE:-unset};" \
		"set it to a Zephyr checkout to run the Zephyr check)"
fi

status=0
$PY -m pytest tests/python -q -rs "$@" || status=$?
# pytest exits 5 when nothing was collected: that is a failure of this script, not a pass
exit $status

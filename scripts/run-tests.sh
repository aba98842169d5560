#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Install dependencies, then run every test: Python + host C runtime, QEMU Cortex-M (bit-exact, errors),
# the fuzz targets for a short time each (tests/python/test_fuzz.py), the Zephyr workspace check when a
# Zephyr tree is found (ZEPHYR_BASE or ~/zephyrproject/zephyr), and then the host suite once more with the
# host runtime under ASan + UBSan (every report fatal; MCUBERT_SANITIZE_PASS=0 skips it).
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

# The host suite under the sanitizers: MCUBERT_SANITIZE=1 builds the host runtime with
# -fsanitize=address,undefined -fno-sanitize-recover=all (targets/native.py); Python needs the compiler's
# ASan runtime preloaded. -s: a sanitizer report ends the process, and must reach the terminal.
asan_rt="$(${CC:-cc} -print-file-name=libasan.so)"
if [ "${MCUBERT_SANITIZE_PASS:-1}" != "1" ]; then
	echo "== sanitizer pass SKIPPED (MCUBERT_SANITIZE_PASS=${MCUBERT_SANITIZE_PASS})"
elif [ ! -f "$asan_rt" ]; then
	echo "== sanitizer pass SKIPPED: ${CC:-cc} has no ASan runtime"
else
	echo "== host suite under ASan + UBSan (MCUBERT_SANITIZE=1)"
	LD_PRELOAD="$asan_rt" ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 MCUBERT_SANITIZE=1 \
		$PY -m pytest tests/python -q -s -rs -m "not qemu and not zephyr" -p no:cacheprovider \
		--deselect tests/python/test_fuzz.py --deselect tests/python/test_style.py "$@" || status=$?
fi
# pytest exits 5 when nothing was collected: that is a failure of this script, not a pass
exit $status

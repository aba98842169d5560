#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The main job on the embedded default: install what is needed, convert the shipped SST-2 BERT-tiny
# models to int8 blobs (samples/sst2/model, 4.66 MB; samples/sst2/compressed, its clustered low-rank
# compression, 0.96 MB, which fits the F767's flash), and classify sentences with the C runtime on an
# emulated Cortex-M7 (QEMU mps2-an500), printing labels, exact instruction counts and peak RAM.
# Pass your own sentences as arguments to classify those instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

out=build/demo
mkdir -p "$out"
echo
echo "== mcubert convert samples/sst2/model -o $out/sst2.mcub"
mcubert convert samples/sst2/model -o "$out/sst2.mcub" --calib samples/sst2/calib.txt --max-seq-len 128
echo
echo "== mcubert convert samples/sst2/compressed/model.pt -o $out/sst2-compressed.mcub"
mcubert convert samples/sst2/compressed/model.pt -o "$out/sst2-compressed.mcub" --calib samples/sst2/calib.txt \
	--vocab samples/sst2/model/vocab.txt --max-seq-len 128

if [ $# -gt 0 ]; then
	sentences=("$@")
else
	sentences=(
		"a gripping , beautifully acted film that stays with you ."
		"the plot is thin and the jokes are painfully flat ."
		"not the best movie of the year , but a lot of fun ."
		"i wanted to like it , but it is a dull , lifeless mess ."
	)
fi
echo
echo "== classifying on an emulated Cortex-M7 (qemu-system-arm -M mps2-an500): uncompressed, then compressed"
for s in "${sentences[@]}"; do
	printf '%s\n   ' "\"$s\""
	mcubert run "$out/sst2.mcub" "$s" --target m7
	printf '   '
	mcubert run "$out/sst2-compressed.mcub" "$s" --target m7
done

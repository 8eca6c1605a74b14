#!/usr/bin/env bash
# The README's first command. On a fresh Debian/Ubuntu machine, as root: installs the system
# packages, the Shakespeare corpus and the Penn Treebank (scripts/fetch-ptb.sh), builds CLTrain in
# release mode, lists the devices, and runs the main job: a small character-level LSTM language
# model trained on Shakespeare on the best device present (a GPU if there is one, else the CPU
# backend), a few minutes on 2 CPU cores, ending with its validation perplexity and a generated
# sample. The checkpoint goes to checkpoints/shakespeare-char-<time>/ (a new folder each run:
# nothing earlier is overwritten).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/require-swift.sh
bash scripts/ensure-deps.sh
bash scripts/fetch-shakespeare.sh
bash scripts/fetch-ptb.sh
swift build -c release
bin="$(swift build -c release --show-bin-path)"
"$bin/cltrain" devices
"$bin/cltrain" train --data shakespeare --level char --layers 2 --hidden 128 --bptt 64 --batch 32 \
  --epochs 2 --steps-per-epoch 500 --validation-steps 50 --optimizer adam --lr 0.003 --device auto \
  --checkpoint "checkpoints/shakespeare-char-$(date +%Y%m%d-%H%M%S)" --sample-length 400

#!/usr/bin/env bash
# Reproduces Zaremba, Sutskever & Vinyals (2014), "Recurrent Neural Network Regularization", on
# the Penn Treebank: fetches the data (scripts/fetch-ptb.sh), builds cltrain in release mode,
# trains with --preset zaremba-SIZE, then scores the validation and test splits with
# `cltrain eval --json` and prints them beside the paper's figures.
#
#   scripts/reproduce-zaremba.sh small|medium|large [cltrain train flags…]
#
# Extra flags go to `cltrain train` after the preset and override it, e.g. a short trial:
#   scripts/reproduce-zaremba.sh small --epochs 1 --steps-per-epoch 200 --validation-steps 20
# Everything lands in a new folder, $CLTRAIN_RUNS/zaremba-SIZE-<time> (default: checkpoints/): the
# checkpoint, metrics.jsonl, train.log, validation.json and test.json. DEVICE picks the device
# (default auto). Scored as the TensorFlow code scores: validation at the training batch (B
# streams, each carried through its part), test at batch 1 (one stream carried through the whole
# split; only its last partial window of --bptt tokens is not scored).
# Full runs take hours (small) to days (large) on a CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
size="${1:-}"
case "$size" in
  small) reported="valid 120.7, test 114.5" ;;
  medium) reported="valid 86.2, test 82.7" ;;
  large) reported="valid 82.2, test 78.4" ;;
  *) echo "usage: scripts/reproduce-zaremba.sh small|medium|large [cltrain train flags…]" >&2; exit 2 ;;
esac
shift
bash scripts/fetch-ptb.sh
swift build -c release --product cltrain
bin="$(swift build -c release --show-bin-path)/cltrain"
run="${CLTRAIN_RUNS:-checkpoints}/zaremba-$size-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$run"
echo "reproduce-zaremba.sh: training into $run"
"$bin" train --data ptb --preset "zaremba-$size" --device "${DEVICE:-auto}" --checkpoint "$run/checkpoint" \
  --metrics "$run/metrics.jsonl" --log-every 100 --sample-length 0 "$@" 2>&1 | tee "$run/train.log"
# As ptb_word_lm.py scores: validation at the training batch and BPTT, test as one stream (batch 1).
"$bin" eval --checkpoint "$run/checkpoint" --data ptb --split validation --device "${DEVICE:-auto}" --json "$run/validation.json"
"$bin" eval --checkpoint "$run/checkpoint" --data ptb --split test --batch 1 --device "${DEVICE:-auto}" --json "$run/test.json"
python3 - "$run" "$reported" <<'EOF'
import json, sys
run, reported = sys.argv[1], sys.argv[2]
scores = {split: json.load(open(f"{run}/{split}.json")) for split in ("validation", "test")}
print(f"perplexity: validation {scores['validation']['perplexity']:.1f}, test {scores['test']['perplexity']:.1f} "
      f"(paper: {reported}); {run}")
EOF

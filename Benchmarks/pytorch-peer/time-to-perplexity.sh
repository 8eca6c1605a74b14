#!/usr/bin/env bash
# Time to perplexity on the Penn Treebank: `cltrain train --preset zaremba-small` beside its
# PyTorch peer (zaremba_ptb.py: the same model, loss, schedule and clip), EPOCHS epochs each (default
# 2), one after the other on THREADS threads (default 2). Prints, per program and epoch, the
# training seconds so far, words/s and the validation perplexity. A figure means something only on
# a quiet machine. PyTorch goes into the virtual environment of venv.sh; never in CI.
#
#   Benchmarks/pytorch-peer/time-to-perplexity.sh [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs="${1:-2}"
case "$epochs" in ''|*[!0-9]*) echo "time-to-perplexity.sh: EPOCHS is a whole number of epochs" >&2; exit 2 ;; esac
threads="${THREADS:-2}"
source Benchmarks/pytorch-peer/venv.sh
bash scripts/fetch-ptb.sh >&2
swift build -c release --product cltrain >&2
bin="$(swift build -c release --show-bin-path)/cltrain"
export OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# cltrain: every step logged, so that the metrics' per-step tokens/s sum to the training time
# (validation excluded, as the peer excludes it); the validation perplexity after each epoch.
"$bin" train --data ptb --preset zaremba-small --epochs "$epochs" --device cpu --sample-length 0 \
  --log-every 1 --metrics "$work/metrics.jsonl" > "$work/cltrain.log" 2>&1 \
  || { cat "$work/cltrain.log" >&2; exit 1; }
python3 - "$work/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
tokens_per_step = 20 * 20   # zaremba-small: batch 20, BPTT 20
seconds = words = 0.0
for row in rows:
    if row.get("type") == "step":
        seconds += tokens_per_step / row["tokens_per_second"]
        words += tokens_per_step
    elif row.get("type") == "validation":
        print(json.dumps({"program": "cltrain", "epoch": row["epoch"], "training_seconds": seconds,
                          "words_per_second": words / seconds, "validation_perplexity": row["perplexity"]}))
PY
"$venv/bin/python" Benchmarks/pytorch-peer/zaremba_ptb.py --epochs "$epochs" --threads "$threads"

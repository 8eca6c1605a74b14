#!/usr/bin/env bash
# `cltrain train` beside PyTorch (lstm_lm.py) on the CPU at the same shapes, on random tokens:
# the two programs alternate, ROUNDS times per shape, each timing STEPS steps after WARMUP, on
# THREADS threads (torch.set_num_threads; OPENBLAS_NUM_THREADS for cltrain's OpenBLAS backend).
# Prints each program's median words/s and cltrain's share of PyTorch's.
#
#   Benchmarks/pytorch-peer/compare.sh [--shape 1|2|3|4|all] [--rounds R] [--steps S] [--warmup W]
#
# Shapes (V, E=H, L, B, T): 1: 85, 128, 2, 32, 64 (characters); 2: 10000, 512, 2, 20, 35;
# 3: the same at B 32; 4: 10000, 1000, 4, 16, 20. A figure means something only on a quiet
# machine. PyTorch (the CPU wheel) goes into a virtual environment of its own, $PEER_VENV
# (default .build/pytorch-peer-venv), made on first use with pip; never in CI.
set -euo pipefail
cd "$(dirname "$0")/../.."
shape=all rounds=5 steps=20 warmup=3 threads="${THREADS:-2}"
while [ $# -gt 0 ]; do
  case "$1" in
    --shape) shape="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
shapes=("85 128 2 32 64" "10000 512 2 20 35" "10000 512 2 32 35" "10000 1000 4 16 20")
case "$shape" in
  all) chosen=(0 1 2 3) ;;
  1|2|3|4) chosen=($((shape - 1))) ;;
  *) echo "compare.sh: --shape is 1, 2, 3, 4 or all" >&2; exit 2 ;;
esac

source Benchmarks/pytorch-peer/venv.sh
swift build -c release --product cltrain >&2
bin="$(swift build -c release --show-bin-path)/cltrain"
export OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for i in "${chosen[@]}"; do
  read -r V H L B T <<< "${shapes[$i]}"
  : > "$work/results.jsonl"
  for ((r = 1; r <= rounds; r++)); do
    "$venv/bin/python" Benchmarks/pytorch-peer/lstm_lm.py --vocab "$V" --embedding "$H" --hidden "$H" --layers "$L" \
      --batch "$B" --bptt "$T" --steps "$steps" --warmup "$warmup" --threads "$threads" >> "$work/results.jsonl"
    rm -f "$work/metrics.jsonl"
    "$bin" train --data synthetic --vocab "$V" --embedding "$H" --hidden "$H" --layers "$L" --batch "$B" --bptt "$T" \
      --epochs 1 --steps-per-epoch $((warmup + steps)) --validation-steps 1 --optimizer sgd --clip 5 --device cpu \
      --sample-length 0 --log-every 1 --metrics "$work/metrics.jsonl" > "$work/cltrain.log" 2>&1 \
      || { cat "$work/cltrain.log" >&2; exit 1; }
    # cltrain logs each step's tokens/s; over the timed steps, words/s is their harmonic mean.
    python3 - "$work/metrics.jsonl" "$warmup" "$B" "$T" >> "$work/results.jsonl" <<'PY'
import json, sys
path, warmup, batch, bptt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
steps = [r for r in map(json.loads, open(path)) if r.get("type") == "step"][warmup:]
seconds = sum(batch * bptt / r["tokens_per_second"] for r in steps)
print(json.dumps({"program": "cltrain", "steps": len(steps), "seconds": seconds,
                  "words_per_second": len(steps) * batch * bptt / seconds}))
PY
  done
  python3 - "$work/results.jsonl" "${shapes[$i]}" "$rounds" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
median = {p: statistics.median(r["words_per_second"] for r in rows if r["program"] == p) for p in ("cltrain", "pytorch")}
V, H, L, B, T = sys.argv[2].split()
print(f"V {V}, E=H {H}, L {L}, B {B}, T {T}: cltrain {median['cltrain']:.0f} words/s, pytorch {median['pytorch']:.0f} words/s, "
      f"cltrain/pytorch {median['cltrain'] / median['pytorch']:.2f} (medians of {sys.argv[3]} alternating runs)")
PY
done

#!/usr/bin/env bash
# Every measurement the H100 sessions owe, in phases that each fit the device tool's 10-minute
# limit per command. On this machine first: `../shared/gpu/stage`. Then on the device, from the
# project root, with carry [".gpu"]:
#
#   bash scripts/gpu-session.sh check      # devices, `cltrain verify`, the Swift Testing suite  (~4 min)
#   bash scripts/gpu-session.sh tune       # the gemm tuner over the issue's shapes                (~7 min)
#   bash scripts/gpu-session.sh kernels    # cltrain-bench beside PyTorch's figures (torch_anchor) (~4 min)
#   bash scripts/gpu-session.sh training   # words/s at the 2014 shape: one queue, then four        (~4 min)
#
# Results go to $OUT (the device tool's folder that comes back), else ./gpu-results. A fresh device
# machine forgets the tuner's result: `tune` writes it to $OUT/gemm-tuning.json; copy that file to
# .gpu/gemm-tuning.json here and later phases install it into their cache folder before running.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out"
run() { bash .gpu/on-device.sh "$@"; }

# One cache folder for kernel binaries, calibrations and the tuning file, seeded from .gpu/.
export CLTRAIN_CACHE_DIR=${CLTRAIN_CACHE_DIR:-/tmp/cltrain-cache}
if [ -f .gpu/gemm-tuning.json ] && [ ! -f "$CLTRAIN_CACHE_DIR/tuning/gemm-tuning.json" ]; then
  mkdir -p "$CLTRAIN_CACHE_DIR/tuning"
  cp .gpu/gemm-tuning.json "$CLTRAIN_CACHE_DIR/tuning/gemm-tuning.json"
fi

# The H100 is the first OpenCL device when NVIDIA's platform is listed first; find it by name so
# that PoCL's CPU device, if present, is never measured by mistake.
gpu_index() {
  run cltrain devices | awk '/NVIDIA|H100/ && $1 ~ /^[0-9]+$/ { print $1; exit }'
}

phase=${1:-}
case "$phase" in
  check)
    run cltrain devices | tee "$out/devices.txt"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$out/nvidia-smi.csv" || true
    run cltrain verify --json "$out/verify.json" | tee "$out/verify.txt"
    run tests --testing-library swift-testing 2>&1 | tail -n 200 > "$out/tests.txt"
    tail -n 3 "$out/tests.txt"
    ;;
  tune)
    gpu=$(gpu_index)
    # 200 candidates fit the 10-minute limit if each takes under 3 s; lower --max-candidates if not.
    run cltrain-bench tune --device "$gpu" --max-candidates "${CANDIDATES:-200}" --output "$out/gemm-tuning.json" \
      | tee "$out/tune.txt"
    mkdir -p "$CLTRAIN_CACHE_DIR/tuning" && cp "$out/gemm-tuning.json" "$CLTRAIN_CACHE_DIR/tuning/"
    ;;
  kernels)
    gpu=$(gpu_index)
    run cltrain-bench --device "$gpu" --json "$out/bench.json" | tee "$out/bench.txt"
    python3 .gpu/torch_anchor.py --json "$out/peers.json" | tee "$out/peers.txt"
    ;;
  training)
    gpu=$(gpu_index)
    shape=(--data synthetic --vocab 80000 --layers 4 --hidden 1000 --batch 128 --bptt 50 --epochs 1
           --steps-per-epoch 20 --validation-steps 1 --sample-length 0)
    run cltrain train "${shape[@]}" --device "$gpu" --metrics "$out/train-one-queue.jsonl" \
      2>&1 | tee "$out/train-one-queue.txt"
    four="$gpu,$gpu,$gpu,$gpu"
    run cltrain train "${shape[@]}" --layer-devices "$four" --softmax-devices "$four" --pipeline \
      --metrics "$out/train-four-queues.jsonl" 2>&1 | tee "$out/train-four-queues.txt"
    ;;
  *)
    echo "usage: $0 check|tune|kernels|training   (see the comment at the top)" >&2
    exit 2
    ;;
esac

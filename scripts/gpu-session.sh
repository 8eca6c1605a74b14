#!/usr/bin/env bash
# Everything the GPU machine owes, in ONE command that fits the H200's short window:
#
#   bash scripts/gpu-session.sh --prepare    # here: ../shared/gpu/stage when .gpu/ is missing or
#                                        # (--stage) always, then packs it to fit the carry
#   bash scripts/gpu-session.sh          # on the device, from the project root, with carry [".gpu"]
#   bash scripts/gpu-session.sh --rehearse   # here: the same sequence on a PoCL device, shapes scaled down
#
# The phases run in priority order, each under its own time limit, and the whole under --total
# seconds (default 400, so that a second try fits the device's 10-minute call and 15 minutes of
# device time):
#   1 check     cltrain devices, nvidia-smi, the full `cltrain verify --json` (correctness first)
#   2 tune      cltrain-bench tune --time-budget: the Hopper seeds, then the sample; the best
#               verified set goes into the cache folder, so every later phase uses it
#   3 kernels   peak FP32 and bandwidth (roofline.cl, clpeak-style) and cltrain-bench --suite
#               gpu-session (CLBlast beside each gemm where it loads), then PyTorch/cuBLAS/cuDNN
#               through .gpu/torch_anchor.py on the same GPU
#   4 training  words/s at the 2014 shape (4×1000, V 80 000, B 128, T 50, SGD + clip): one queue,
#               then four queues with the layers pipelined and the softmax split four ways, and
#               `cltrain plan`'s prediction for that layout
#   5 translate words/s of the 2014 encoder–decoder (4 + 4 layers × 1000, V 160 000 → 80 000, B 128,
#               sentences of 25 and 29 words: S 25, T 30 with <eos>, the plan's WMT'14 means) on synthetic pairs:
#               one queue, then layer k of both stacks on queue k with the softmax over 4 more,
#               pipelined; and `cltrain plan --task translate`'s prediction for that layout
#   6 tests     the Swift Testing suite with the GPU as an OpenCL device, in what time remains
#
# Results: $OUT (the device tool's folder that comes back; else gpu-results/<UTC time>), at most 8
# files as the tool allows: session.log (everything printed, as it happens), report.md (the
# BENCHMARKS.md H200 table, rewritten after every phase by scripts/gpu-report.py), and one
# N-phase.tar.gz per phase, packed as soon as the phase ends (a phase that runs over loses only
# itself). `python3 scripts/gpu-report.py DIR` rebuilds the report from a returned folder.
#
# The GPU is found by name (NVIDIA), so PoCL's CPU device is never measured by mistake; with
# --rehearse it is the first PoCL device instead, and every figure is labelled as not a GPU figure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD

mode=gpu total=400 restage=0 prepare_only=0 stage_limit_mib=${GPU_STAGE_LIMIT_MIB:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --rehearse) mode=rehearsal ;;
    --stage) restage=1 ;;
    --prepare) prepare_only=1 ;;
    --total) total=${2:-}; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "gpu-session.sh: unknown argument '$1' (--prepare, --rehearse, --stage, --total SECONDS, --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$total" in ''|*[!0-9]*) echo "gpu-session.sh: --total needs a whole number of seconds, not '$total'" >&2; exit 2 ;; esac
[ "$mode" = rehearsal ] && [ "$total" = 400 ] && total=290   # the rehearsal's goal: under 5 minutes on 2 cores

# --- Staging: .gpu/ must exist and fit the device tool's 64 MiB with the working tree ---------------
if [ "$restage" = 1 ] || [ ! -x .gpu/bin/cltrain ]; then
  if [ "$mode" = gpu ] && ! command -v swift >/dev/null; then
    echo "gpu-session.sh: .gpu/ is missing or incomplete and there is no Swift toolchain here: run" \
         "bash scripts/gpu-session.sh --prepare" \
         "on the development machine and carry .gpu" >&2
    exit 3
  fi
  stage=../shared/gpu/stage
  [ -x "$stage" ] || { echo "gpu-session.sh: .gpu/ is missing and $stage does not exist beside the clone" >&2; exit 3; }
  # stage appends /.gpu/ to .git/info/exclude, and a clone made without git's templates (as CI's
  # is) has no .git/info; in a worktree .git is a file and stage cannot run at all.
  if [ -f .git ]; then
    echo "gpu-session.sh: this is a git worktree (.git is a file); $stage only runs in the main checkout" >&2
    exit 3
  fi
  [ -d .git ] && mkdir -p .git/info
  echo "gpu-session.sh: staging .gpu/ with $stage"
  stage_start=$(date +%s)
  "$stage" || { echo "gpu-session.sh: $stage failed" >&2; exit 3; }
  echo "gpu-session.sh: staged in $(( $(date +%s) - stage_start )) s"
elif [ "$mode" = rehearsal ]; then
  newer=$(find Sources Benchmarks Kernels Package.swift -newer .gpu/bin/cltrain -type f 2>/dev/null | head -n 3)
  [ -n "$newer" ] && echo "gpu-session.sh: warning: .gpu/ is older than the sources ($(echo $newer)); --stage rebuilds it"
fi
# The system libraries the staged binaries load from outside the Swift runtime (OpenBLAS and its
# Fortran runtime, the OpenCL ICD loader, Open MPI and what it pulls in): the GPU machine's image has
# NVIDIA's driver, CUDA and PyTorch, and may lack any of them. Packed here, where they exist, under
# their sonames; supplied there only where that machine lacks them (see `supply_system_libraries`).
if command -v ldd >/dev/null && { [ ! -f .gpu/syslibs.tar.xz ] || [ .gpu/bin/cltrain -nt .gpu/syslibs.tar.xz ]; }; then
  syslibs=$(mktemp -d)
  for f in .gpu/bin/*; do ldd "$f" 2>/dev/null; done | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
    while read -r soname path; do
      case "$path" in /opt/swift/*) continue ;; esac
      case "$soname" in libc.so.*|libm.so.*|libstdc++.so.*|libgcc_s.so.*|ld-linux*|libpthread.so.*|libdl.so.*|librt.so.*|libutil.so.*) continue ;; esac
      # ICU's data alone is 30 MB, more than the carry can spare; only FoundationXML would pull it
      # in (libxml2), and none of the staged binaries links that (PlotTests parses with Python).
      case "$soname" in libicu*|libxml2.so.*) echo "gpu-session.sh: warning: not packing $soname (too large); the machine must have it" >&2; continue ;; esac
      cp -L "$path" "$syslibs/$soname"
    done
  tar -C "$syslibs" -cJf .gpu/syslibs.tar.xz . && echo "gpu-session.sh: packed the system libraries: $(ls "$syslibs" | paste -sd' ')"
  rm -rf "$syslibs"
fi
# The test bundle is the largest binary (25 MB and growing); it travels xz-compressed, about a
# quarter of that, and each session unpacks it into its own folder, never back into .gpu/bin, so
# that .gpu/ stays small enough to carry after a rehearsal too. (A bare ../shared/gpu/stage leaves
# it uncompressed: --prepare packs it.)
if [ -f .gpu/bin/tests ]; then
  tar -C .gpu/bin -cJf .gpu/tests.tar.xz tests && rm .gpu/bin/tests \
    && echo "gpu-session.sh: packed the test bundle: .gpu/tests.tar.xz, $(( ($(du -k .gpu/tests.tar.xz | cut -f1) + 512) / 1024 )) MiB"
fi
# The device tool carries 64 MiB in all: .gpu/ gets what the tracked tree leaves, less 2 MiB of room.
if [ -z "$stage_limit_mib" ]; then
  tree_kib=$(git ls-files -z 2>/dev/null | xargs -0 du -ck 2>/dev/null | tail -n 1 | cut -f1)
  stage_limit_mib=$(( 64 - (${tree_kib:-4096} + 1023) / 1024 - 2 ))
fi
stage_kib=$(du -sk .gpu | cut -f1)
echo "gpu-session.sh: .gpu/ is $(( (stage_kib + 512) / 1024 )) MiB (limit $stage_limit_mib MiB; the device tool carries 64 MiB with the working tree)"
if [ "$stage_kib" -gt $(( stage_limit_mib * 1024 )) ]; then
  echo "gpu-session.sh: refusing: .gpu/ is over $stage_limit_mib MiB; it would not travel with the working tree." >&2
  du -sk .gpu/* .gpu/bin/* 2>/dev/null | sort -rn | head -n 8 >&2
  exit 3
fi
if [ "$prepare_only" = 1 ]; then
  echo "gpu-session.sh: .gpu/ is ready; on the device: bash scripts/gpu-session.sh, with carry [\".gpu\"]"
  exit 0
fi

# --- Where results go ---------------------------------------------------------------------------------
out=${OUT:-gpu-results/$(date -u +%Y%m%dT%H%M%SZ)$([ "$mode" = rehearsal ] && echo -rehearsal)}
mkdir -p "$out" || { echo "gpu-session.sh: cannot create '$out'" >&2; exit 3; }
if [ -e "$out/session.log" ]; then
  echo "gpu-session.sh: refusing: '$out' already holds a session's results (session.log); empty it or set OUT elsewhere" >&2
  exit 3
fi
out=$(cd "$out" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cltrain-gpu-session.XXXXXX")
trap 'rm -rf "$work"' EXIT
if [ -f .gpu/tests.tar.xz ]; then
  mkdir -p "$work/bin" && tar -C "$work/bin" -xJf .gpu/tests.tar.xz \
    || { echo "gpu-session.sh: cannot unpack .gpu/tests.tar.xz" >&2; exit 3; }
  export PATH="$work/bin:$PATH"   # behind .gpu/bin, which on-device.sh and the rehearsal put first
fi

# Puts on LD_LIBRARY_PATH the packed system libraries this machine lacks, transitively (OpenBLAS
# found, say, but not its libgfortran), and only those: a library the machine has stays its own. The
# rehearsal supplies every packed one instead, so CI runs the binaries on the packed copies.
supply_system_libraries() {
  [ -f .gpu/syslibs.tar.xz ] || { echo "gpu-session.sh: no .gpu/syslibs.tar.xz: the binaries rely on this machine's libraries"; return 0; }
  local packed=$work/syslibs-packed supplied=$work/syslibs missing name round
  mkdir -p "$packed" "$supplied" && tar -C "$packed" -xJf .gpu/syslibs.tar.xz
  if [ "$mode" = rehearsal ]; then
    cp "$packed"/* "$supplied"/
  else
    for round in 1 2 3 4; do
      missing=$(for f in .gpu/bin/* "$work"/bin/*; do [ -f "$f" ] && LD_LIBRARY_PATH="$supplied" ldd "$f" 2>/dev/null; done |
                awk '/not found/ {print $1}' | sort -u)
      local added=0
      for name in $missing; do
        [ -f "$packed/$name" ] && [ ! -f "$supplied/$name" ] && cp "$packed/$name" "$supplied/" && added=1
      done
      [ "$added" = 1 ] || break
    done
  fi
  if [ -n "$(ls -A "$supplied")" ]; then
    export LD_LIBRARY_PATH="$supplied${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "gpu-session.sh: supplied from .gpu/syslibs.tar.xz: $(ls "$supplied" | paste -sd' ')"
  else
    echo "gpu-session.sh: this machine has every system library the binaries load"
  fi
}

main() {
  local start deadline gpu pattern
  start=$(date +%s)
  deadline=$(( start + total ))
  echo "gpu-session.sh: $mode session, $(date -u +%FT%TZ), total limit $total s, results in $out"
  local commit
  if commit=$(git rev-parse --short HEAD 2>/dev/null); then
    git diff --quiet 2>/dev/null || commit="$commit (with local changes)"
  else commit="unknown (no git here)"; fi
  echo "gpu-session.sh: commit $commit"

  # How the staged binaries run. On the device: on-device.sh registers NVIDIA's OpenCL driver and
  # unpacks the Swift runtime. In rehearsal the same runtime is unpacked here, but the ICD file is
  # not written: this machine's /etc must not gain an NVIDIA entry.
  supply_system_libraries
  if [ "$mode" = gpu ]; then
    runner=(bash .gpu/on-device.sh)
    pattern=NVIDIA
    export CLTRAIN_CACHE_DIR=${CLTRAIN_CACHE_DIR:-/tmp/cltrain-cache}
  else
    local libs=""
    if [ -f .gpu/swiftrt.tar.xz ]; then
      mkdir -p "$work/swiftrt" && tar -C "$work/swiftrt" -xJf .gpu/swiftrt.tar.xz
      libs=$(find "$work/swiftrt" -name '*.so' -printf '%h\n' | sort -u | paste -sd:)
    fi
    runner=(env "PATH=$root/.gpu/bin:$PATH" "LD_LIBRARY_PATH=$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
    pattern="Portable Computing Language"
    # A cache of the rehearsal's own: the user's tuning file and kernel binaries stay untouched.
    export CLTRAIN_CACHE_DIR=$work/cache
  fi
  if [ -f .gpu/gemm-tuning.json ] && [ ! -f "$CLTRAIN_CACHE_DIR/tuning/gemm-tuning.json" ]; then
    mkdir -p "$CLTRAIN_CACHE_DIR/tuning" && cp .gpu/gemm-tuning.json "$CLTRAIN_CACHE_DIR/tuning/"
    echo "gpu-session.sh: seeded the tuning cache from .gpu/gemm-tuning.json"
  fi
  export PYTHONUNBUFFERED=1

  # --- Phase machinery: each phase gets min(its cap, what the total leaves); each command in it
  # runs under `t`, which stops it at the phase's end. Results are packed when the phase ends.
  local phase_name phase_dir phase_start phase_end phase_rc phase_note number=0
  begin() {   # begin NAME CAP_SECONDS
    number=$(( number + 1 )); phase_name=$1
    phase_dir=$work/$number-$1; mkdir -p "$phase_dir"
    phase_start=$(date +%s); phase_rc=0; phase_note=""
    local left=$(( deadline - phase_start ))
    phase_end=$(( phase_start + ($2 < left ? $2 : left) ))
    echo; echo "=== phase $number: $1 (limit $(( phase_end - phase_start )) s; $left s left of $total) ==="
  }
  t() {       # t COMMAND...: runs it until the phase's end; remembers the worst status
    local left=$(( phase_end - $(date +%s) )) rc
    if [ "$left" -lt 3 ]; then echo "gpu-session.sh: no time left in phase $phase_name for: $*"; phase_rc=124; return 124; fi
    timeout -k 5 "$left" "$@"; rc=$?
    [ "$rc" = 137 ] && rc=124
    if [ "$rc" != 0 ]; then
      echo "gpu-session.sh: exit status $rc$([ "$rc" = 124 ] && echo ' (phase time limit)') from: $*"
      [ "$phase_rc" = 0 ] || [ "$rc" = 124 ] && phase_rc=$rc
    fi
    return "$rc"
  }
  finish() {  # packs the phase, records its status, rewrites the report
    local status=ok seconds=$(( $(date +%s) - phase_start ))
    [ "$phase_rc" = 124 ] && status="timed out"
    [ "$phase_rc" != 0 ] && [ "$phase_rc" != 124 ] && status="failed ($phase_rc)"
    [ -n "${1:-}" ] && status=$1
    python3 - "$phase_dir/status.json" "$phase_name" "$number" "$mode" "$status" "$seconds" \
      "$(( phase_end - phase_start ))" "$phase_note" <<'PY'
import json, sys
path, name, number, mode, status, seconds, limit, note = sys.argv[1:9]
json.dump({"phase": name, "number": int(number), "mode": mode, "status": status, "seconds": int(seconds),
           "limit_seconds": int(limit), "note": note}, open(path, "w"), indent=1)
PY
    tar -C "$work" -czf "$out/.$number-$phase_name.tar.gz" "$number-$phase_name" \
      && mv "$out/.$number-$phase_name.tar.gz" "$out/$number-$phase_name.tar.gz"
    echo "=== phase $number: $phase_name: $status in $seconds s ==="
    case "$status" in ok|skipped*) ;; "timed out") [ "$phase_name" = tests ] && [ "$mode" = gpu ] || failures+=("$phase_name: $status") ;;
      *) failures+=("$phase_name: $status") ;; esac
    report
  }
  report() {
    if python3 scripts/gpu-report.py "$out" > "$work/report.md"; then cp "$work/report.md" "$out/report.md"
    else echo "gpu-session.sh: the report step failed (see above); the phases' files are in $out"; failures+=("report"); fi
  }
  failures=()

  # --- 1: devices and correctness ------------------------------------------------------------------
  begin check 75
  t "${runner[@]}" cltrain devices > "$phase_dir/devices.txt" 2>&1; cat "$phase_dir/devices.txt"
  if command -v nvidia-smi >/dev/null; then
    t nvidia-smi > "$phase_dir/nvidia-smi.txt" 2>&1
    t nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,clocks.mem,power.limit \
      --format=csv > "$phase_dir/nvidia-smi.csv" 2>&1; cat "$phase_dir/nvidia-smi.csv"
  else
    echo "nvidia-smi: not on this machine$([ "$mode" = rehearsal ] && echo ' (rehearsal)')" | tee "$phase_dir/nvidia-smi.txt"
  fi
  gpu=$(awk -v pattern="$pattern" '$1 ~ /^[0-9]+$/ && index($0, pattern) { print $1; exit }' "$phase_dir/devices.txt")
  if [ -z "$gpu" ]; then
    phase_note="no OpenCL device of '$pattern' in \`cltrain devices\`: the OpenCL phases are skipped"
    echo "gpu-session.sh: $phase_note"
    phase_rc=1
  else
    echo "gpu-session.sh: measuring OpenCL device $gpu: $(awk -v i="$gpu" '$1 == i' "$phase_dir/devices.txt")"
    echo "$gpu" > "$phase_dir/device-index.txt"
    export CLTRAIN_DEVICES=$gpu
    t "${runner[@]}" cltrain verify --device "$gpu" --json "$phase_dir/verify.json" > "$phase_dir/verify.txt" 2>&1
    tail -n 5 "$phase_dir/verify.txt"
  fi
  finish

  # --- 2: the gemm tuner, under a time budget ---------------------------------------------------------
  begin tune 130
  if [ -z "$gpu" ]; then finish "skipped (no device)"; else
    # The shapes training runs most (the LSTM gates, the decoder forward and its weight gradient)
    # and 4096³; not 8192³, whose runs would spend the budget on few candidates.
    local tune_args=(--time-budget 85 --repeats 5 --warmup 1 --shape 128x4000x2000 --shape 128x80000x1000
                     --shape 128x80000x1000:NT --shape 80000x1000x128:TN --shape 4096x4096x4096)
    [ "$mode" = rehearsal ] && tune_args=(--time-budget 20 --shape 128x512x256 --shape 256x256x256 --repeats 3 --warmup 1)
    # Written to the cache folder after each new best, so the later phases use it even if this stops early.
    t "${runner[@]}" cltrain-bench tune --device "$gpu" "${tune_args[@]}" > "$phase_dir/tune.txt" 2> "$phase_dir/tune.log"
    grep -v '^device .* \[' "$phase_dir/tune.txt" | head -n 40
    cp "$CLTRAIN_CACHE_DIR/tuning/gemm-tuning.json" "$phase_dir/" 2>/dev/null \
      || echo "gpu-session.sh: no tuning file was written; the later phases use the built-in parameters"
    finish
  fi

  # --- 3: kernels beside the peers, and the device's measured peak -------------------------------------
  begin kernels 170
  if [ -n "$gpu" ]; then
    local bench_args=()
    [ "$mode" = rehearsal ] && bench_args=(--quick --repeats 3 --warmup 1)
    # Three runs, each writing its JSON when done, so a slow case costs only its group; each also
    # measures the device's peak (a second or two on a GPU), which the report takes from the first.
    # On the GPU, torch_anchor.py's minute is kept free: CLTrain's runs stop 80 s before the phase ends.
    local group phase_end_all=$phase_end
    [ "$mode" = gpu ] && phase_end=$(( phase_end - 80 ))
    for group in gemm softmax lstm; do
      t "${runner[@]}" cltrain-bench --device "$gpu" --suite gpu-session --filter "$group" "${bench_args[@]}" \
        --json "$phase_dir/bench-$group.json" > "$phase_dir/bench-$group.txt" 2> "$phase_dir/bench-$group.log"
      cat "$phase_dir/bench-$group.txt"
    done
    phase_end=$phase_end_all
  fi
  if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 3)' 2>/dev/null; then
    t python3 .gpu/torch_anchor.py --json "$phase_dir/peers.json" > "$phase_dir/peers.txt" 2>&1
    tail -n 40 "$phase_dir/peers.txt"
  else
    local why="no torch"
    python3 -c 'import torch' 2>/dev/null && why="torch sees no CUDA GPU"
    echo "{\"not_measured\": \"$why\"}" > "$phase_dir/peers.json"
    echo "gpu-session.sh: peers not measured ($why)"
    [ "$mode" = gpu ] && phase_note="peers not measured: $why"
  fi
  finish

  # --- 4: training words/s ------------------------------------------------------------------------
  begin training 100
  if [ -z "$gpu" ]; then finish "skipped (no device)"; else
    # Steps 1-2 are warm-up (kernel builds, first allocations); the report takes the median of the rest.
    local shape steps warm=2 g=$gpu
    if [ "$mode" = gpu ]; then
      shape=(--vocab 80000 --layers 4 --hidden 1000 --batch 128 --bptt 50); steps=7
    else
      shape=(--vocab 2000 --layers 4 --hidden 64 --batch 16 --bptt 10); steps=6
    fi
    local common=(--data synthetic --epochs 1 --steps-per-epoch "$steps" --validation-steps 1 --sample-length 0
                  --log-every 1 --optimizer sgd --lr 0.7 --clip 5 "${shape[@]}")
    printf '%s\nwarmup_steps %s\n' "${shape[*]}" "$warm" > "$phase_dir/shape.txt"
    t "${runner[@]}" cltrain train "${common[@]}" --device "$g" --metrics "$phase_dir/train-one-queue.jsonl" \
      > "$phase_dir/train-one-queue.txt" 2>&1; tail -n 3 "$phase_dir/train-one-queue.txt"
    t "${runner[@]}" cltrain train "${common[@]}" --layer-devices "$g,$g,$g,$g" --softmax-devices "$g,$g,$g,$g" --pipeline \
      --metrics "$phase_dir/train-four-queues.jsonl" > "$phase_dir/train-four-queues.txt" 2>&1
    tail -n 8 "$phase_dir/train-four-queues.txt"
    # The simulator's predictions (it calibrates the device once, cached): the same layout, which it
    # sees as one device doing everything; and four simulated copies of this device, the ceiling
    # if the four queues worked concurrently without sharing the GPU (a fast link: the hand-offs
    # between queues of one GPU stay in its memory).
    t "${runner[@]}" cltrain plan "${shape[@]}" --device "$g" --layer-devices "$g,$g,$g,$g" \
      --softmax-devices "$g,$g,$g,$g" > "$phase_dir/plan.txt" 2>&1
    sed -n '/^prediction/,/^$/p' "$phase_dir/plan.txt"
    t "${runner[@]}" cltrain plan "${shape[@]}" --device "$g" --simulate-devices 4 --layer-devices 0,1,2,3 \
      --softmax-devices 0,1,2,3 --link nvlink4 > "$phase_dir/plan-four-copies.txt" 2>&1
    sed -n '/^prediction/,/^$/p' "$phase_dir/plan-four-copies.txt"
    finish
  fi

  # --- 5: the 2014 translation model's words/s ------------------------------------------------------
  begin translate 80
  if [ -z "$gpu" ]; then finish "skipped (no device)"; else
    local g=$gpu pairs sv tv size steps
    if [ "$mode" = gpu ]; then
      pairs=6800; sv=160000; tv=80000; size=(--layers 4 --hidden 1000 --embedding 1000 --batch 128); steps=7
    else
      pairs=400; sv=2000; tv=1000; size=(--layers 4 --hidden 64 --embedding 64 --batch 16); steps=6
    fi
    # Every vocabulary word appears: the first tokens walk through all of them, the rest are random.
    python3 - "$phase_dir" "$pairs" "$sv" "$tv" <<'PAIRS'
import random, sys
folder, pairs, sv, tv = sys.argv[1], *map(int, sys.argv[2:])
r = random.Random(2014)
def sentences(count, length, vocabulary, prefix):
    walk = iter(range(vocabulary))
    word = lambda: next(walk, None)
    return [" ".join(f"{prefix}{w if (w := word()) is not None else r.randrange(vocabulary)}" for _ in range(length))
            for _ in range(count)]
for split, count in (("train", pairs), ("valid", 128), ("test", 128)):
    with open(f"{folder}/{split}.src", "w") as f: f.write("\n".join(sentences(count, 25, sv, "s")) + "\n")
    with open(f"{folder}/{split}.tgt", "w") as f: f.write("\n".join(sentences(count, 29, tv, "t")) + "\n")
PAIRS
    local batch=${size[-1]}
    local files=(--source "$phase_dir/train.src" --target "$phase_dir/train.tgt"
                 --validation-source "$phase_dir/valid.src" --validation-target "$phase_dir/valid.tgt"
                 --test-source "$phase_dir/test.src" --test-target "$phase_dir/test.tgt")
    # A decimal epoch of `steps` batches, the first two of them warm-up.
    local epochs
    epochs=$(python3 -c "print(round($steps * $batch / ($pairs - 0.5) + 1e-6, 6))")
    local common=(--task translate "${files[@]}" --source-vocab "$sv" --target-vocab "$tv" "${size[@]}"
                  --epochs "$epochs" --log-every 1 --optimizer sgd --lr 0.7 --clip 5)
    printf '%s\nwarmup_steps 2\n' "--source-vocab $sv --target-vocab $tv ${size[*]} (S 25, T 30)" > "$phase_dir/shape.txt"
    t "${runner[@]}" cltrain train "${common[@]}" --device "$g" --metrics "$phase_dir/translate-one-queue.jsonl" \
      > "$phase_dir/translate-one-queue.txt" 2>&1; tail -n 3 "$phase_dir/translate-one-queue.txt"
    t "${runner[@]}" cltrain train "${common[@]}" --layer-devices "$g,$g,$g,$g" --softmax-devices "$g,$g,$g,$g" --pipeline \
      --metrics "$phase_dir/translate-pipelined.jsonl" > "$phase_dir/translate-pipelined.txt" 2>&1
    tail -n 8 "$phase_dir/translate-pipelined.txt"
    rm -f "$phase_dir"/*.src "$phase_dir"/*.tgt
    t "${runner[@]}" cltrain plan --task translate --source-vocab "$sv" --target-vocab "$tv" --source-steps 25 --target-steps 30 \
      "${size[@]}" --device "$g" \
      --layer-devices "$g,$g,$g,$g" --softmax-devices "$g,$g,$g,$g" > "$phase_dir/plan.txt" 2>&1
    sed -n '/^prediction/,/^$/p' "$phase_dir/plan.txt"
    finish
  fi

  # --- 6: the Swift Testing suite, in what time remains ------------------------------------------
  begin tests 600
  if [ $(( phase_end - phase_start )) -lt 20 ]; then finish "skipped (under 20 s left)"
  elif [ ! -x .gpu/bin/tests ] && [ ! -x "$work/bin/tests" ]; then finish "skipped (no test bundle: .gpu/tests.tar.xz)"
  else
    local test_args=(--testing-library swift-testing)
    # The rehearsal runs the suites of this session's own code: the whole suite takes ~4 minutes on
    # 2 cores, CI's `scripts/test.sh` runs it anyway, and the rehearsal proves the mechanism.
    [ "$mode" = rehearsal ] && test_args+=(--filter 'KernelParametersTableTests|GemmTunerTests')
    t "${runner[@]}" tests "${test_args[@]}" > "$phase_dir/tests.txt" 2>&1
    grep -E '✘|Test run with|tests? .*(passed|failed)' "$phase_dir/tests.txt" | tail -n 15
    finish
  fi

  # The report's peer columns and goals, which a rehearsal without torch never reaches, on made-up figures.
  if [ "$mode" = rehearsal ]; then
    python3 scripts/gpu-report.py --self-test || failures+=("gpu-report.py --self-test")
  fi

  local files
  files=$(find "$out" -type f | wc -l)
  echo
  echo "gpu-session.sh: $mode session done in $(( $(date +%s) - start )) s (limit $total s); $files files in $out:"
  ls -l "$out"
  if [ "$files" -gt 8 ]; then echo "gpu-session.sh: more than the 8 files the device tool brings back"; failures+=("too many files"); fi
  if [ ${#failures[@]} -gt 0 ]; then
    echo "gpu-session.sh: FAILED: ${failures[*]} (report.md says more)"
    return 1
  fi
}

main 2>&1 | tee -a "$out/session.log"
exit "${PIPESTATUS[0]}"

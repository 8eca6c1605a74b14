#!/usr/bin/env bash
# OpenBLAS against BLIS on the sgemm calls of a `cltrain train` step at the issue-13 shapes
# (gemm_shapes.py), alternating the two libraries ROUNDS times, on THREADS threads
# (OPENBLAS_NUM_THREADS, BLIS_NUM_THREADS). Prints, per shape, each library's median gemm time per
# training step and BLIS's speed relative to OpenBLAS.
#
#   Benchmarks/blas-compare/compare.sh [--shape 1|2|3|4] [--rounds R]
#
# Needs Debian's libopenblas0-pthread (CLTrain's default) and libblis4-pthread
# (`apt-get install libblis4-pthread`). A figure means something only on a quiet machine.
# To train with BLIS instead of OpenBLAS, preload it: its cblas_sgemm then takes OpenBLAS's place,
#   LD_PRELOAD=/usr/lib/x86_64-linux-gnu/blis-pthread/libblis.so.4 BLIS_NUM_THREADS=2 cltrain train …
set -euo pipefail
cd "$(dirname "$0")"
shape_args=() rounds=3 threads="${THREADS:-2}"
while [ $# -gt 0 ]; do
  case "$1" in
    --shape) shape_args+=(--shape "$2"); shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
lib=/usr/lib/x86_64-linux-gnu
openblas="$lib/libopenblas.so.0" blis="$lib/blis-pthread/libblis.so.4"
for f in "$openblas" "$blis"; do
  [ -e "$f" ] || { echo "compare.sh: $f is missing (apt-get install libopenblas0-pthread libblis4-pthread)" >&2; exit 1; }
done
export OPENBLAS_NUM_THREADS="$threads" BLIS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for ((r = 1; r <= rounds; r++)); do
  python3 gemm_shapes.py --library "$openblas" --name openblas "${shape_args[@]}" >> "$work/results.jsonl"
  python3 gemm_shapes.py --library "$blis" --name blis "${shape_args[@]}" >> "$work/results.jsonl"
done
python3 - "$work/results.jsonl" "$rounds" "$threads" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
for shape in sorted({r["shape"] for r in rows}):
    of = lambda lib: [r for r in rows if r["shape"] == shape and r["library"] == lib]
    o, b = of("openblas"), of("blis")
    mo = statistics.median(r["gemm_ms_per_step"] for r in o)
    mb = statistics.median(r["gemm_ms_per_step"] for r in b)
    s = o[0]
    print(f"shape {shape} (V {s['V']}, E=H {s['H']}, L {s['L']}, B {s['B']}, T {s['T']}): gemm per step "
          f"openblas {mo:.1f} ms, blis {mb:.1f} ms, blis/openblas speed {mo / mb:.2f} "
          f"(medians of {sys.argv[2]} alternating rounds, {sys.argv[3]} threads)")
    for i, p in enumerate(o[0]["products"]):
        po = statistics.median(r["products"][i]["ms"] for r in o)
        pb = statistics.median(r["products"][i]["ms"] for r in b)
        print(f"  {p['product']:<28} {p['m']:>6}×{p['n']:>6}×{p['k']:>6} ×{p['calls']:<4} openblas {po:8.3f} ms  blis {pb:8.3f} ms")
PY

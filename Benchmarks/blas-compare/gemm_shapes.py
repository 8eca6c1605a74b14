#!/usr/bin/env python3
"""The sgemm calls of one `cltrain train` step at the issue-13 shapes, timed through one BLAS library.

For each shape (V, E=H, L, B, T) it times every distinct cblas_sgemm a step makes (row-major, as
CLTrain calls it: the LSTM's input and recurrent products forward, its three backward products,
the decoder's forward and two backward products) and prints one JSON object per shape: each
product's median time and the step's gemm time, the sum of each product's time times its calls
per step. Loads the library given by --library with ctypes (nothing else), so the same script
measures OpenBLAS and BLIS alike. Run by compare.sh.
"""
import argparse
import ctypes
import json
import statistics
import time

SHAPES = {1: (85, 128, 2, 32, 64), 2: (10000, 512, 2, 20, 35), 3: (10000, 512, 2, 32, 35), 4: (10000, 1000, 4, 16, 20)}
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


def products(V, H, L, B, T):
    """(name, transA, transB, M, N, K, beta, calls per step), as LSTMLayer and LinearLayer call sgemm."""
    N = T * B
    return [
        ("lstm input X·W_ihᵀ", False, True, N, 4 * H, H, 1.0, L),
        ("lstm recurrent h·W_hhᵀ", False, True, B, 4 * H, H, 1.0, L * T),
        ("lstm dh dGates·W_hh", False, False, B, H, 4 * H, 0.0, L * (T - 1)),
        ("lstm dX dGates·W_ih", False, False, N, H, 4 * H, 0.0, L),
        ("lstm dW_hh += dGatesᵀ·h", True, False, 4 * H, H, N - B, 1.0, L),
        ("lstm dW_hh += dGates₀ᵀ·h₀", True, False, 4 * H, H, B, 1.0, L),
        ("lstm dW_ih += dGatesᵀ·X", True, False, 4 * H, H, N, 1.0, L),
        ("decoder logits x·Wᵀ", False, True, N, V, H, 1.0, 1),
        ("decoder dW += dYᵀ·x", True, False, V, H, N, 1.0, 1),
        ("decoder dx dY·W", False, False, N, H, V, 0.0, 1),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--library", required=True, help="path of a shared library exporting cblas_sgemm")
    parser.add_argument("--name", required=True, help="what to call it in the output")
    parser.add_argument("--shape", type=int, choices=sorted(SHAPES), action="append", help="default: all four")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    blas = ctypes.CDLL(args.library)
    sgemm = blas.cblas_sgemm
    c_int, c_float, ptr = ctypes.c_int, ctypes.c_float, ctypes.POINTER(ctypes.c_float)
    sgemm.argtypes = [c_int, c_int, c_int, c_int, c_int, c_int, c_float, ptr, c_int, ptr, c_int, c_float, ptr, c_int]
    sgemm.restype = None

    for shape in args.shape or sorted(SHAPES):
        V, H, L, B, T = SHAPES[shape]
        rows, step = [], 0.0
        for name, ta, tb, M, N, K, beta, calls in products(V, H, L, B, T):
            # Zeros: the time of a float multiply-add does not depend on its (normal or zero) values.
            a, b, c = (ctypes.c_float * (M * K))(), (ctypes.c_float * (K * N))(), (ctypes.c_float * (M * N))()
            lda, ldb = (M if ta else K), (K if tb else N)
            def run():
                sgemm(ROW_MAJOR, TRANS if ta else NO_TRANS, TRANS if tb else NO_TRANS, M, N, K, 1.0,
                      a, lda, b, ldb, beta, c, N)
            run()   # warm-up: threads started, pages touched
            # Small products are timed in batches, so that a timer's resolution does not matter.
            batch = max(1, int(2e8 // max(1, 2 * M * N * K)))
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                for _ in range(batch):
                    run()
                times.append((time.perf_counter() - start) / batch)
            median = statistics.median(times)
            step += median * calls
            rows.append({"product": name, "m": M, "n": N, "k": K, "calls": calls, "ms": round(median * 1e3, 4),
                         "gflops": round(2 * M * N * K / median / 1e9, 1)})
        print(json.dumps({"library": args.name, "shape": shape, "V": V, "H": H, "L": L, "B": B, "T": T,
                          "gemm_ms_per_step": round(step * 1e3, 2), "products": rows}), flush=True)


if __name__ == "__main__":
    main()

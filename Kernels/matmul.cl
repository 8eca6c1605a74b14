// General matrix multiply, row-major, the direct kernel: C = alpha · op(A) · op(B) + beta · C.
//
// The simple, always-correct path: small and skinny shapes, and the right and bottom strips that
// the fast kernel (matmul_tiled.cl) leaves when M or N is not a multiple of its tile.
//
// op(A) is M×K, op(B) is K×N, C is M×N; lda, ldb, ldc are the stored row lengths; offA, offB, offC
// are element offsets into the buffers (views). Any M, N, K: tiles are padded with zeros on load
// and guarded on store. With beta == 0, C is never read, so NaNs in C cannot leak (BLAS semantics).
//
// Each work-group computes a TSM×TSN tile of C, staging TSK-deep slabs of op(A) and op(B) through
// local memory; each work-item accumulates a WPTM×WPTN block in registers, strided by the group's
// dimensions so that neighbouring work-items touch neighbouring columns of C (coalesced stores).
// Work-group shape: (TSN/WPTN, TSM/WPTM); dimension 0 runs along N.

#ifndef TSM
#define TSM 64   // tile rows of C per work-group
#endif
#ifndef TSN
#define TSN 64   // tile columns of C per work-group
#endif
#ifndef TSK
#define TSK 16   // depth of the K slab staged in local memory
#endif
#ifndef WPTM
#define WPTM 4   // rows of C per work-item
#endif
#ifndef WPTN
#define WPTN 4   // columns of C per work-item
#endif

#define RTSM (TSM / WPTM)            // work-items along M
#define RTSN (TSN / WPTN)            // work-items along N
#define THREADS (RTSM * RTSN)
#define LOADS_A ((TSM * TSK) / THREADS)
#define LOADS_B ((TSN * TSK) / THREADS)

#if (TSM * TSK) % THREADS != 0 || (TSN * TSK) % THREADS != 0
#error "tile sizes must let every work-item load the same number of elements"
#endif

// op(A)[m, k], zero outside the matrix.
inline float load_a(const __global float* A, const int lda, const int m, const int k,
                    const int M, const int K, const int transA) {
    if (m >= M || k >= K) return 0.0f;
    return transA ? A[k * lda + m] : A[m * lda + k];
}

// op(B)[k, n], zero outside the matrix.
inline float load_b(const __global float* B, const int ldb, const int k, const int n,
                    const int K, const int N, const int transB) {
    if (k >= K || n >= N) return 0.0f;
    return transB ? B[n * ldb + k] : B[k * ldb + n];
}

// The shared body; transA and transB are literals at each call site, so the compiler specializes it.
inline void gemm_tiled(const int transA, const int transB,
                       const int M, const int N, const int K, const float alpha,
                       const __global float* A, const int lda,
                       const __global float* B, const int ldb,
                       const float beta, __global float* C, const int ldc,
                       __local float* As, __local float* Bs) {
    const int tidn = get_local_id(0);          // 0 ..< RTSN
    const int tidm = get_local_id(1);          // 0 ..< RTSM
    const int tid = tidm * RTSN + tidn;
    const int tileM = get_group_id(1) * TSM;
    const int tileN = get_group_id(0) * TSN;

    float acc[WPTM][WPTN];
    for (int wm = 0; wm < WPTM; wm++)
        for (int wn = 0; wn < WPTN; wn++) acc[wm][wn] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += TSK) {
        // Stage op(A)[tileM.., k0..] as As[k][m] and op(B)[k0.., tileN..] as Bs[k][n]. The index
        // split follows the stored layout, so consecutive work-items read consecutive addresses.
        for (int l = 0; l < LOADS_A; l++) {
            const int idx = l * THREADS + tid;
            const int m = transA ? idx % TSM : idx / TSK;
            const int k = transA ? idx / TSM : idx % TSK;
            As[k * TSM + m] = load_a(A, lda, tileM + m, k0 + k, M, K, transA);
        }
        for (int l = 0; l < LOADS_B; l++) {
            const int idx = l * THREADS + tid;
            const int n = transB ? idx / TSK : idx % TSN;
            const int k = transB ? idx % TSK : idx / TSN;
            Bs[k * TSN + n] = load_b(B, ldb, k0 + k, tileN + n, K, N, transB);
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        for (int k = 0; k < TSK; k++) {
            float b[WPTN];
            for (int wn = 0; wn < WPTN; wn++) b[wn] = Bs[k * TSN + tidn + wn * RTSN];
            for (int wm = 0; wm < WPTM; wm++) {
                const float a = As[k * TSM + tidm + wm * RTSM];
                for (int wn = 0; wn < WPTN; wn++) acc[wm][wn] += a * b[wn];
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int wm = 0; wm < WPTM; wm++) {
        const int m = tileM + tidm + wm * RTSM;
        if (m >= M) continue;
        for (int wn = 0; wn < WPTN; wn++) {
            const int n = tileN + tidn + wn * RTSN;
            if (n >= N) continue;
            float value = alpha * acc[wm][wn];
            if (beta != 0.0f) value += beta * C[m * ldc + n];
            C[m * ldc + n] = value;
        }
    }
}

#define GEMM_KERNEL(NAME, TRANS_A, TRANS_B)                                                        \
__kernel __attribute__((reqd_work_group_size(RTSN, RTSM, 1)))                                      \
void NAME(const int M, const int N, const int K, const float alpha,                                \
          const __global float* A, const int offA, const int lda,                                  \
          const __global float* B, const int offB, const int ldb,                                  \
          const float beta, __global float* C, const int offC, const int ldc) {                    \
    __local float As[TSK * TSM];                                                                   \
    __local float Bs[TSK * TSN];                                                                   \
    gemm_tiled(TRANS_A, TRANS_B, M, N, K, alpha, A + offA, lda, B + offB, ldb, beta, C + offC,     \
               ldc, As, Bs);                                                                       \
}

GEMM_KERNEL(gemm_direct_nn, 0, 0)
GEMM_KERNEL(gemm_direct_nt, 0, 1)
GEMM_KERNEL(gemm_direct_tn, 1, 0)
GEMM_KERNEL(gemm_direct_tt, 1, 1)

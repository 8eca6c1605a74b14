// General matrix multiply, row-major, the fast path: C = alpha · op(A) · op(B) + beta · C over
// whole MWG×NWG tiles of C. op(A) is M×K, op(B) is K×N; lda, ldb, ldc are the stored row lengths,
// offA, offB, offC element offsets (views). One entry point per transpose case.
//
// Preconditions the host guarantees (OpenCLBackend+LinearAlgebra.swift, GemmLaunchPlan.swift):
//   - M % MWG == 0 and N % NWG == 0: this kernel covers whole tiles only; the right and bottom
//     strips go to the direct kernel (matmul.cl). K is any value: the last, partial slab of K is
//     loaded with guards and zero padding.
//   - offA and lda are multiples of VWA, offB and ldb of VWB: global loads of op(A) and op(B) are
//     aligned floatVWA / floatVWB reads along each operand's stored contiguous dimension. When an
//     operand is not aligned the host uses a build of the same parameters with VWA = VWB = 1.
// With beta == 0, C is never read (BLAS semantics: NaNs in C cannot leak).
//
// Each work-group (NDIMC × MDIMC work-items; dimension 0 runs along N) computes one MWG×NWG tile,
// staging KWG-deep slabs of op(A) and op(B) through local memory in one layout whatever the stored
// layout: As[k][m] and Bs[k][n]. Each work-item accumulates an MWI×NWI block in registers, as
// MWI/VWM groups of VWM consecutive rows strided by MDIMC·VWM (and likewise along N), so local
// reads are floatVWM / floatVWN vectors and neighbouring work-items read neighbouring vectors.
// The inner k loop is unrolled KWI times.
//
// The tuner (cltrain-bench tune) searches these values; KernelParameters.swift holds the table.

#ifndef MWG
#define MWG 64    // tile rows of C per work-group
#endif
#ifndef NWG
#define NWG 64    // tile columns of C per work-group
#endif
#ifndef KWG
#define KWG 16    // depth of the K slab staged in local memory
#endif
#ifndef MDIMC
#define MDIMC 16  // work-items along M
#endif
#ifndef NDIMC
#define NDIMC 16  // work-items along N
#endif
#ifndef VWM
#define VWM 2     // vector width of local reads of op(A) along M (and of the row groups)
#endif
#ifndef VWN
#define VWN 2     // vector width of local reads of op(B) along N (and of the column groups)
#endif
#ifndef VWA
#define VWA 4     // vector width of global loads of A along its stored rows
#endif
#ifndef VWB
#define VWB 4     // vector width of global loads of B along its stored rows
#endif
#ifndef KWI
#define KWI 2     // unroll factor of the inner k loop
#endif

#define MWI (MWG / MDIMC)             // rows of C per work-item
#define NWI (NWG / NDIMC)             // columns of C per work-item
#define THREADS (MDIMC * NDIMC)

#if MWG % (MDIMC * VWM) != 0 || NWG % (NDIMC * VWN) != 0
#error "MWG must be a multiple of MDIMC·VWM and NWG of NDIMC·VWN"
#endif
#if KWG % KWI != 0
#error "KWG must be a multiple of KWI"
#endif
#if KWG % VWA != 0 || MWG % VWA != 0 || KWG % VWB != 0 || NWG % VWB != 0
#error "VWA must divide KWG and MWG, VWB must divide KWG and NWG"
#endif
#if (MWG * KWG / VWA) % THREADS != 0 || (NWG * KWG / VWB) % THREADS != 0
#error "every work-item must load the same number of vectors of each tile"
#endif

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if VWA == 1
#define realA float
#else
#define realA CAT(float, VWA)
#endif
#if VWB == 1
#define realB float
#else
#define realB CAT(float, VWB)
#endif
#if VWM == 1
#define realM float
#else
#define realM CAT(float, VWM)
#endif
#if VWN == 1
#define realN float
#else
#define realN CAT(float, VWN)
#endif

// A vector's lanes as an array; unions are how OpenCL C 1.2 indexes lanes generically.
typedef union { realA v; float s[VWA]; } laneA;
typedef union { realB v; float s[VWB]; } laneB;
typedef union { realM v; float s[VWM]; } laneM;
typedef union { realN v; float s[VWN]; } laneN;

// Stages op(A)[tileM ..< tileM+MWG, k0 ..< k0+KWG] into As[k * MWG + m] with vector loads along
// A's stored rows. Whole slab: every k0 + k < K.
inline void load_a_slab(const int transA, const __global float* A, const int lda, const int tileM,
                        const int k0, const int tid, __local float* As) {
    for (int l = 0; l < MWG * KWG / VWA / THREADS; l++) {
        const int idx = l * THREADS + tid;
        laneA x;
        if (transA) {   // stored K×M: rows along m
            const int k = idx / (MWG / VWA), m = (idx % (MWG / VWA)) * VWA;
            x.v = *(const __global realA*)(A + (k0 + k) * lda + tileM + m);
            for (int j = 0; j < VWA; j++) As[k * MWG + m + j] = x.s[j];
        } else {        // stored M×K: rows along k
            const int m = idx / (KWG / VWA), k = (idx % (KWG / VWA)) * VWA;
            x.v = *(const __global realA*)(A + (tileM + m) * lda + k0 + k);
            for (int j = 0; j < VWA; j++) As[(k + j) * MWG + m] = x.s[j];
        }
    }
}

// Stages op(B)[k0 ..< k0+KWG, tileN ..< tileN+NWG] into Bs[k * NWG + n]. Whole slab.
inline void load_b_slab(const int transB, const __global float* B, const int ldb, const int tileN,
                        const int k0, const int tid, __local float* Bs) {
    for (int l = 0; l < NWG * KWG / VWB / THREADS; l++) {
        const int idx = l * THREADS + tid;
        laneB x;
        if (transB) {   // stored N×K: rows along k
            const int n = idx / (KWG / VWB), k = (idx % (KWG / VWB)) * VWB;
            x.v = *(const __global realB*)(B + (tileN + n) * ldb + k0 + k);
            for (int j = 0; j < VWB; j++) Bs[(k + j) * NWG + n] = x.s[j];
        } else {        // stored K×N: rows along n
            const int k = idx / (NWG / VWB), n = (idx % (NWG / VWB)) * VWB;
            x.v = *(const __global realB*)(B + (k0 + k) * ldb + tileN + n);
            for (int j = 0; j < VWB; j++) Bs[k * NWG + n + j] = x.s[j];
        }
    }
}

// The last, partial slab (k0 + KWG > K): scalar loads, zero beyond K in both operands, so the
// padded products are 0·0 and add nothing (never 0·∞).
inline void load_tail(const int transA, const int transB, const __global float* A, const int lda,
                      const __global float* B, const int ldb, const int tileM, const int tileN,
                      const int k0, const int K, const int tid, __local float* As, __local float* Bs) {
    for (int l = 0; l < MWG * KWG / THREADS; l++) {
        const int idx = l * THREADS + tid;
        const int m = transA ? idx % MWG : idx / KWG;
        const int k = transA ? idx / MWG : idx % KWG;
        As[k * MWG + m] = k0 + k >= K ? 0.0f
            : transA ? A[(k0 + k) * lda + tileM + m] : A[(tileM + m) * lda + k0 + k];
    }
    for (int l = 0; l < NWG * KWG / THREADS; l++) {
        const int idx = l * THREADS + tid;
        const int n = transB ? idx / KWG : idx % NWG;
        const int k = transB ? idx % KWG : idx / NWG;
        Bs[k * NWG + n] = k0 + k >= K ? 0.0f
            : transB ? B[(tileN + n) * ldb + k0 + k] : B[(k0 + k) * ldb + tileN + n];
    }
}

// acc += As[k] ⊗ Bs[k] over one staged slab, for this work-item's rows and columns.
inline void multiply_slab(const __local realM* Av, const __local realN* Bv, const int tidm,
                          const int tidn, float acc[MWI][NWI]) {
    for (int k0 = 0; k0 < KWG; k0 += KWI) {
#pragma unroll
        for (int ki = 0; ki < KWI; ki++) {
            const int k = k0 + ki;
            float a[MWI], b[NWI];
            for (int g = 0; g < MWI / VWM; g++) {
                laneM x;
                x.v = Av[k * (MWG / VWM) + g * MDIMC + tidm];
                for (int i = 0; i < VWM; i++) a[g * VWM + i] = x.s[i];
            }
            for (int g = 0; g < NWI / VWN; g++) {
                laneN x;
                x.v = Bv[k * (NWG / VWN) + g * NDIMC + tidn];
                for (int j = 0; j < VWN; j++) b[g * VWN + j] = x.s[j];
            }
            for (int i = 0; i < MWI; i++)
                for (int j = 0; j < NWI; j++) acc[i][j] += a[i] * b[j];
        }
    }
}

// The shared body; transA and transB are literals at each call site, so the compiler specializes it.
inline void gemm_tiles(const int transA, const int transB, const int K, const float alpha,
                       const __global float* A, const int lda, const __global float* B, const int ldb,
                       const float beta, __global float* C, const int ldc,
                       __local realM* Av, __local realN* Bv) {
    const int tidn = get_local_id(0);   // 0 ..< NDIMC
    const int tidm = get_local_id(1);   // 0 ..< MDIMC
    const int tid = tidm * NDIMC + tidn;
    const int tileM = get_group_id(1) * MWG;
    const int tileN = get_group_id(0) * NWG;
    __local float* As = (__local float*)Av;   // KWG × MWG
    __local float* Bs = (__local float*)Bv;   // KWG × NWG

    float acc[MWI][NWI];
    for (int i = 0; i < MWI; i++)
        for (int j = 0; j < NWI; j++) acc[i][j] = 0.0f;

    const int wholeK = K - K % KWG;
    for (int k0 = 0; k0 < wholeK; k0 += KWG) {
        load_a_slab(transA, A, lda, tileM, k0, tid, As);
        load_b_slab(transB, B, ldb, tileN, k0, tid, Bs);
        barrier(CLK_LOCAL_MEM_FENCE);
        multiply_slab(Av, Bv, tidm, tidn, acc);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (wholeK < K) {
        load_tail(transA, transB, A, lda, B, ldb, tileM, tileN, wholeK, K, tid, As, Bs);
        barrier(CLK_LOCAL_MEM_FENCE);
        multiply_slab(Av, Bv, tidm, tidn, acc);
    }

    // Row i of the block is tile row (i / VWM · MDIMC + tidm) · VWM + i % VWM; likewise columns.
    for (int i = 0; i < MWI; i++) {
        const int m = tileM + ((i / VWM) * MDIMC + tidm) * VWM + i % VWM;
        for (int j = 0; j < NWI; j++) {
            const int n = tileN + ((j / VWN) * NDIMC + tidn) * VWN + j % VWN;
            float value = alpha * acc[i][j];
            if (beta != 0.0f) value += beta * C[m * ldc + n];
            C[m * ldc + n] = value;
        }
    }
}

#define GEMM_TILED_KERNEL(NAME, TRANS_A, TRANS_B)                                                  \
__kernel __attribute__((reqd_work_group_size(NDIMC, MDIMC, 1)))                                    \
void NAME(const int M, const int N, const int K, const float alpha,                                \
          const __global float* A, const int offA, const int lda,                                  \
          const __global float* B, const int offB, const int ldb,                                  \
          const float beta, __global float* C, const int offC, const int ldc) {                    \
    __local realM Av[KWG * MWG / VWM];                                                             \
    __local realN Bv[KWG * NWG / VWN];                                                             \
    gemm_tiles(TRANS_A, TRANS_B, K, alpha, A + offA, lda, B + offB, ldb, beta, C + offC, ldc,      \
               Av, Bv);                                                                            \
}

GEMM_TILED_KERNEL(gemm_tiled_nn, 0, 0)
GEMM_TILED_KERNEL(gemm_tiled_nt, 0, 1)
GEMM_TILED_KERNEL(gemm_tiled_tn, 1, 0)
GEMM_TILED_KERNEL(gemm_tiled_tt, 1, 1)

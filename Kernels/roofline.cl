// Roofline kernels for cltrain-bench: the device's attainable FLOP/s and bytes/s, measured as
// clpeak does, so every benchmark figure can be given as a share of what the device can reach.
// They compute nothing useful; the host counts the work (OpenCLRoofline.swift).
//
// FMA chains: each work-item runs FMA_ROUNDS rounds of 64 mad()s over four independent chains of
// float4, float8 or float16 values (16 to 64 independent lanes: a GPU fills its pipelines from many
// work-items, a CPU device such as PoCL, which runs one work-item's chains at a time, best from the
// widest). Every mad is 2 FLOPs per lane. x ← m·x + a with m < 1 keeps the values finite and
// normal (no infinities, no denormals, which are slow on some CPUs); m and a are arguments, so the
// compiler can fold nothing. The result is stored only when it equals `sentinel`, which it never
// does, so the chains are live but the kernel writes no memory.
//
// Copy: one float4 read and one float4 written per work-item (32 bytes moved).

#ifndef FMA_ROUNDS
#define FMA_ROUNDS 64 // rounds of 64 mad()s per work-item
#endif

#define FMA_4(a, b, c, d, m, k) a = mad(a, m, k); b = mad(b, m, k); c = mad(c, m, k); d = mad(d, m, k);
#define FMA_16(a, b, c, d, m, k) FMA_4(a, b, c, d, m, k) FMA_4(a, b, c, d, m, k) \
                                 FMA_4(a, b, c, d, m, k) FMA_4(a, b, c, d, m, k)
#define FMA_64(a, b, c, d, m, k) FMA_16(a, b, c, d, m, k) FMA_16(a, b, c, d, m, k) \
                                 FMA_16(a, b, c, d, m, k) FMA_16(a, b, c, d, m, k)

__kernel void roofline_fma_float4(const float multiplier, const float addend, const float sentinel,
                                  __global float* out) {
    const float s = (float)(get_global_id(0) & 1023) * 0.0009765625f;   // in [0, 1)
    float4 a = (float4)(s, s + 0.125f, s + 0.25f, s + 0.375f);
    float4 b = a + 0.0625f, c = a + 0.03125f, d = a + 0.015625f;
    const float4 m = (float4)(multiplier), k = (float4)(addend);
    for (int round = 0; round < FMA_ROUNDS; round++) {
        FMA_64(a, b, c, d, m, k)
    }
    const float4 sum = a + b + c + d;
    const float result = sum.s0 + sum.s1 + sum.s2 + sum.s3;
    if (result == sentinel) out[0] = result;
}

__kernel void roofline_fma_float8(const float multiplier, const float addend, const float sentinel,
                                  __global float* out) {
    const float s = (float)(get_global_id(0) & 1023) * 0.0009765625f;   // in [0, 1)
    float8 a = (float8)(s, s + 0.125f, s + 0.25f, s + 0.375f, s + 0.5f, s + 0.625f, s + 0.75f, s + 0.875f);
    float8 b = a + 0.0625f, c = a + 0.03125f, d = a + 0.015625f;
    const float8 m = (float8)(multiplier), k = (float8)(addend);
    for (int round = 0; round < FMA_ROUNDS; round++) {
        FMA_64(a, b, c, d, m, k)
    }
    const float8 sum = a + b + c + d;
    const float4 folded = sum.lo + sum.hi;
    const float result = folded.s0 + folded.s1 + folded.s2 + folded.s3;
    if (result == sentinel) out[0] = result;
}

__kernel void roofline_fma_float16(const float multiplier, const float addend, const float sentinel,
                                   __global float* out) {
    const float s = (float)(get_global_id(0) & 1023) * 0.0009765625f;   // in [0, 1)
    const float8 low = (float8)(s, s + 0.125f, s + 0.25f, s + 0.375f, s + 0.5f, s + 0.625f, s + 0.75f, s + 0.875f);
    float16 a = (float16)(low, low + 0.0078125f);
    float16 b = a + 0.0625f, c = a + 0.03125f, d = a + 0.015625f;
    const float16 m = (float16)(multiplier), k = (float16)(addend);
    for (int round = 0; round < FMA_ROUNDS; round++) {
        FMA_64(a, b, c, d, m, k)
    }
    const float16 sum = a + b + c + d;
    const float8 folded8 = sum.lo + sum.hi;
    const float4 folded = folded8.lo + folded8.hi;
    const float result = folded.s0 + folded.s1 + folded.s2 + folded.s3;
    if (result == sentinel) out[0] = result;
}

__kernel void roofline_copy(const int n, const __global float4* in, __global float4* out) {
    const int i = get_global_id(0);
    if (i < n) out[i] = in[i];
}

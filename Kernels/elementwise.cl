// Small helpers: elementwise updates, the bias broadcast and its reduction, embedding gather and
// scatter, and the sum of squares for gradient clipping. Every buffer comes with an element offset.

#ifndef WGS
#define WGS 256   // work-group size of the reductions; a power of two
#endif

__kernel void fill(const int n, __global float* x, const int offX, const float value) {
    const int i = get_global_id(0);
    if (i < n) x[offX + i] = value;
}

__kernel void scale(const int n, __global float* x, const int offX, const float factor) {
    const int i = get_global_id(0);
    if (i < n) x[offX + i] *= factor;
}

// y += alpha · x  (also the SGD step, with alpha = −learning rate)
__kernel void axpy(const int n, const float alpha, const __global float* x, const int offX,
                   __global float* y, const int offY) {
    const int i = get_global_id(0);
    if (i < n) y[offY + i] += alpha * x[offX + i];
}

// Inverted-dropout mask: mask[i] = scale if draw i + 1 of a SplitMix64 generator in `state` is
// below `keep` as a unit float (its top 24 bits · 2⁻²⁴, exact in float), else 0. The same hash the
// host's SplitMix64 computes (Sources/CLTrain/Support/SplitMix64.swift), so masks match bit for bit.
__kernel void dropout_mask(const int n, __global float* mask, const int offM,
                           const ulong state, const float keep, const float scale) {
    const int i = get_global_id(0);
    if (i >= n) return;
    ulong z = state + (ulong)(i + 1) * 0x9E3779B97F4A7C15UL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
    z ^= z >> 31;
    mask[offM + i] = (float)(z >> 40) * 0x1p-24f < keep ? scale : 0.0f;
}

// x (R×C) += bias (C) on every row.
__kernel void add_bias(const int R, const int C, __global float* x, const int offX,
                       const __global float* bias, const int offB) {
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (c < C && r < R) x[offX + r * C + c] += bias[offB + c];
}

// x (R×C) = row (C) in every row; x is not read.
__kernel void broadcast_rows(const int R, const int C, __global float* x, const int offX,
                             const __global float* row, const int offR) {
    const int c = get_global_id(0);
    const int r = get_global_id(1);
    if (c < C && r < R) x[offX + r * C + c] = row[offR + c];
}

// out (C) = beta · out + Σ_r x[r, c]. One work-item per column: neighbouring work-items read
// neighbouring addresses, and each column's sum runs in row order (deterministic).
__kernel void sum_rows(const int R, const int C, const __global float* x, const int offX,
                       __global float* out, const int offO, const float beta) {
    const int c = get_global_id(0);
    if (c >= C) return;
    float s = 0.0f;
    for (int r = 0; r < R; r++) s += x[offX + r * C + c];
    out[offO + c] = beta == 0.0f ? s : beta * out[offO + c] + s;
}

// out (N×E) row n = table (V×E) row ids[n]. Ids were range-checked on the host.
__kernel void embedding_forward(const int N, const int E, const __global float* table, const int offT,
                                const __global int* ids, const int offI,
                                __global float* out, const int offO) {
    const int e = get_global_id(0);
    const int n = get_global_id(1);
    if (e < E && n < N) out[offO + n * E + e] = table[offT + ids[offI + n] * E + e];
}

// tableGrad (V×E) row uniqueIds[u] += Σ of outGrad (N×E) rows positions[starts[u] ..< starts[u+1]].
// The host groups positions by id (in index order), so no two work-items write the same element
// and the result does not depend on scheduling.
__kernel void embedding_backward(const int U, const int E,
                                 const __global int* uniqueIds, const __global int* starts,
                                 const __global int* positions,
                                 const __global float* outGrad, const int offD,
                                 __global float* tableGrad, const int offT) {
    const int e = get_global_id(0);
    const int u = get_global_id(1);
    if (e >= E || u >= U) return;
    float s = 0.0f;
    for (int p = starts[u]; p < starts[u + 1]; p++) s += outGrad[offD + positions[p] * E + e];
    tableGrad[offT + uniqueIds[u] * E + e] += s;
}

// partials[offP + group] = Σ x² over the elements this work-group strides across.
__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void sum_squares(const int n, const __global float* x, const int offX,
                 __global float* partials, const int offP) {
    __local float scratch[WGS];
    const int lid = get_local_id(0);
    float s = 0.0f;
    // Unsigned, so that i + stride cannot overflow for n near INT_MAX.
    for (uint i = get_global_id(0); i < (uint)n; i += get_global_size(0)) {
        const float v = x[offX + i];
        s += v * v;
    }
    scratch[lid] = s;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = WGS / 2; stride > 0; stride >>= 1) {
        if (lid < stride) scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) partials[offP + get_group_id(0)] = scratch[0];
}

// x ⊙= y (dropout masks).
__kernel void multiply(const int n, __global float* x, const int offX, const __global float* y, const int offY) {
    const int i = get_global_id(0);
    if (i < n) x[offX + i] *= y[offY + i];
}

// One Adam step; correction1 = 1 − β₁ᵗ and correction2 = 1 − β₂ᵗ come from the host.
__kernel void adam_update(const int n, __global float* p, const int offP, const __global float* g, const int offG,
                          __global float* m, const int offM, __global float* v, const int offV,
                          const float lr, const float beta1, const float beta2, const float epsilon,
                          const float correction1, const float correction2) {
    const int i = get_global_id(0);
    if (i >= n) return;
    const float gi = g[offG + i];
    const float mi = beta1 * m[offM + i] + (1.0f - beta1) * gi;
    const float vi = beta2 * v[offV + i] + (1.0f - beta2) * gi * gi;
    m[offM + i] = mi;
    v[offV + i] = vi;
    p[offP + i] -= lr * (mi / correction1) / (sqrt(vi / correction2) + epsilon);
}

// Row softmax and fused softmax + cross-entropy. One work-group of WGS work-items per row; the row
// maximum is subtracted before exponentiating, so large logits cannot overflow.

#ifndef WGS
#define WGS 256   // work-items per row; a power of two
#endif

// Tree reductions over the work-group through local memory. Every work-item gets the result.
inline float group_max(float value, __local float* scratch) {
    const int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = WGS / 2; stride > 0; stride >>= 1) {
        if (lid < stride) scratch[lid] = fmax(scratch[lid], scratch[lid + stride]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);   // scratch is reused by the next reduction
    return result;
}

inline float group_sum(float value, __local float* scratch) {
    const int lid = get_local_id(0);
    scratch[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = WGS / 2; stride > 0; stride >>= 1) {
        if (lid < stride) scratch[lid] += scratch[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

// The row's maximum and Σ exp(x − max).
inline float2 row_max_and_sum(const __global float* x, const int C, __local float* scratch) {
    const int lid = get_local_id(0);
    float m = -INFINITY;
    for (int c = lid; c < C; c += WGS) m = fmax(m, x[c]);
    m = group_max(m, scratch);
    float s = 0.0f;
    for (int c = lid; c < C; c += WGS) s += exp(x[c] - m);
    s = group_sum(s, scratch);
    return (float2)(m, s);
}

// y (R×C) = softmax(x) row-wise; y may be x.
__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void softmax_rows(const int C, const __global float* x, const int offX, __global float* y, const int offY) {
    __local float scratch[WGS];
    const int row = get_group_id(0);
    const __global float* xr = x + offX + row * C;
    __global float* yr = y + offY + row * C;
    const float2 ms = row_max_and_sum(xr, C, scratch);
    for (int c = get_local_id(0); c < C; c += WGS) yr[c] = exp(xr[c] - ms.x) / ms.y;
}

// One vocabulary shard's part of a split softmax: the row maximum, Σ exp(x − max), and the target's
// logit (0 where the target is outside 0..<C, i.e. in another shard or ignored).
__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void softmax_statistics(const int C, const __global float* logits, const int offL,
                        const __global int* targets, const int offT,
                        __global float* maxima, const int offM, __global float* sumExp, const int offS,
                        __global float* targetLogits, const int offTL) {
    __local float scratch[WGS];
    const int row = get_group_id(0);
    const __global float* xr = logits + offL + row * C;
    const float2 ms = row_max_and_sum(xr, C, scratch);
    if (get_local_id(0) == 0) {
        const int target = targets[offT + row];
        maxima[offM + row] = ms.x;
        sumExp[offS + row] = ms.y;
        targetLogits[offTL + row] = (target >= 0 && target < C) ? xr[target] : 0.0f;
    }
}

// One shard's cross-entropy gradient given each row's global log normalizer log Σ exp over all
// shards: scale · (exp(x − logZ) − onehot), no one-hot for targets outside 0..<C, and zeros where
// logZ is +∞ (ignored rows: exp(x − ∞) = 0). gradient may be logits (each element is read, then written).
__kernel void softmax_cross_entropy_gradient(const int R, const int C, const __global float* logits, const int offL,
                                             const __global int* targets, const int offT,
                                             const __global float* logNormalizers, const int offZ,
                                             const float scale, __global float* gradient, const int offG) {
    const int c = get_global_id(0);
    const int row = get_global_id(1);
    if (c >= C || row >= R) return;
    const float x = logits[offL + row * C + c];
    const float z = logNormalizers[offZ + row];
    const float p = exp(x - z);
    gradient[offG + row * C + c] = isinf(z) ? 0.0f : scale * (p - (c == targets[offT + row] ? 1.0f : 0.0f));
}

// losses[r] = −log softmax(logits[r])[t_r] (0 where t_r == ignoreIndex). With hasGradient,
// gradient[r] = scale · (softmax(logits[r]) − onehot(t_r)), zero rows where ignored; gradient may
// be logits (each work-item reads an element before it writes it, and the target logit is read
// before the barrier that precedes the writes).
__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void softmax_cross_entropy(const int C, const __global float* logits, const int offL,
                           const __global int* targets, const int offT, const int ignoreIndex,
                           __global float* losses, const int offLoss,
                           const int hasGradient, __global float* gradient, const int offG, const float scale) {
    __local float scratch[WGS];
    const int row = get_group_id(0);
    const int lid = get_local_id(0);
    const __global float* xr = logits + offL + row * C;
    const int target = targets[offT + row];
    const int ignored = target == ignoreIndex;
    const float2 ms = row_max_and_sum(xr, C, scratch);
    if (lid == 0) losses[offLoss + row] = ignored ? 0.0f : log(ms.y) + ms.x - xr[target];
    // Every work-item reaches this barrier, also without a gradient: a return before it, though
    // uniform across the group, crashes PoCL 3.1 on rows narrower than the group.
    barrier(CLK_GLOBAL_MEM_FENCE);
    __global float* gr = gradient + offG + row * C;
    if (hasGradient) for (int c = lid; c < C; c += WGS) {
        const float p = exp(xr[c] - ms.x) / ms.y;
        gr[c] = ignored ? 0.0f : scale * (p - (c == target ? 1.0f : 0.0f));
    }
}

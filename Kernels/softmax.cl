// Row softmax, fused softmax + cross-entropy, and the statistics of a split softmax.
//
// A row of the 80 000-word softmax is far too long for one work-group to stream at full memory
// bandwidth, so each row is cut into chunks of WGS·ITEMS elements, one work-group each (grid:
// chunks × rows). Pass 1 (softmax_partials) reduces every chunk to the pair (m, s): its maximum
// and Σ exp(x − m), from registers, so the logits are read once; pairs combine as in the online
// softmax of Milakov & Gimelshein (2018).
// Pass 2 combines a row's pairs in chunk order (deterministic) and writes the probabilities, the
// loss and gradient, or the shard statistics. The logits are read twice and written at most once;
// subtracting the maximum keeps large logits from overflowing.
//
// partials (per row r, chunk p): pairs[2·(r·P + p) + {0, 1}] = (m, s); after the R·P pairs,
// targetLogit[r] = x[r, target_r] when the target lies in this matrix (written in pass 1, so that a
// gradient written over the logits in pass 2 cannot race with reading it).

#ifndef WGS
#define WGS 256   // work-items per chunk; a power of two
#endif
#ifndef ITEMS
#define ITEMS 16  // elements per work-item in a chunk
#endif
#define CHUNK (WGS * ITEMS)

// (m, s) ⊕ (m', s'): the pair of the union. −∞ maxima (empty or all −∞) contribute nothing.
inline float2 combine(const float2 a, const float2 b) {
    const float m = fmax(a.x, b.x);
    if (m == -INFINITY) return (float2)(-INFINITY, 0.0f);
    return (float2)(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

// Tree reduction of one float per work-item (the maximum when `maximum`, else the sum).
inline float group_reduce(float value, const int maximum, __local float2* scratch) {
    const int lid = get_local_id(0);
    __local float* s = (__local float*)scratch;
    s[lid] = value;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = WGS / 2; stride > 0; stride >>= 1) {
        if (lid < stride) s[lid] = maximum ? fmax(s[lid], s[lid + stride]) : s[lid] + s[lid + stride];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float result = s[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

// The pair of x[begin ..< end], end − begin ≤ CHUNK. Each work-item loads its ITEMS elements
// begin + lid + k·WGS into registers at once (neighbours read neighbouring addresses, and ITEMS
// loads are in flight), so the chunk is read once and each element exponentiated once.
inline float2 chunk_pair(const __global float* x, const int begin, const int end, __local float2* scratch) {
    float v[ITEMS];
    float m = -INFINITY;
    for (int k = 0; k < ITEMS; k++) {
        const int c = begin + get_local_id(0) + k * WGS;
        v[k] = c < end ? x[c] : -INFINITY;
        m = fmax(m, v[k]);
    }
    m = group_reduce(m, 1, scratch);
    float s = 0.0f;
    if (m != -INFINITY) for (int k = 0; k < ITEMS; k++) s += exp(v[k] - m);   // exp(−∞ − m) = 0
    return (float2)(m, group_reduce(s, 0, scratch));
}

// The whole row's pair from its P chunk pairs, combined in chunk order (deterministic).
inline float2 combine_chunks(const __global float* partials, const int row, const int P) {
    float2 acc = (float2)(-INFINITY, 0.0f);
    for (int p = 0; p < P; p++) acc = combine(acc, vload2(row * P + p, partials));
    return acc;
}

// combine_chunks for a work-group: work-item 0 combines, all get the result.
inline float2 row_pair(const __global float* partials, const int row, const int P, __local float2* scratch) {
    if (get_local_id(0) == 0) scratch[0] = combine_chunks(partials, row, P);
    barrier(CLK_LOCAL_MEM_FENCE);
    const float2 result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}

// Pass 1. Grid (P·WGS, R): work-group (p, r) reduces chunk p of row r; with targets (hasTargets),
// the work-group whose chunk holds row r's target also records its logit.
__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void softmax_partials(const int C, const __global float* x, const int offX,
                      const int hasTargets, const __global int* targets, const int offT,
                      __global float* partials) {
    __local float2 scratch[WGS];
    const int p = get_group_id(0), P = get_num_groups(0), row = get_group_id(1), R = get_num_groups(1);
    const __global float* xr = x + offX + row * C;
    const int begin = p * CHUNK, end = min(C, begin + CHUNK);
    const float2 pair = chunk_pair(xr, begin, end, scratch);
    if (get_local_id(0) == 0) {
        vstore2(pair, row * P + p, partials);
        if (hasTargets) {
            const int target = targets[offT + row];
            if (target >= begin && target < end) partials[2 * R * P + row] = xr[target];
        }
    }
}

// Pass 2 of softmax: y (R×C) = exp(x − m) / s for chunk p of row r; y may be x.
__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void softmax_write(const int C, const __global float* x, const int offX,
                   __global float* y, const int offY, const __global float* partials) {
    __local float2 scratch[WGS];
    const int p = get_group_id(0), P = get_num_groups(0), row = get_group_id(1);
    const float2 total = row_pair(partials, row, P, scratch);
    const __global float* xr = x + offX + row * C;
    __global float* yr = y + offY + row * C;
    const int end = min(C, (p + 1) * CHUNK);
    for (int k = 0; k < ITEMS; k++) {   // a constant trip count, so the loads can be issued together
        const int c = p * CHUNK + get_local_id(0) + k * WGS;
        if (c < end) yr[c] = exp(xr[c] - total.x) / total.y;
    }
}

// Pass 2 of cross-entropy: losses[r] = log s + m − x[r, t_r] (0 where t_r == ignoreIndex), written
// by chunk 0; with hasGradient, gradient = scale · (softmax − onehot(t_r)) over chunk p, zero rows
// where ignored. gradient may be the logits: each element is read, then written, by one work-item.
__kernel __attribute__((reqd_work_group_size(WGS, 1, 1)))
void cross_entropy_write(const int C, const __global float* logits, const int offL,
                         const __global int* targets, const int offT, const int ignoreIndex,
                         __global float* losses, const int offLoss,
                         const int hasGradient, __global float* gradient, const int offG, const float scale,
                         const __global float* partials) {
    __local float2 scratch[WGS];
    const int p = get_group_id(0), P = get_num_groups(0), row = get_group_id(1), R = get_num_groups(1);
    const float2 total = row_pair(partials, row, P, scratch);
    const int target = targets[offT + row];
    const int ignored = target == ignoreIndex;
    if (p == 0 && get_local_id(0) == 0) {
        losses[offLoss + row] = ignored ? 0.0f : log(total.y) + total.x - partials[2 * R * P + row];
    }
    if (!hasGradient) return;   // uniform across the work-group, and no barrier follows
    const __global float* xr = logits + offL + row * C;
    __global float* gr = gradient + offG + row * C;
    const int end = min(C, (p + 1) * CHUNK);
    for (int k = 0; k < ITEMS; k++) {
        const int c = p * CHUNK + get_local_id(0) + k * WGS;
        if (c >= end) break;
        const float probability = exp(xr[c] - total.x) / total.y;
        gr[c] = ignored ? 0.0f : scale * (probability - (c == target ? 1.0f : 0.0f));
    }
}

// Pass 2 of one vocabulary shard's statistics, one work-item per row: the row maximum, Σ exp(x −
// max), and the target's logit (0 where the target is outside 0..<C: another shard's, or ignored).
__kernel void softmax_statistics(const int R, const int C, const int P, const __global int* targets, const int offT,
                                 __global float* maxima, const int offM, __global float* sumExp, const int offS,
                                 __global float* targetLogits, const int offTL, const __global float* partials) {
    const int row = get_global_id(0);
    if (row >= R) return;
    const float2 acc = combine_chunks(partials, row, P);
    const int target = targets[offT + row];
    maxima[offM + row] = acc.x;
    sumExp[offS + row] = acc.y;
    targetLogits[offTL + row] = (target >= 0 && target < C) ? partials[2 * R * P + row] : 0.0f;
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

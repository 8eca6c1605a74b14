// LSTM cell over fused pre-activations, one work-item per (batch row b, unit j).
//
// gates (B×4H) rows are [i | f | g | o], the order of PyTorch's nn.LSTM weights. Forward replaces
// the pre-activations with σ(i), σ(f), tanh(g), σ(o), which the backward pass reads back.
//   c = f·c_prev + i·g        h = o·tanh(c)

inline float sigmoid(const float x) { return 1.0f / (1.0f + exp(-x)); }

__kernel void lstm_cell_forward(const int B, const int H,
                                __global float* gates, const int offG,
                                const __global float* cellPrev, const int offCP,
                                __global float* cell, const int offC,
                                __global float* hidden, const int offH) {
    const int j = get_global_id(0);
    const int b = get_global_id(1);
    if (j >= H || b >= B) return;
    __global float* g4 = gates + offG + b * 4 * H;
    const float i = sigmoid(g4[j]);
    const float f = sigmoid(g4[H + j]);
    const float g = tanh(g4[2 * H + j]);
    const float o = sigmoid(g4[3 * H + j]);
    g4[j] = i;
    g4[H + j] = f;
    g4[2 * H + j] = g;
    g4[3 * H + j] = o;
    const float c = f * cellPrev[offCP + b * H + j] + i * g;
    cell[offC + b * H + j] = c;
    hidden[offH + b * H + j] = o * tanh(c);
}

// Given activated gates, c_prev and c from the forward step, ∂L/∂h and (if hasCellGradient)
// ∂L/∂c from step t+1: writes ∂L/∂(pre-activations) and ∂L/∂c_prev. gatesGrad may be gates.
__kernel void lstm_cell_backward(const int B, const int H,
                                 const __global float* gates, const int offG,
                                 const __global float* cellPrev, const int offCP,
                                 const __global float* cell, const int offC,
                                 const __global float* hiddenGrad, const int offDH,
                                 const int hasCellGradient, const __global float* cellGrad, const int offDC,
                                 __global float* gatesGrad, const int offDG,
                                 __global float* cellPrevGrad, const int offDCP) {
    const int j = get_global_id(0);
    const int b = get_global_id(1);
    if (j >= H || b >= B) return;
    const int row = b * 4 * H;
    const int k = b * H + j;
    const float i = gates[offG + row + j];
    const float f = gates[offG + row + H + j];
    const float g = gates[offG + row + 2 * H + j];
    const float o = gates[offG + row + 3 * H + j];
    const float tc = tanh(cell[offC + k]);
    const float dh = hiddenGrad[offDH + k];
    const float dc = (hasCellGradient ? cellGrad[offDC + k] : 0.0f) + dh * o * (1.0f - tc * tc);
    __global float* dg4 = gatesGrad + offDG + row;
    dg4[j] = dc * g * i * (1.0f - i);
    dg4[H + j] = dc * cellPrev[offCP + k] * f * (1.0f - f);
    dg4[2 * H + j] = dc * i * (1.0f - g * g);
    dg4[3 * H + j] = dh * tc * o * (1.0f - o);
    cellPrevGrad[offDCP + k] = dc * f;
}

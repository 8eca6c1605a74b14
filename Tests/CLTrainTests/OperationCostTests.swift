import Testing
@testable import CLTrain
@testable import cltrain_bench

/// cltrain-bench's FLOP and byte counts (Benchmarks/OperationCost.swift).
struct OperationCostTests {
    @Test func gemmAndMemoryBoundCosts() {
        let gemm = OperationCost.gemm(m: 128, n: 4000, k: 2000)
        #expect(gemm.flops == 2_048_000_000)                               // 2·128·4000·2000
        #expect(gemm.bytes == 35_072_000)                                  // 4·(128·2000 + 2000·4000 + 128·4000)
        #expect(OperationCost.gemm(m: 2, n: 3, k: 4, readsC: true).bytes == 128)   // 4·(8 + 12 + 2·6)
        #expect(OperationCost.softmax(rows: 128, columns: 80000) == OperationCost(flops: nil, bytes: 81_920_000))
        #expect(OperationCost.softmaxCrossEntropy(rows: 128, columns: 80000).bytes == 81_921_024)   // 4·(2·R·C + 2·R)
        #expect(OperationCost.softmaxCrossEntropy(rows: 2, columns: 5, withGradient: false).bytes == 56)
        #expect(OperationCost.axpy(count: 10).bytes == 120)
        #expect(OperationCost.adam(count: 10).bytes == 280)
        #expect(OperationCost.lstmStep(batch: 128, hidden: 1000).flops == 1_024_000_000)   // 8·B·H²
    }

    /// The headline figure: one 1000-unit layer, batch 128, 50 steps, forward + backward with the
    /// input gradient is 8·T·B·H·(In + H) forward and (2T − 1)·8·B·H² + 2·8·T·B·H·In backward.
    @Test func lstmLayerCostAtTheBenchmarkShape() {
        let cost = OperationCost.lstmLayers(1, steps: 50, batch: 128, inputSize: 1000, hidden: 1000, backward: true)
        let forward: Double = 102_400_000_000        // 8·50·128·1000·2000
        let backward: Double = 203_776_000_000       // 99·8·128·1000² + 2·8·50·128·1000²
        #expect(cost.flops == forward + backward)
        #expect(OperationCost.lstmLayers(4, steps: 50, batch: 128, inputSize: 1000, hidden: 1000, backward: false).flops
                == 4 * forward)
    }

    /// The count must be what LSTMLayer really runs: every gemm it issues, counted as 2·M·N·K.
    @Test(arguments: [(layers: 1, steps: 1), (layers: 1, steps: 3), (layers: 2, steps: 4)])
    func lstmLayerCostMatchesTheGemmsTheLayerRuns(layers: Int, steps: Int) throws {
        let (batch, inputSize, hidden) = (2, 5, 3)
        let counter = GemmCountingBackend()
        let stack = try (0..<layers).map {
            try LSTMLayer(index: $0, inputSize: $0 == 0 ? inputSize : hidden, hiddenSize: hidden, backend: counter)
        }
        var random = SplitMix64(seed: 7)
        for parameter in stack.flatMap(\.parameters) {
            try counter.upload(random.floats(parameter.count, scale: 0.1), to: parameter.value)
        }
        let rows = steps * batch
        let input = try makeRandomTensor(counter, [rows, inputSize], &random).tensor
        let h0 = try makeTensor(counter, [batch, hidden], Array(repeating: 0, count: batch * hidden))
        let c0 = try makeTensor(counter, [batch, hidden], Array(repeating: 0, count: batch * hidden))

        var inputs: [Tensor] = []
        var x = input
        for layer in stack {
            inputs.append(x)
            x = try layer.forward(input: x, steps: steps, batch: batch, initialHidden: h0, initialCell: c0)
        }
        let forwardFlops = counter.flops
        var outputGradient = try makeRandomTensor(counter, [rows, hidden], &random).tensor
        for l in stride(from: layers - 1, through: 0, by: -1) {
            let inputGradient = try counter.makeTensor(shape: [rows, l == 0 ? inputSize : hidden], elementType: .float32)
            try stack[l].backward(input: inputs[l], steps: steps, batch: batch, initialHidden: h0, initialCell: c0,
                                  outputGradient: outputGradient, inputGradient: inputGradient)
            outputGradient = inputGradient
        }
        #expect(OperationCost.lstmLayers(layers, steps: steps, batch: batch, inputSize: inputSize, hidden: hidden,
                                         backward: false).flops == forwardFlops)
        #expect(OperationCost.lstmLayers(layers, steps: steps, batch: batch, inputSize: inputSize, hidden: hidden,
                                         backward: true).flops == counter.flops)
    }
}
/// The CPU backend, counting 2·M·N·K FLOPs for every gemm it runs.
private final class GemmCountingBackend: ForwardingBackend {
    let base: Backend = CPUBackend()
    private(set) var flops = 0.0

    var name: String { "gemm-counting cpu" }

    func gemm(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor, beta: Float, _ c: Tensor) throws {
        let k = transposeA ? a.shape[0] : a.shape[1]
        flops += 2 * Double(c.shape[0]) * Double(c.shape[1]) * Double(k)
        try base.gemm(transposeA: transposeA, transposeB: transposeB, alpha: alpha, a, b, beta: beta, c)
    }
}

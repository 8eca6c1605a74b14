import Foundation

/// Measures a device's speed on the model's own operations, through the public `Backend` API.
///
/// For a workload shape (B, H, E, V, T) it times, at a reduced window of `min(T, 2)` steps and
/// divided by those steps:
/// - one `LSTMLayer` itself, as the runtime runs it: its forward over the window (X·W_ihᵀ for the
///   window's rows at once, then each step's h·W_hhᵀ and cell), the backward the layer below waits
///   for (each step's cell backward and ∂h_{t−1} = ∂gates_t·W_hh, then ∂X = ∂gates·W_ih), and the
///   weight gradients (∂W_ih, ∂W_hh, both bias sums); layer 0 again at input width E when E ≠ H,
///   plus the embedding lookup and its gradient;
/// - the decoder and softmax on a chunk of the vocabulary (1 024 rows, or V if smaller; a fast
///   device is re-measured at 8× the chunk, up to 16 384 rows, so launch overheads do not
///   dominate): the logits gemm, bias and softmax cross-entropy with its gradient; the ∂h gemm;
///   the ∂W gemm and bias sum. Divided by the chunk's rows: costs are linear in the rows;
/// - the host link: upload and download of a B×H tensor.
///
/// Each section runs once to warm up (kernel builds, allocations), then is timed between two
/// `synchronize()` calls, repeated up to 5 times (the median counts) while the time budget lasts.
/// However small the budget, every section is warmed up and timed once.
public enum DeviceCalibration {
    /// A calibration and where it came from.
    public struct Result: Sendable {
        public var identity: DeviceIdentity
        public var costs: DeviceCosts
        /// True when read from the cache; false when measured now.
        public var fromCache: Bool
        /// Seconds spent measuring now (0 when cached).
        public var measuringSeconds: Double
    }

    /// The costs of `device` for `shape`: from `cache` if it holds a trustworthy entry and
    /// `recalibrate` is false, else measured on a new backend (and stored; a cache that cannot
    /// be written costs a re-measurement next time, nothing more).
    public static func calibrate(_ device: DeviceSelection, shape: WorkloadShape, registry: DeviceRegistry = .shared,
                                 cache: CalibrationCache? = CalibrationCache.standard(), recalibrate: Bool = false,
                                 budgetSeconds: Double = 2) throws -> Result {
        let identity = try DeviceIdentity.of(device, registry: registry)
        return try calibrate(identity: identity, shape: shape, cache: cache, recalibrate: recalibrate) {
            try measure(on: registry.makeBackend(device), shape: shape, budgetSeconds: budgetSeconds)
        }
    }

    /// The costs of each of `devices`, calibrating identical devices once. `reused` marks a
    /// device whose figures are another's (same name and driver).
    public static func costs(of devices: [DeviceSelection], shape: WorkloadShape, registry: DeviceRegistry = .shared,
                             recalibrate: Bool = false, budgetSeconds: Double = 2) throws
        -> [DeviceSelection: (costs: DeviceCosts, result: Result, reused: Bool)] {
        var byIdentity: [DeviceIdentity: Result] = [:]
        var costs: [DeviceSelection: (costs: DeviceCosts, result: Result, reused: Bool)] = [:]
        for device in devices {
            let identity = try DeviceIdentity.of(device, registry: registry)
            let reused = byIdentity[identity] != nil
            let result = try byIdentity[identity] ?? calibrate(device, shape: shape, registry: registry,
                                                               recalibrate: recalibrate, budgetSeconds: budgetSeconds)
            byIdentity[identity] = result
            costs[device] = (result.costs, result, reused)
        }
        return costs
    }

    /// The cache logic alone: `measure` runs only when the cache has nothing usable.
    public static func calibrate(identity: DeviceIdentity, shape: WorkloadShape, cache: CalibrationCache?,
                                 recalibrate: Bool, measure: () throws -> DeviceCosts) throws -> Result {
        try shape.validate()
        if !recalibrate, let cached = cache?.load(identity: identity, shape: shape) {
            return Result(identity: identity, costs: cached, fromCache: true, measuringSeconds: 0)
        }
        let start = WallClock.now
        let costs = try measure()
        let seconds = WallClock.seconds(since: start)
        guard costs.isPlausible else {
            throw CLTrainError.invalidArgument("calibration of \(identity) gave implausible costs: \(costs)")
        }
        try? cache?.store(costs, identity: identity, shape: shape, measuringSeconds: seconds)
        return Result(identity: identity, costs: costs, fromCache: false, measuringSeconds: seconds)
    }

    /// Times the model's operations on `backend` (see the type's documentation).
    public static func measure(on backend: Backend, shape: WorkloadShape, budgetSeconds: Double = 2) throws -> DeviceCosts {
        try shape.validate()
        let timer = SectionTimer(backend: backend, budgetSeconds: budgetSeconds)
        let steps = min(shape.steps, 2)
        // The benchmarks hold about one layer, a vocabulary chunk and two steps' buffers: refuse a
        // shape the device cannot hold before allocating them.
        let measured = ModelConfiguration(vocabularySize: max(min(shape.vocabulary, 16_384), 2), embeddingSize: shape.embedding,
                                          hiddenSize: shape.hidden, layers: 1)
        try DeviceMemory.of(backend).require(.training(measured, optimizer: .sgd, batch: shape.batch, bptt: steps),
                                             for: "calibrating \(shape)")
        let layer = try LayerBench(backend: backend, shape: shape, inputWidth: shape.hidden, steps: steps)
        let hiddenLayer = (forward: try timer.time(layer.forward), backward: try timer.time(layer.backward),
                           weightGradient: try timer.time(layer.weightGradient))
        var firstLayer = hiddenLayer
        if shape.embedding != shape.hidden {
            let first = try LayerBench(backend: backend, shape: shape, inputWidth: shape.embedding, steps: steps)
            firstLayer = (try timer.time(first.forward), try timer.time(first.backward), try timer.time(first.weightGradient))
        }
        let embedding = try EmbeddingBench(backend: backend, shape: shape, steps: steps)
        firstLayer.forward += try timer.time(embedding.forward)
        firstLayer.weightGradient += try timer.time(embedding.backward)

        // The decoder at a chunk of rows; a device fast enough to make that a few launches is
        // measured again at a larger chunk.
        var chunk = min(shape.vocabulary, 1024)
        var decoder: (forward: Double, backward: Double, weightGradient: Double)
        while true {
            let bench = try DecoderBench(backend: backend, shape: shape, rows: chunk, steps: steps)
            decoder = (try timer.time(bench.forward), try timer.time(bench.backward), try timer.time(bench.weightGradient))
            let larger = min(shape.vocabulary, chunk * 8, 16_384)
            guard decoder.forward < 2e-3, larger > chunk, !timer.isOverBudget else { break }
            chunk = larger
        }

        let transfer = try TransferBench(backend: backend, shape: shape)
        let upload = try timer.time(transfer.upload), download = try timer.time(transfer.download)
        let perStep = 1 / Double(steps), perRowStep = 1 / Double(steps * chunk)
        return DeviceCosts(
            layerForward: hiddenLayer.forward * perStep, layerBackward: hiddenLayer.backward * perStep,
            layerWeightGradient: hiddenLayer.weightGradient * perStep,
            firstLayerForward: firstLayer.forward * perStep, firstLayerBackward: firstLayer.backward * perStep,
            firstLayerWeightGradient: firstLayer.weightGradient * perStep,
            decoderForwardPerRow: decoder.forward * perRowStep, decoderBackwardPerRow: decoder.backward * perRowStep,
            decoderWeightGradientPerRow: decoder.weightGradient * perRowStep,
            hostBandwidth: Double(shape.activationBytes) / max((upload + download) / 2, 1e-9))
    }
}

/// Warm-up, then the median of up to 5 timed runs while the budget lasts; each run is bracketed
/// by `synchronize()` so that it counts the device's work, not just the enqueueing.
private struct SectionTimer {
    let backend: Backend
    let deadline: UInt64

    init(backend: Backend, budgetSeconds: Double) {
        self.backend = backend
        deadline = WallClock.now + UInt64(max(0, budgetSeconds) * 1e9)
    }

    var isOverBudget: Bool { WallClock.now >= deadline }

    func time(_ body: () throws -> Void) throws -> Double {
        try backend.synchronize()
        let remaining = Double(deadline - min(deadline, WallClock.now)) * 1e-9
        return try WallClock.timings(runs: 5, budgetSeconds: remaining) {
            try body()
            try backend.synchronize()
        }.median
    }
}

/// One `LSTMLayer` over a window of T' steps of B rows, through the passes the runtime calls:
/// `forward(steps:…)` (the input product hoisted over the run, then each step's recurrent product
/// and cell), `backward(steps:…)` (each step's cell backward and ∂h product, the run's ∂x
/// product) and `finishBackward` (the weight and bias gradients).
private struct LayerBench {
    let layer: LSTMLayer
    let steps: Int
    let input, h0, c0, outputGradient, inputGradient: Tensor

    init(backend: Backend, shape: WorkloadShape, inputWidth: Int, steps: Int) throws {
        self.steps = steps
        let rows = steps * shape.batch
        layer = try LSTMLayer(index: 0, inputSize: inputWidth, hiddenSize: shape.hidden, backend: backend)
        for parameter in layer.parameters {
            try backend.fill(parameter.value, with: 0.01)
            try backend.fill(parameter.gradient, with: 0)
        }
        try layer.prepare(steps: steps, batch: shape.batch)
        input = try backend.makeTensor([rows, inputWidth], filledWith: 0.01)              // (T'·B×In)
        h0 = try backend.makeTensor([shape.batch, shape.hidden], filledWith: 0)           // (B×H)
        c0 = try backend.makeTensor([shape.batch, shape.hidden], filledWith: 0)           // (B×H)
        outputGradient = try backend.makeTensor([rows, shape.hidden], filledWith: 0.01)   // (T'·B×H)
        inputGradient = try backend.makeTensor([rows, inputWidth], filledWith: 0)         // (T'·B×In)
    }

    func forward() throws {
        try layer.forward(steps: 0..<steps, input: input, initialHidden: h0, initialCell: c0)
    }

    func backward() throws {
        try layer.backward(steps: 0..<steps, windowSteps: steps, initialCell: c0, outputGradient: outputGradient,
                           inputGradient: inputGradient)
    }

    func weightGradient() throws {
        try layer.finishBackward(windowSteps: steps, input: input, initialHidden: h0)
    }
}

/// The embedding lookup of T'·B tokens and its gradient, on a table of at most 4 096 rows (the
/// lookup's cost does not depend on V).
private struct EmbeddingBench {
    let backend: Backend
    let table, tableGradient, output: Tensor
    let indices: IndexTensor

    init(backend: Backend, shape: WorkloadShape, steps: Int) throws {
        self.backend = backend
        let (rows, tableRows) = (steps * shape.batch, min(shape.vocabulary, 4096))
        table = try backend.makeTensor([tableRows, shape.embedding], filledWith: 0.01)          // (V'×E)
        tableGradient = try backend.makeTensor([tableRows, shape.embedding], filledWith: 0)     // (V'×E)
        output = try backend.makeTensor([rows, shape.embedding], filledWith: 0)                 // (T'·B×E)
        indices = try backend.makeIndices((0..<rows).map { Int32(($0 * 7919) % tableRows) })
    }

    func forward() throws { try backend.embeddingForward(table: table, indices: indices, output: output) }
    func backward() throws { try backend.embeddingBackward(outputGradient: output, indices: indices, tableGradient: tableGradient) }
}

/// The decoder and softmax on `rows` vocabulary rows for T'·B positions.
private struct DecoderBench {
    let backend: Backend
    let top, weight, bias, logits, losses, topGradient, vocabularyWeightGradient, biasGradient: Tensor
    let targets: IndexTensor
    let scale: Float

    init(backend: Backend, shape: WorkloadShape, rows vocabularyRows: Int, steps: Int) throws {
        self.backend = backend
        let positions = steps * shape.batch
        top = try backend.makeTensor([positions, shape.hidden], filledWith: 0.01)             // (T'·B×H)
        weight = try backend.makeTensor([vocabularyRows, shape.hidden], filledWith: 0.01)     // (R×H)
        bias = try backend.makeTensor([vocabularyRows], filledWith: 0)                        // (R)
        logits = try backend.makeTensor([positions, vocabularyRows], filledWith: 0)           // (T'·B×R)
        losses = try backend.makeTensor([positions], filledWith: 0)                           // (T'·B)
        topGradient = try backend.makeTensor([positions, shape.hidden], filledWith: 0)        // (T'·B×H)
        vocabularyWeightGradient = try backend.makeTensor([vocabularyRows, shape.hidden], filledWith: 0)
        biasGradient = try backend.makeTensor([vocabularyRows], filledWith: 0)
        targets = try backend.makeIndices((0..<positions).map { Int32(($0 * 7919) % vocabularyRows) })
        scale = 1 / Float(positions)
    }

    func forward() throws {
        // As `LinearLayer.forward`: the bias broadcast, the product added onto it.
        try backend.broadcastRows(bias, into: logits)
        try backend.gemm(transposeA: false, transposeB: true, alpha: 1, top, weight, beta: 1, logits)
        try backend.softmaxCrossEntropy(logits: logits, targets: targets, ignoreIndex: -1, losses: losses,
                                        gradient: logits, gradientScale: scale)
    }

    func backward() throws {
        try backend.gemm(transposeA: false, transposeB: false, alpha: 1, logits, weight, beta: 0, topGradient)
    }

    func weightGradient() throws {
        try backend.gemm(transposeA: true, transposeB: false, alpha: 1, logits, top, beta: 1, vocabularyWeightGradient)
        try backend.sumRows(logits, into: biasGradient, beta: 1)
    }
}

/// Upload and download of one B×H activation.
private struct TransferBench {
    let backend: Backend
    let tensor: Tensor
    let values: [Float]

    init(backend: Backend, shape: WorkloadShape) throws {
        self.backend = backend
        tensor = try backend.makeTensor([shape.batch, shape.hidden], filledWith: 0)
        values = Array(repeating: 0.5, count: shape.batch * shape.hidden)
    }

    func upload() throws { try backend.upload(values, to: tensor) }
    func download() throws { _ = try backend.download(tensor) }
}

/// A backend that computes nothing: its operations go through the checked front every backend
/// has (`KernelBackend+Checks`: shapes, types, indices, ownership), then its kernels take its
/// `TimingDevice` for what the device's cost table says (`TimingCosts`): compute and copies are
/// enqueued, as on an OpenCL device, while uploads, downloads, index uploads, `sumOfSquares` and
/// `synchronize` wait for the queue, as they do there; host staging between devices (`stage`,
/// `uploadStaged`) is non-blocking as OpenCL's (`TimingBackend+Staging`).
///
/// Tensors have shapes and no data: a download returns zeros, `sumOfSquares` 0. So a model run
/// on timing devices takes the time its costs say, whatever it would compute; its losses are
/// meaningless (a split softmax's come out −∞), which is why `PlanValidation` runs the model's
/// step directly, never a `Trainer` (whose non-finite-loss guard would stop it).
/// Like any backend, one object is driven by one thread at a time.
public final class TimingBackend: KernelBackend {
    public let device: TimingDevice
    public let name: String

    /// A backend (a queue) of `device`; several may share one device.
    public init(device: TimingDevice, queue: Int = 0) {
        self.device = device
        name = queue == 0 ? "timing:\(device.name)" : "timing:\(device.name)#\(queue)"
    }

    private var costs: TimingCosts { device.costs }

    /// Tensors of this device, whichever of its queues made them.
    public func owns(_ tensor: Tensor) -> Bool { (tensor.storage as? TimingStorage)?.device === device }

    // MARK: Memory

    public func makeTensorKernel(shape: [Int], elementType: ElementType, elementCount: Int) throws -> Tensor {
        Tensor(shape: shape, elementType: elementType, storage: TimingStorage(elementCapacity: elementCount, device: device))
    }

    public func uploadKernel(_ values: [Float], to tensor: Tensor) throws {
        device.blocking(costs.hostTransfer(bytes: 4 * values.count), "upload \(4 * values.count) bytes")
    }

    public func downloadKernel(_ tensor: Tensor) throws -> [Float] {
        device.blocking(costs.hostTransfer(bytes: 4 * tensor.count), "download \(4 * tensor.count) bytes")
        return [Float](repeating: 0, count: tensor.count)
    }

    public func makeIndices(_ values: [Int32]) throws -> IndexTensor {
        let tensor = try makeTensor(shape: [values.count], elementType: .int32)
        device.blocking(costs.hostTransfer(bytes: 4 * values.count), "upload \(4 * values.count) bytes of indices")
        return IndexTensor(values: values, tensor: tensor)
    }

    /// In place, as OpenCL's blocking write: a host transfer after the queue's work, no device copy
    /// (the protocol's default would make a fresh tensor and copy it, charging a copy per unit).
    public func uploadIndices(_ values: [Int32], into indices: IndexTensor) throws {
        try OperationChecks.indexCount(values, into: indices, "uploadIndices")
        guard owns(indices.tensor) else {
            throw CLTrainError.wrongDevice(operation: "uploadIndices", tensorLocation: indices.tensor.location, backend: name)
        }
        device.blocking(costs.hostTransfer(bytes: 4 * values.count), "upload \(4 * values.count) bytes of indices")
        indices.replaceValues(values)
    }

    public func synchronize() throws { device.wait() }

    // MARK: Linear algebra

    public func gemmKernel(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor, beta: Float, _ c: Tensor,
                           m: Int, n: Int, k: Int) throws {
        device.enqueue(costs.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k), "gemm \(m)×\(n)×\(k)")
    }

    public func addBiasKernel(_ bias: Tensor, to x: Tensor, rows: Int, columns: Int) throws {}
    public func broadcastRowsKernel(_ row: Tensor, into x: Tensor, rows: Int, columns: Int) throws {}
    public func sumRowsKernel(_ x: Tensor, into out: Tensor, beta: Float, rows: Int, columns: Int) throws {}

    // MARK: Softmax and cross-entropy (their cost is in the decoder's products)

    public func softmaxKernel(_ x: Tensor, into y: Tensor, rows: Int, columns: Int) throws {}
    public func softmaxCrossEntropyKernel(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32, losses: Tensor,
                                          gradient: Tensor?, gradientScale: Float, rows: Int, columns: Int) throws {}
    public func softmaxStatisticsKernel(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                                        targetLogits: Tensor, rows: Int, columns: Int) throws {}
    public func softmaxCrossEntropyGradientKernel(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                                  gradientScale: Float, gradient: Tensor, rows: Int, columns: Int) throws {}

    // MARK: LSTM cell

    public func lstmCellForwardKernel(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor,
                                      batch: Int, hiddenSize: Int) throws {
        device.enqueue(costs.cellForward(rows: batch), "lstm cell forward")
    }

    public func lstmCellBackwardKernel(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hiddenGradient: Tensor, cellGradient: Tensor?,
                                       gatesGradient: Tensor, cellPreviousGradient: Tensor, batch: Int, hiddenSize: Int) throws {
        device.enqueue(costs.cellBackward(rows: batch), "lstm cell backward")
    }

    // MARK: Embedding, optimizer and elementwise (free but for the copy)

    public func embeddingForwardKernel(table: Tensor, indices: IndexTensor, output: Tensor, width: Int) throws {}
    public func embeddingBackwardKernel(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor, width: Int) throws {}
    public func sgdUpdateKernel(parameter: Tensor, gradient: Tensor, learningRate: Float) throws {}
    public func adamUpdateKernel(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                                 learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
                                 biasCorrections: (first: Float, second: Float)) throws {}

    public func sumOfSquaresKernel(_ tensors: [Tensor]) throws -> Double {
        device.wait()
        return 0
    }

    public func fillKernel(_ tensor: Tensor, with value: Float) throws {}

    public func copyKernel(_ source: Tensor, to destination: Tensor) throws {
        device.enqueue(costs.copy(bytes: 4 * source.count), "copy \(4 * source.count) bytes")
    }

    public func scaleKernel(_ tensor: Tensor, by factor: Float) throws {}
    public func axpyKernel(alpha: Float, _ x: Tensor, _ y: Tensor) throws {}
    public func multiplyKernel(_ x: Tensor, by y: Tensor) throws {}
    public func dropoutMaskKernel(_ mask: Tensor, keepProbability: Float, scale: Float, generatorState: UInt64) throws {}
}

extension TimingBackend: TraceableBackend {
    /// One track per timing device, whatever `track` says of the queue: the device runs its
    /// queues' work one after another, so that track is its busy time (`TimingDevice.busySeconds`).
    public func trace(into recorder: TraceRecorder?, track: TraceTrack) throws {
        device.trace(into: recorder, track: TraceTrack(process: "device timing:\(device.name)", thread: "queues, in turn"))
    }
}

/// A timing tensor's storage: a size and an owner, no data.
final class TimingStorage: TensorStorage {
    let elementCapacity: Int
    let device: TimingDevice

    init(elementCapacity: Int, device: TimingDevice) {
        self.elementCapacity = elementCapacity
        self.device = device
    }

    var location: String { "timing device \(device.name)" }
}

import CLTrainKernels
import Foundation
import Logging

/// The backend for one OpenCL device, with a command queue of its own.
///
/// Several backends may share one device (and its `OpenCLContext`): each has its own queue and its
/// own kernel objects, so host workers can drive them from different threads. Tensors allocated
/// by any backend of the context may be used by the others; ordering across queues is the
/// caller's business (call `synchronize()` on the producer before the consumer reads).
/// The methods here and in `OpenCLBackend+…` are the unchecked kernels of `KernelBackend`; the
/// operations' checks are the front every backend shares (`KernelBackend+Checks`).
public final class OpenCLBackend: KernelBackend {
    public let context: OpenCLContext
    public let queue: OpenCLQueue
    /// The parameters in use: `tiledGemm` is nil when the tiled kernel fell back to the direct one.
    package let parameters: KernelParameters
    let kernels: Kernels
    /// The tiled gemm's kernels; nil: the direct kernel computes every gemm.
    var tiledGemm: TiledGemmKernels?
    /// How gemm chooses between the tiled and the direct kernel.
    public let gemmDispatch: GemmDispatch
    /// Per-work-group partial results (sumOfSquares, the softmax passes), grown on demand. One
    /// buffer serves every operation: the queue runs in order, and a buffer replaced while a
    /// kernel still reads it stays alive until that kernel is done (OpenCL retains it).
    private var scratchBuffer: OpenCLBuffer?
    /// Pinned host buffers for host staging (`OpenCLBackend+Staging`), reused per size.
    let staging = HostStagingPool()
    /// Set while traced (`trace(into:track:)`): each kernel launched while its recorder records
    /// asks for a profiling event (`OpenCLBackend+Trace`).
    var queueTrace: QueueTrace?

    public var name: String { "opencl:\(context.device.index) (\(context.device.name))" }
    public var device: OpenCLDeviceDescription { context.device }
    /// The tiled gemm parameters in use; nil when gemm uses the direct kernel only.
    public var tiledGemmParameters: TiledGemmParameters? { tiledGemm?.parameters }

    /// A backend with the parameters chosen for the device: the tuning file's, else the built-in
    /// table's. Tiled gemm parameters that are illegal on the device or fail to build fall back
    /// to the generic ones, then to the direct kernel, each with a log line.
    public convenience init(context: OpenCLContext) throws {
        let (parameters, source) = KernelParameters.forDevice(context.device)
        try self.init(context: context, parameters: parameters, source: "\(source)", strict: false, dispatch: .automatic)
    }

    /// A backend whose gemm uses exactly `tiledGemm` (nil: the direct kernel only), for the tuner
    /// and tests. Illegal parameters or a failed build throw instead of falling back.
    /// - Parameters:
    ///   - tiledGemm: the tiled kernel's parameters.
    ///   - dispatch: how gemm chooses between the tiled and the direct kernel.
    public convenience init(context: OpenCLContext, tiledGemm: TiledGemmParameters?, dispatch: GemmDispatch) throws {
        var parameters = KernelParameters.forDevice(context.device).parameters
        parameters.tiledGemm = tiledGemm
        try self.init(context: context, parameters: parameters, source: "explicit", strict: true, dispatch: dispatch)
    }

    init(context: OpenCLContext, parameters: KernelParameters, source: String, strict: Bool, dispatch: GemmDispatch) throws {
        self.context = context
        self.queue = try context.makeQueue()
        self.kernels = try Kernels(context: context, parameters: parameters)
        self.tiledGemm = try TiledGemmKernels.make(context: context, requested: parameters.tiledGemm, source: source,
                                                    strict: strict)
        var effective = parameters
        effective.tiledGemm = tiledGemm?.parameters
        self.parameters = effective
        self.gemmDispatch = dispatch
    }

    /// Every kernel this backend launches, created from programs built once per device.
    struct Kernels {
        let gemmDirect: [OpenCLKernel]   // indexed by transposeA * 2 + transposeB: nn, nt, tn, tt
        let softmaxPartials, softmaxWrite, crossEntropyWrite, softmaxStatistics, softmaxCrossEntropyGradient: OpenCLKernel
        let lstmCellForward, lstmCellBackward: OpenCLKernel
        let fill, scale, axpy, multiply, dropoutMask, adam, addBias, broadcastRows, sumRows, sumSquares: OpenCLKernel
        let embeddingForward, embeddingBackward: OpenCLKernel

        init(context: OpenCLContext, parameters: KernelParameters) throws {
            func program(_ family: KernelFamily, _ kernels: [String]) throws -> OpenCLProgram {
                try context.program(name: family.fileName, source: family.source,
                                     options: parameters.buildOptions(for: family), kernels: kernels)
            }
            let matmul = try program(.matmul, ["nn", "nt", "tn", "tt"].map { "gemm_direct_\($0)" })
            let softmax = try program(.softmax, ["softmax_partials", "softmax_write", "cross_entropy_write",
                                                 "softmax_statistics", "softmax_cross_entropy_gradient"])
            let lstm = try program(.lstm, ["lstm_cell_forward", "lstm_cell_backward"])
            let elementwise = try program(.elementwise, ["fill", "scale", "axpy", "multiply", "dropout_mask", "adam_update",
                                                         "add_bias", "broadcast_rows", "sum_rows", "sum_squares", "embedding_forward",
                                                         "embedding_backward"])
            gemmDirect = try ["nn", "nt", "tn", "tt"].map { try matmul.makeKernel("gemm_direct_\($0)") }
            softmaxPartials = try softmax.makeKernel("softmax_partials")
            softmaxWrite = try softmax.makeKernel("softmax_write")
            crossEntropyWrite = try softmax.makeKernel("cross_entropy_write")
            softmaxStatistics = try softmax.makeKernel("softmax_statistics")
            softmaxCrossEntropyGradient = try softmax.makeKernel("softmax_cross_entropy_gradient")
            lstmCellForward = try lstm.makeKernel("lstm_cell_forward")
            lstmCellBackward = try lstm.makeKernel("lstm_cell_backward")
            fill = try elementwise.makeKernel("fill")
            scale = try elementwise.makeKernel("scale")
            axpy = try elementwise.makeKernel("axpy")
            multiply = try elementwise.makeKernel("multiply")
            dropoutMask = try elementwise.makeKernel("dropout_mask")
            adam = try elementwise.makeKernel("adam_update")
            addBias = try elementwise.makeKernel("add_bias")
            broadcastRows = try elementwise.makeKernel("broadcast_rows")
            sumRows = try elementwise.makeKernel("sum_rows")
            sumSquares = try elementwise.makeKernel("sum_squares")
            embeddingForward = try elementwise.makeKernel("embedding_forward")
            embeddingBackward = try elementwise.makeKernel("embedding_backward")

            // Kernels compiled for a fixed work-group shape, and those launched with the reduction
            // size (launch1D), must fit this device.
            let gemmGroup = parameters.gemmGroup.n * parameters.gemmGroup.m
            let fixed = gemmDirect.map { ($0, gemmGroup) }
                + [softmaxPartials, softmaxWrite, crossEntropyWrite, softmaxStatistics, sumSquares, fill, scale, axpy,
                   multiply, dropoutMask, adam, sumRows]
                    .map { ($0, parameters.reductionGroupSize) }
            for (kernel, needed) in fixed {
                let limit = try kernel.maxWorkGroupSize()
                guard needed <= limit else {
                    throw CLTrainError.invalidArgument(
                        "\(kernel.name) needs work-groups of \(needed) on \(context.device.name), which allows \(limit); "
                        + "add smaller parameters for this device to KernelParameters")
                }
            }
        }
    }

    // MARK: Operand access

    /// Any buffer of this backend's context: every backend of one device shares it.
    public func owns(_ tensor: Tensor) -> Bool {
        (tensor.storage as? OpenCLBuffer)?.context === context
    }

    /// The device buffer behind `tensor`, if it lives in this backend's context (which the
    /// checked front has already made sure of).
    package func buffer(_ tensor: Tensor, _ operation: String) throws -> OpenCLBuffer {
        guard let buffer = tensor.storage as? OpenCLBuffer, buffer.context === context else {
            throw CLTrainError.wrongDevice(operation: operation, tensorLocation: tensor.location, backend: name)
        }
        return buffer
    }

    /// A tensor as the pair of kernel arguments (buffer, element offset) every kernel takes.
    func operand(_ tensor: Tensor, _ operation: String) throws -> [KernelArgument] {
        try OperationChecks.fitsKernelInt(tensor.offset + tensor.count, operation: operation)
        return [.buffer(try buffer(tensor, operation)), .int(Int32(tensor.offset))]
    }

    func launch(_ kernel: OpenCLKernel, global: [Int], local: [Int], _ arguments: [KernelArgument]) throws {
        try kernel.setArguments(arguments)
        if let queueTrace, queueTrace.recorder.isRecording {
            if let event = try queue.launch(kernel, global: global, local: local, wantEvent: true) {
                queueTrace.add(kernel.name, event, global: global)
            }
        } else {
            try queue.launch(kernel, global: global, local: local)
        }
    }

    /// A 2-D launch with one work-item per element of a `columns` × `rows` grid, in the groups
    /// `LocalWorkSize` chooses for this kernel on this device.
    func launch2D(_ kernel: OpenCLKernel, columns: Int, rows: Int, _ arguments: [KernelArgument]) throws {
        let local = LocalWorkSize.twoDimensional(columns: columns, rows: rows, maxItems: kernel.workGroupLimit,
                                                 preferredMultiple: kernel.preferredWorkGroupMultiple)
        try launch(kernel, global: [columns, rows], local: local, arguments)
    }

    /// The scratch buffer, with room for at least `floats` elements.
    func scratch(floats: Int) throws -> OpenCLBuffer {
        if let existing = scratchBuffer, existing.elementCapacity >= floats { return existing }
        let buffer = try context.makeBuffer(byteCount: max(floats, 1024) * 4)
        scratchBuffer = buffer
        return buffer
    }

    // MARK: Memory

    public func makeTensorKernel(shape: [Int], elementType: ElementType, elementCount count: Int) throws -> Tensor {
        try OperationChecks.fitsKernelInt(count, operation: "makeTensor")
        return Tensor(shape: shape, elementType: elementType, storage: try context.makeBuffer(byteCount: count * 4))
    }

    public func uploadKernel(_ values: [Float], to tensor: Tensor) throws {
        let destination = try buffer(tensor, "upload")
        try values.withUnsafeBytes { try queue.write($0, to: destination, byteOffset: tensor.offset * 4) }
    }

    public func downloadKernel(_ tensor: Tensor) throws -> [Float] {
        let source = try buffer(tensor, "download")
        var values = [Float](repeating: 0, count: tensor.count)
        try values.withUnsafeMutableBytes { try queue.read(source, byteOffset: tensor.offset * 4, into: $0) }
        return values
    }

    public func makeIndices(_ values: [Int32]) throws -> IndexTensor {
        let tensor = try makeTensor(shape: [values.count], elementType: .int32)
        let destination = try buffer(tensor, "makeIndices")
        try values.withUnsafeBytes { try queue.write($0, to: destination, byteOffset: 0) }
        return IndexTensor(values: values, tensor: tensor)
    }

    public func synchronize() throws {
        try queue.finish()
    }

    // MARK: Elementwise

    /// A 1-D launch over `count` elements, in groups of the reduction size (a fine size for any device).
    func launch1D(_ kernel: OpenCLKernel, count: Int, _ arguments: [KernelArgument]) throws {
        try launch(kernel, global: [count], local: [min(parameters.reductionGroupSize, max(count, 1))], arguments)
    }

    public func fillKernel(_ tensor: Tensor, with value: Float) throws {
        try launch1D(kernels.fill, count: tensor.count, [.int(Int32(tensor.count))] + operand(tensor, "fill") + [.float(value)])
    }

    public func scaleKernel(_ tensor: Tensor, by factor: Float) throws {
        try launch1D(kernels.scale, count: tensor.count, [.int(Int32(tensor.count))] + operand(tensor, "scale") + [.float(factor)])
    }

    public func axpyKernel(alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        try launch1D(kernels.axpy, count: y.count,
                     [.int(Int32(y.count)), .float(alpha)] + operand(x, "axpy") + operand(y, "axpy"))
    }

    public func sgdUpdateKernel(parameter: Tensor, gradient: Tensor, learningRate: Float) throws {
        try launch1D(kernels.axpy, count: parameter.count,
                     [.int(Int32(parameter.count)), .float(-learningRate)]
                     + operand(gradient, "sgdUpdate") + operand(parameter, "sgdUpdate"))
    }

    public func multiplyKernel(_ x: Tensor, by y: Tensor) throws {
        try launch1D(kernels.multiply, count: x.count,
                     [.int(Int32(x.count))] + operand(x, "multiply") + operand(y, "multiply"))
    }

    public func dropoutMaskKernel(_ mask: Tensor, keepProbability: Float, scale: Float, generatorState: UInt64) throws {
        try launch1D(kernels.dropoutMask, count: mask.count,
                     [.int(Int32(mask.count))] + operand(mask, "dropoutMask")
                     + [.ulong(generatorState), .float(keepProbability), .float(scale)])
    }

    public func adamUpdateKernel(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                                 learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
                                 biasCorrections: (first: Float, second: Float)) throws {
        let op = "adamUpdate"
        let (correction1, correction2) = biasCorrections
        try launch1D(kernels.adam, count: parameter.count,
                     [.int(Int32(parameter.count))] + operand(parameter, op) + operand(gradient, op)
                     + operand(firstMoment, op) + operand(secondMoment, op)
                     + [.float(learningRate), .float(beta1), .float(beta2), .float(epsilon),
                        .float(correction1), .float(correction2)])
    }

    public func copyKernel(_ source: Tensor, to destination: Tensor) throws {
        try queue.copy(buffer(source, "copy"), byteOffset: source.offset * 4,
                       to: buffer(destination, "copy"), destinationByteOffset: destination.offset * 4,
                       byteCount: source.count * 4)
    }

    public func sumOfSquaresKernel(_ tensors: [Tensor]) throws -> Double {
        let groupSize = parameters.reductionGroupSize
        // Enough groups to fill the device, few enough that the host sums little.
        let groupsPerTensor = tensors.map { max(1, min(($0.count + groupSize - 1) / groupSize, 4 * context.device.computeUnits, 1024)) }
        let total = groupsPerTensor.reduce(0, +)
        let partials = try scratch(floats: total)
        var offset = 0
        for (tensor, groups) in zip(tensors, groupsPerTensor) {
            try launch(kernels.sumSquares, global: [groups * groupSize], local: [groupSize],
                       [.int(Int32(tensor.count))] + operand(tensor, "sumOfSquares") + [.buffer(partials), .int(Int32(offset))])
            offset += groups
        }
        var sums = [Float](repeating: 0, count: total)
        try sums.withUnsafeMutableBytes { try queue.read(partials, byteOffset: 0, into: $0) }
        return sums.reduce(0.0) { $0 + Double($1) }
    }
}

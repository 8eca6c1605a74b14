/// Data parallelism: this process is one of N replicas of the model (one per rank of a
/// `Collective`), each training its share of every global batch through an inner executor
/// (sequential or wavefront, over its own devices), as PyTorch's DDP wraps a module.
///
/// A window of the global batch B goes in; rank r runs sequences r·B/N ..< (r+1)·B/N of it
/// (`BatchShard`; their dropout masks are drawn by global row, `TokenWindow.sequences`). After
/// the backward, the gradients — each the gradient of this rank's mean loss — are scaled by 1/N
/// and summed over the ranks in buckets (`GradientBuckets`), so every rank holds the gradient of
/// the mean over all B·T targets, as one process at batch B computes it (up to the order of the
/// sums); the window's loss is summed too. Clipping and the update then run on every rank on
/// identical gradients, and the replicas stay equal.
///
/// Each bucket lives in host memory its backend makes (`Backend.makeCollectiveBuffer`): on an
/// OpenCL device pinned memory (mapped CL_MEM_ALLOC_HOST_PTR) that the device reads the gradients
/// into, MPI sums in place and the device reads the sums back from, with no pageable copy between;
/// on the CPU plain memory its backend copies into and out of directly.
///
/// With an inner executor that reports its final gradients (`ReportsFinalGradients`: the
/// sequential one per layer, the wavefront per finished worker), each bucket's allreduce starts as
/// soon as its last parameter is final (and the buckets before it have started) and runs while
/// backward goes on (non-blocking); otherwise all start after the backward. Either way MPI is
/// called only on the thread that called `run` (MPI_THREAD_FUNNELED).
public final class DataParallelExecutor: Executor {
    public let inner: Executor
    public let collective: Collective
    private let buckets: GradientBuckets
    private var started: [PendingCollective?]
    /// Parameters of each bucket still to become final in the current backward.
    private var outstanding: [Int]
    /// The first bucket not started yet in the current backward.
    private var nextStart = 0
    private var firstStart: UInt64?

    public var model: LanguageModel { inner.model }
    public var utilization: PipelineUtilization { inner.utilization }
    /// This rank's own tasks and transfers (the allreduce is not traced).
    public func trace(into recorder: TraceRecorder?) throws { try inner.trace(into: recorder) }
    /// The last training step's allreduce: time waited after the backward and the overlap.
    public private(set) var lastAllreduce = AllreduceTiming()
    /// Called after every window (training or evaluation) has been summed over the ranks: a
    /// heartbeat for a watchdog that stops a job whose ranks no longer meet.
    public var onWindowDone: (() -> Void)?

    /// - Parameters:
    ///   - bucketFloats: floats per allreduce bucket (DDP's 25 MB default is about 6.5 M).
    public init(inner: Executor, collective: Collective, bucketFloats: Int = GradientBuckets.defaultCapacity) throws {
        guard bucketFloats >= 1 else { throw CLTrainError.invalidArgument("allreduce buckets need at least one float, not \(bucketFloats)") }
        self.inner = inner
        self.collective = collective
        buckets = try GradientBuckets(inner.model.parameters, capacity: bucketFloats)
        started = Array(repeating: nil, count: buckets.buckets.count)
        outstanding = buckets.buckets.map(\.parameters.count)
        if let reporting = inner as? ReportsFinalGradients {
            reporting.onGradientsFinal = { [unowned self] parameters in try self.gradientsFinal(parameters) }
        }
    }

    /// Where each allreduce bucket is staged, in bucket order: pinned host memory for a bucket
    /// whose gradients are mostly on an OpenCL device, pageable memory on the CPU.
    public var bucketMemory: [CollectiveBuffer.Memory] { buckets.memory }

    /// The sequences of a global batch of `batch` that this rank runs.
    public func shard(ofBatch batch: Int) throws -> BatchShard {
        try BatchShard(globalBatch: batch, ranks: collective.size, rank: collective.rank)
    }

    public func run(_ window: TokenWindow, training: Bool) throws -> Double {
        let local = try window.sequences(shard(ofBatch: window.batch).sequences)
        if training {
            for b in started.indices { started[b] = nil }
            outstanding = buckets.buckets.map(\.parameters.count)
            nextStart = 0
            firstStart = nil
        }
        let loss = try inner.run(local, training: training)
        if training { try finishAllreduce() }
        var sum = [loss]
        try collective.sum(&sum)
        onWindowDone?()
        return sum[0]
    }

    /// Every rank's weights ← rank 0's (so the replicas start equal whatever each one drew or read).
    public func broadcastWeights() throws {
        for p in model.parameters {
            var values = try p.backend.download(p.value)
            try collective.broadcast(&values, from: 0)
            try p.backend.upload(values, to: p.value)
        }
    }

    /// The carried (h, c) of the whole global batch, per layer (B×H each, sequence order): every
    /// rank's rows, gathered on every rank (a sum over ranks of zero-padded rows: exact). For
    /// checkpoints, which hold the global state so that any number of ranks can resume them.
    public func gatherCarriedState(globalBatch: Int) throws -> [(hidden: [Float], cell: [Float])] {
        let shard = try shard(ofBatch: globalBatch)
        let width = model.configuration.hiddenSize
        return try model.carriedState.indices.map { l in
            let state = model.carriedState[l], backend = model.lstm[l].backend
            guard state.hidden.shape[0] == shard.localBatch else {
                throw CLTrainError.invalidArgument("the carried state holds \(state.hidden.shape[0]) sequences, this rank's share is \(shard.localBatch)")
            }
            func gather(_ tensor: Tensor) throws -> [Float] {
                let buffer = try backend.makeCollectiveBuffer(count: globalBatch * width)
                try backend.read(tensor, into: buffer, at: shard.sequences.lowerBound * width)
                try collective.startSum(buffer).wait()
                return Array(buffer.pointer)
            }
            return (try gather(state.hidden), try gather(state.cell))
        }
    }

    // MARK: - The bucketed allreduce

    /// Starts every bucket that is complete and whose predecessors have started: in bucket order
    /// always, because every rank must start the same collectives in the same order, and the
    /// wavefront's workers finish in an order that varies with timing.
    private func gradientsFinal(_ parameters: [Parameter]) throws {
        for p in parameters {
            guard let b = buckets.bucket(of: p) else { continue }
            outstanding[b] -= 1
        }
        while nextStart < started.count && outstanding[nextStart] == 0 {
            try start(nextStart)
            nextStart += 1
        }
        // Lets the library move the buckets already on their way (Open MPI progresses a request
        // only inside MPI calls).
        for case let request? in started { _ = try request.test() }
    }

    private func start(_ b: Int) throws {
        guard started[b] == nil else { return }
        if firstStart == nil { firstStart = WallClock.now }
        try buckets.pack(b, scale: 1 / Float(collective.size))
        started[b] = try collective.startSum(buckets.buckets[b].buffer)
    }

    /// Starts what the backward did not, waits for every bucket in order, and unpacks the sums.
    private func finishAllreduce() throws {
        let backwardEnd = WallClock.now
        let hidden = firstStart.map { Double(backwardEnd - $0) * 1e-9 } ?? 0
        let early = nextStart
        for b in started.indices { try start(b) }
        let waitStart = WallClock.now
        for b in started.indices {
            try started[b]?.wait()
            try buckets.unpack(b)
        }
        let waited = WallClock.seconds(since: waitStart)
        lastAllreduce = AllreduceTiming(waitSeconds: waited, overlappedSeconds: hidden, bucketsStartedEarly: early)
    }
}

/// An executor that can say when parameters' gradients are final during its backward, so that a
/// data-parallel wrapper can send them while the rest of the backward runs. The hook is called on
/// the thread that called `run`, with the parameters just finished.
public protocol ReportsFinalGradients: Executor {
    var onGradientsFinal: (([Parameter]) throws -> Void)? { get set }
}

/// Time a training step's gradient allreduce took: `waitSeconds` spent blocked after the backward
/// (starting what was left, waiting, unpacking), and `overlappedSeconds` from the first bucket's
/// start to the backward's end, when the allreduce ran beside it.
public struct AllreduceTiming: Sendable, Equatable {
    public var waitSeconds: Double = 0
    public var overlappedSeconds: Double = 0
    /// Buckets whose allreduce started while the backward still ran (the rest started after it).
    public var bucketsStartedEarly = 0

    public init(waitSeconds: Double = 0, overlappedSeconds: Double = 0, bucketsStartedEarly: Int = 0) {
        self.waitSeconds = waitSeconds
        self.overlappedSeconds = overlappedSeconds
        self.bucketsStartedEarly = bucketsStartedEarly
    }

    /// The share of the allreduce's span (first bucket started → last bucket done) that overlapped
    /// the backward.
    public var overlapFraction: Double {
        let span = waitSeconds + overlappedSeconds
        return span > 0 ? overlappedSeconds / span : 0
    }
}

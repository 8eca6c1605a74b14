/// The one check that `batch` sequences split into `microBatches` equal groups (`cltrain train
/// --micro-batches`, `cltrain plan --micro-batches`, and every `MicroBatchLayout`).
/// - Throws: `invalidArgument` naming B and M unless M is positive and divides B.
public func checkMicroBatches(_ microBatches: Int, batch: Int) throws {
    guard microBatches > 0, batch % microBatches == 0 else {
        throw CLTrainError.invalidArgument(
            "--micro-batches must be a positive divisor of --batch: a batch of \(batch) sequences cannot be split into \(microBatches)")
    }
}

/// Where a window's rows live on the devices when its B sequences are split into M micro-batches
/// of B' = B/M (GPipe, Huang et al. 2019): micro-batch-major, row m·T·B' + t·B' + b' holds
/// sequence m·B' + b' at step t. So micro-batch m's rows of a run of steps t0..<t1 are contiguous,
/// and each micro-batch is a time-major window of its own. M = 1 is the time-major layout
/// (row t·B + b), with nothing reordered.
///
/// The host reorders inputs and targets into this layout; the carried state keeps sequence order
/// (row b = m·B' + b'), so micro-batch m's state is rows m·B'..<(m+1)·B' of it.
struct MicroBatchLayout: Equatable {
    let steps: Int          // T
    let batch: Int          // B
    let microBatches: Int   // M

    /// - Throws: `invalidArgument` naming B and M unless M is positive and divides B.
    init(steps: Int, batch: Int, microBatches: Int = 1) throws {
        try checkMicroBatches(microBatches, batch: batch)
        self.steps = steps
        self.batch = batch
        self.microBatches = microBatches
    }

    init(_ window: TokenWindow, microBatches: Int = 1) throws {
        try self.init(steps: window.steps, batch: window.batch, microBatches: microBatches)
    }

    /// B': sequences per micro-batch.
    var sequences: Int { batch / microBatches }

    /// Micro-batch m's rows of `steps`.
    func rows(_ m: Int, _ steps: Range<Int>) -> Range<Int> {
        let base = m * self.steps * sequences
        return base + steps.lowerBound * sequences..<base + steps.upperBound * sequences
    }

    /// Micro-batch m's rows of the carried state (B×H, sequence order).
    func stateRows(_ m: Int) -> Range<Int> { m * sequences..<(m + 1) * sequences }

    /// Time-major values (row t·B + b) in this layout.
    func reordered<Element>(_ timeMajor: [Element]) -> [Element] {
        guard microBatches > 1 else { return timeMajor }
        var result: [Element] = []
        result.reserveCapacity(timeMajor.count)
        for m in 0..<microBatches {
            for t in 0..<steps { result += timeMajor[t * batch + m * sequences..<t * batch + (m + 1) * sequences] }
        }
        return result
    }
}

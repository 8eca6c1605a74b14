/// Everything that decides how training runs, saved with each checkpoint so `--resume` continues
/// the same run.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var epochs: Int
    /// B: sequences per batch.
    public var batch: Int
    /// T: steps of truncated backpropagation through time.
    public var bptt: Int
    public var optimizer: OptimizerKind
    public var schedule: LearningRateSchedule
    /// Global gradient-norm clipping threshold; 0 disables clipping.
    public var clipNorm: Float
    /// Seeds weight initialisation and dropout.
    public var seed: UInt64
    /// At most this many windows per epoch (nil: the whole training split), for short runs.
    public var maxStepsPerEpoch: Int?
    /// Also checkpoint every this many steps (nil: only at the end of each epoch).
    public var checkpointEvery: Int?
    /// Score at most this many validation windows after each epoch (nil: the whole split).
    public var maxValidationSteps: Int?
    /// What the gradient is of (nil: `.tokenMean`). Optional, as the fields below, so that a run
    /// that leaves it unset writes the checkpoint it always wrote.
    public var lossReduction: LossReduction?
    /// Initial weights uniform in ±this (nil: the model's 0.08, Sutskever et al. 2014).
    public var initScale: Float?

    public init(epochs: Int, batch: Int, bptt: Int, optimizer: OptimizerKind, schedule: LearningRateSchedule,
                clipNorm: Float = 5, seed: UInt64 = 1, maxStepsPerEpoch: Int? = nil, checkpointEvery: Int? = nil,
                maxValidationSteps: Int? = nil, lossReduction: LossReduction? = nil, initScale: Float? = nil) {
        self.epochs = epochs
        self.batch = batch
        self.bptt = bptt
        self.optimizer = optimizer
        self.schedule = schedule
        self.clipNorm = clipNorm
        self.seed = seed
        self.maxStepsPerEpoch = maxStepsPerEpoch
        self.checkpointEvery = checkpointEvery
        self.maxValidationSteps = maxValidationSteps
        self.lossReduction = lossReduction
        self.initScale = initScale
    }

    /// What differs from `other`, as `cltrain train` options: "--optimizer adam, not sgd".
    public func differences(from other: TrainingOptions) -> [String] {
        func describe<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "none" }
        let fields: [(String, String, String)] = [
            ("--epochs", "\(epochs)", "\(other.epochs)"),
            ("--batch", "\(batch)", "\(other.batch)"),
            ("--bptt", "\(bptt)", "\(other.bptt)"),
            ("--optimizer", optimizer.rawValue, other.optimizer.rawValue),
            ("--lr", "\(schedule.initial)", "\(other.schedule.initial)"),
            ("--lr-halve-after", describe(schedule.halvingStart), describe(other.schedule.halvingStart)),
            ("--lr-halve-every", "\(schedule.halvingInterval)", "\(other.schedule.halvingInterval)"),
            ("--clip", "\(clipNorm)", "\(other.clipNorm)"),
            ("--seed", "\(seed)", "\(other.seed)"),
            ("--steps-per-epoch", describe(maxStepsPerEpoch), describe(other.maxStepsPerEpoch)),
            ("--checkpoint-every", describe(checkpointEvery), describe(other.checkpointEvery)),
            ("--validation-steps", describe(maxValidationSteps), describe(other.maxValidationSteps)),
            ("--lr-decay", "\(schedule.decayFactor ?? 2)", "\(other.schedule.decayFactor ?? 2)"),
            ("--loss-reduction", (lossReduction ?? .tokenMean).rawValue, (other.lossReduction ?? .tokenMean).rawValue),
            ("--init-scale", "\(initScale ?? 0.08)", "\(other.initScale ?? 0.08)"),
        ]
        return fields.filter { $0.1 != $0.2 }.map { "\($0.0) \($0.1), not \($0.2)" }
    }

    /// Every count and rate, named by its `cltrain train` flag, before training builds anything.
    public func validate() throws {
        let dimension = 1...Int(Int32.max), why = "BLAS and the OpenCL kernels take 32-bit dimensions"
        try InputNumber.check(epochs, "--epochs", in: 1...Int.max)
        try InputNumber.check(batch, "--batch", in: dimension, why: "sequences per batch; " + why)
        try InputNumber.check(bptt, "--bptt", in: dimension, why: "steps per window; " + why)
        // A window's T·B rows are one GEMM dimension.
        let rows = try? Checked.product(batch, bptt, what: "--batch × --bptt")
        try InputNumber.check(rows ?? .max, "--batch × --bptt (\(batch) × \(bptt))", in: dimension,
                              why: "the rows of one window are a GEMM dimension; " + why)
        try schedule.validate()
        try InputNumber.check(clipNorm, "--clip", in: .nonNegative, why: "a gradient-norm threshold; 0 turns clipping off")
        if let m = maxStepsPerEpoch { try InputNumber.check(m, "--steps-per-epoch", in: 1...Int.max) }
        if let c = checkpointEvery { try InputNumber.check(c, "--checkpoint-every", in: 1...Int.max) }
        if let v = maxValidationSteps { try InputNumber.check(v, "--validation-steps", in: 1...Int.max) }
        if let initScale { try InputNumber.check(initScale, "--init-scale", in: .positive(atMost: 1),
                                                     why: "weights start uniform in ±this; beyond ±1 every gate starts saturated") }
    }
}

/// Where training stands: the next window to train, and the updates done so far.
public struct TrainingPosition: Codable, Equatable, Sendable {
    /// 0-based epoch of the next window.
    public var epoch: Int = 0
    /// Index of the next window within the epoch.
    public var window: Int = 0
    /// Parameter updates done.
    public var step: Int = 0

    public init(epoch: Int = 0, window: Int = 0, step: Int = 0) {
        self.epoch = epoch
        self.window = window
        self.step = step
    }
}

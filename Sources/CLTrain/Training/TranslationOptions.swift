/// Everything that decides how a translation model trains, saved with each checkpoint so that
/// `--resume` continues the same run (only `epochs` may change).
///
/// Epochs are a decimal: the paper trained 7.5. A run trains ⌈epochs × batches per epoch⌉
/// batches, each epoch's in its own shuffled order (`TranslationBatcher.batches(epoch:)`); the
/// last epoch may be a part of one (7.5: the first half of the eighth epoch's batch order).
public struct TranslationOptions: Codable, Equatable, Sendable {
    /// Passes over the training pairs, fractional allowed (> 0).
    public var epochs: Double
    /// B: sentence pairs per batch.
    public var batch: Int
    public var optimizer: OptimizerKind
    public var schedule: LearningRateSchedule
    /// Global gradient-norm clipping threshold (of the mean over target tokens); 0 disables it.
    public var clipNorm: Float
    /// Seeds weight initialisation, the batch order and dropout.
    public var seed: UInt64
    /// Initial weights uniform in ±this.
    public var initScale: Float
    /// The vocabulary caps the run built its vocabularies with (nil: every training token).
    public var sourceVocabularyCap: Int?
    public var targetVocabularyCap: Int?
    /// At most this many batches per epoch (nil: every batch), for short runs.
    public var maxStepsPerEpoch: Int?
    /// Also checkpoint every this many steps (nil: only at the end of each epoch).
    public var checkpointEvery: Int?
    /// Score at most this many validation batches after each epoch (nil: the whole split).
    public var maxValidationSteps: Int?

    public init(epochs: Double, batch: Int, optimizer: OptimizerKind, schedule: LearningRateSchedule, clipNorm: Float = 5,
                seed: UInt64 = 1, initScale: Float = 0.08, sourceVocabularyCap: Int? = nil, targetVocabularyCap: Int? = nil,
                maxStepsPerEpoch: Int? = nil, checkpointEvery: Int? = nil, maxValidationSteps: Int? = nil) {
        self.epochs = epochs
        self.batch = batch
        self.optimizer = optimizer
        self.schedule = schedule
        self.clipNorm = clipNorm
        self.seed = seed
        self.initScale = initScale
        self.sourceVocabularyCap = sourceVocabularyCap
        self.targetVocabularyCap = targetVocabularyCap
        self.maxStepsPerEpoch = maxStepsPerEpoch
        self.checkpointEvery = checkpointEvery
        self.maxValidationSteps = maxValidationSteps
    }

    /// Every count and rate, named by its `cltrain train --task translate` flag.
    public func validate() throws {
        try InputNumber.check(epochs, "--epochs", in: .positive(atMost: 1e9), why: "passes over the training pairs; a decimal such as 7.5 trains half of the last epoch")
        try InputNumber.check(batch, "--batch", in: 1...Int(Int32.max), why: "sentence pairs per batch; BLAS and the OpenCL kernels take 32-bit dimensions")
        try schedule.validate()
        try InputNumber.check(clipNorm, "--clip", in: .nonNegative, why: "a gradient-norm threshold; 0 turns clipping off")
        try InputNumber.check(initScale, "--init-scale", in: .positive(atMost: 1),
                              why: "weights start uniform in ±this; beyond ±1 every gate starts saturated")
        let vocabulary = (TranslationVocabulary.specials.count + 1)...Int(Int32.max)
        let why = "the four special tokens (<unk> <pad> <bos> <eos>) and at least one word"
        if let s = sourceVocabularyCap { try InputNumber.check(s, "--source-vocab", in: vocabulary, why: why) }
        if let t = targetVocabularyCap { try InputNumber.check(t, "--target-vocab", in: vocabulary, why: why) }
        if let m = maxStepsPerEpoch { try InputNumber.check(m, "--steps-per-epoch", in: 1...Int.max) }
        if let c = checkpointEvery { try InputNumber.check(c, "--checkpoint-every", in: 1...Int.max) }
        if let v = maxValidationSteps { try InputNumber.check(v, "--validation-steps", in: 1...Int.max) }
    }

    /// The run's batches: ⌈epochs × batchesPerEpoch⌉, refused beyond Int (a flag must not trap).
    public func totalSteps(batchesPerEpoch: Int) throws -> Int {
        let steps = (epochs * Double(batchesPerEpoch)).rounded(.up)
        guard let total = Checked.integer(steps), total >= 1 else {
            throw CLTrainError.invalidArgument("--epochs \(epochs) × \(batchesPerEpoch) batches per epoch is no count of steps")
        }
        return total
    }

    /// What differs from `other`, as `cltrain train --task translate` options.
    public func differences(from other: TranslationOptions) -> [String] {
        func describe<T>(_ value: T?) -> String { value.map { "\($0)" } ?? "none" }
        let fields: [(String, String, String)] = [
            ("--epochs", "\(epochs)", "\(other.epochs)"),
            ("--batch", "\(batch)", "\(other.batch)"),
            ("--optimizer", optimizer.rawValue, other.optimizer.rawValue),
            ("--lr", "\(schedule.initial)", "\(other.schedule.initial)"),
            ("--lr-halve-after", describe(schedule.halvingStart), describe(other.schedule.halvingStart)),
            ("--lr-halve-every", "\(schedule.halvingInterval)", "\(other.schedule.halvingInterval)"),
            ("--lr-decay", "\(schedule.decayFactor ?? 2)", "\(other.schedule.decayFactor ?? 2)"),
            ("--clip", "\(clipNorm)", "\(other.clipNorm)"),
            ("--seed", "\(seed)", "\(other.seed)"),
            ("--init-scale", "\(initScale)", "\(other.initScale)"),
            ("--source-vocab", describe(sourceVocabularyCap), describe(other.sourceVocabularyCap)),
            ("--target-vocab", describe(targetVocabularyCap), describe(other.targetVocabularyCap)),
            ("--steps-per-epoch", describe(maxStepsPerEpoch), describe(other.maxStepsPerEpoch)),
            ("--checkpoint-every", describe(checkpointEvery), describe(other.checkpointEvery)),
            ("--validation-steps", describe(maxValidationSteps), describe(other.maxValidationSteps)),
        ]
        return fields.filter { $0.1 != $0.2 }.map { "\($0.0) \($0.1), not \($0.2)" }
    }

    /// One log line: "batch 128, sgd lr 0.7 ÷2 every 0.5 epochs after 5.0, clip 5.0, init ±0.08, epochs 7.5".
    public var summary: String {
        let decay = schedule.halvingStart.map { " ÷\(schedule.decayFactor ?? 2) every \(schedule.halvingInterval) epochs after \($0)" } ?? ""
        return "batch \(batch), \(optimizer.rawValue) lr \(schedule.initial)\(decay), clip \(clipNorm), init ±\(initScale), epochs \(epochs)"
    }
}

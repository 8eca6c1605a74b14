/// Runs batches of sentence pairs through a `TranslationModel` over its placement: forward, loss
/// and, when training, backward. `TranslationExecutor` runs one part after another on the calling
/// thread; `TranslationWavefrontExecutor` pipelines the parts over the devices. Both give one
/// device's losses and gradients. `TranslationTrainer` takes either.
public protocol TranslationBatchExecutor: AnyObject {
    var model: TranslationModel { get }
    /// One batch: the summed cross-entropy over its target tokens that count (`targetOutputs` other
    /// than the ignore index) and how many there are. When `training`, the gradients of the MEAN
    /// over those tokens are ADDED to the parameters' gradients (zero them first).
    func run(_ batch: TranslationBatch, training: Bool) throws -> (lossSum: Double, tokens: Int)
    /// Busy and wall time of the pipelined training steps so far (empty for one not pipelined).
    var utilization: PipelineUtilization { get }
}

extension ExecutionSchedule {
    /// An executor that runs the translation `model` in this schedule.
    public func makeExecutor(for model: TranslationModel) -> TranslationBatchExecutor {
        switch self {
        case .sequential: TranslationExecutor(model: model)
        case .wavefront(let stepsPerRun, let microBatches):
            TranslationWavefrontExecutor(model: model, stepsPerRun: stepsPerRun, microBatches: microBatches)
        }
    }
}

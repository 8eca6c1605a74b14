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
    /// Records every batch's tasks and transfers into `recorder` while it is recording (and the
    /// commands of each backend that can trace its queue); nil stops tracing. As `Executor.trace`.
    func trace(into recorder: TraceRecorder?) throws
}

extension TranslationModel {
    /// Its parts as a trace names the queues: "encoder and decoder layer l" (both stacks' layer l
    /// share a backend), "softmax shard s".
    var traceParts: [(Backend, String)] {
        devices.layers.enumerated().map { ($1, "encoder and decoder layer \($0)") }
            + output.enumerated().map { ($1.backend, "softmax shard \($0)") }
    }
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

/// Runs windows of a language model over its placement: forward, loss and, when training,
/// backward. The model holds the parameters and the carried state; an executor holds the order
/// of the work, the window's buffers and, for a pipeline, its worker threads.
///
/// New ways to run a model are new executors: `DataParallelExecutor` wraps another and sums the
/// replicas' gradients over a `Collective` after (and during) the backward. An encoder–decoder
/// has executors of its own (`TranslationBatchExecutor`): over two stacks, handing the encoder's
/// final (h, c) to the decoder stack's initial state.
public protocol Executor: AnyObject {
    var model: LanguageModel { get }
    /// One window: forward and loss, and when `training` the backward, whose gradients are ADDED
    /// to the parameters' gradient tensors (call `zeroGradients()` first); no dropout otherwise.
    /// Returns the summed cross-entropy over the window's T·B targets. The carried state
    /// advances to the end of the window.
    func run(_ window: TokenWindow, training: Bool) throws -> Double
    /// Busy and wall time of the pipelined training steps so far (empty for one not pipelined).
    var utilization: PipelineUtilization { get }
    /// Records every window's tasks and transfers into `recorder` while it is recording, and the
    /// commands of each backend that can trace its queue (`TraceableBackend`); nil stops tracing.
    /// Without a recorder an executor records nothing (`ExecutionTrace` names the tracks).
    func trace(into recorder: TraceRecorder?) throws
}

extension Executor {
    /// One window of training: the mean cross-entropy over its T·B targets (see `run`).
    public func trainingStep(_ window: TokenWindow) throws -> Double {
        try run(window, training: true) / Double(window.inputs.count)
    }

    /// Summed cross-entropy over the window without gradients or dropout (for validation and
    /// test perplexity); the carried state advances.
    public func evaluate(_ window: TokenWindow) throws -> (sum: Double, count: Int) {
        (try run(window, training: false), window.inputs.count)
    }

    /// Mean cross-entropy per token over the first `maxWindows` windows of `stream` (nil: all),
    /// starting from a zero state.
    public func meanLoss(over stream: TokenStream, maxWindows: Int? = nil) throws -> Double {
        try model.resetState(batch: stream.batch)
        var sum = 0.0, count = 0
        for w in 0..<min(stream.windowCount, maxWindows ?? .max) {
            let (s, n) = try evaluate(stream.window(w))
            sum += s
            count += n
        }
        return sum / Double(max(count, 1))
    }
}

extension ExecutionSchedule {
    /// An executor that runs `model` in this schedule.
    public func makeExecutor(for model: LanguageModel) -> Executor {
        switch self {
        case .sequential: SequentialExecutor(model: model)
        case .wavefront(let stepsPerRun, let microBatches):
            WavefrontExecutor(model: model, stepsPerRun: stepsPerRun, microBatches: microBatches)
        }
    }
}

/// How an executor orders a model's work within one training window (`makeExecutor(for:)`).
public enum ExecutionSchedule: Equatable, Sendable {
    /// Each layer runs all T steps before the next one starts, on the calling thread.
    case sequential
    /// One host worker per LSTM layer, and one per further backend of the decoder shards. A layer
    /// hands each run of `stepsPerRun` time steps to the next layer as soon as it is done, so layer
    /// l works on run k while layer l+1 works on run k−1 (the wavefront of Sutskever et al. 2014
    /// when stepsPerRun is 1); the top layer hands its runs to the decoder shards, which compute
    /// each run's logits, loss and gradients meanwhile, keeping logits for one run (K·B×V_s per
    /// shard) instead of the whole window. The backward pass then runs the layers the same way in
    /// reverse. Every layer needs a backend of its own. See `WavefrontExecutor`; for an
    /// encoder–decoder, `TranslationWavefrontExecutor` (a worker per layer index runs both stacks' layer).
    ///
    /// With `microBatches` M > 1 (GPipe, Huang et al. 2019), the window's B sequences are split
    /// into M groups of B/M (B must be divisible by M), each with its own rows and carried state;
    /// every worker takes the groups' runs one group after another, so layer l can start group
    /// m + 1 while the layers above still work on group m, and the backward of group m can run
    /// while the softmax shards still work on later groups. The losses and gradients equal one
    /// device's; M = 1 is the plain wavefront. `cltrain plan --micro-batches M` simulates this
    /// schedule (`PipelineSimulator`).
    case wavefront(stepsPerRun: Int, microBatches: Int = 1)
}

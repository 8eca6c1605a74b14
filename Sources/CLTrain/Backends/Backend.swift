/// The operations every backend provides: float32, row-major, on tensors the backend owns.
///
/// Dimension letters used in shapes: M, N, K for gemm (C is M×N, the reduction runs over K);
/// R rows and C columns for row-wise operations; B batch, H hidden units (gates are B×4H in the
/// order i, f, g, o, as in PyTorch's nn.LSTM); V vocabulary, E embedding width, N indices.
///
/// Operations are enqueued in order and may run asynchronously; `download`, `sumOfSquares`,
/// `synchronize` and anything else that returns host values wait for the work before them.
/// Each operation checks its operands first and throws `CLTrainError` for bad shapes, foreign
/// tensors, out-of-range indices or an operation the backend declines (`supports(_:)`), before
/// any work is enqueued. A backend that computes implements the unchecked kernels of
/// `KernelBackend`, whose extension is the one checked front over them (`KernelBackend+Checks`);
/// a wrapper (`ProfilingBackend`) implements these methods by calling another backend's.
///
/// A backend object is used by one thread at a time: the pipelined schedule runs one host worker
/// per backend object (each layer's, and each further one among the softmax shards), and several
/// backend objects may drive one device, each with its own queue. Tensors may be shared between
/// backends on the same OpenCL device, which share its context.
public protocol Backend: AnyObject {
    /// Human-readable identity, e.g. "cpu" or "opencl:0 (NVIDIA H100 80GB HBM3)".
    var name: String { get }
    /// Whose tensors this backend can copy on its device (`MemoryDomain`; default: only its own).
    var memoryDomain: MemoryDomain { get }
    /// Whether this backend runs `operation`; one that does not throws
    /// `CLTrainError.unsupportedOperation` naming both, so the caller can fall back to another
    /// backend. Every operation, unless a backend says otherwise.
    func supports(_ operation: BackendOperation) -> Bool

    // MARK: Memory

    /// A new tensor with unspecified contents.
    func makeTensor(shape: [Int], elementType: ElementType) throws -> Tensor
    /// Copies `values` (row-major, `tensor.count` of them) into a float32 tensor.
    func upload(_ values: [Float], to tensor: Tensor) throws
    /// The contents of a float32 tensor, row-major.
    func download(_ tensor: Tensor) throws -> [Float]
    /// Uploads integer indices (token ids, targets) into a new int32 tensor of shape [N].
    func makeIndices(_ values: [Int32]) throws -> IndexTensor
    /// Uploads `values` (N of them) into an index tensor this backend made, in place, so a
    /// training loop reuses one buffer per shape (`Backend+Indices.swift` has a default).
    func uploadIndices(_ values: [Int32], into indices: IndexTensor) throws
    /// Waits until all enqueued work has finished.
    func synchronize() throws
    /// Starts reading a float32 tensor into host memory for a backend of another memory domain and
    /// returns without waiting where the backend can (`Backend+Staging.swift`; default: a download).
    func stage(_ tensor: Tensor) throws -> HostStagedTensor
    /// Writes staged values (`staged.count == tensor.count`) into a float32 tensor; waits on the
    /// host for the staging read, not for this backend's queue where it can (default: an upload).
    func uploadStaged(_ staged: HostStagedTensor, to tensor: Tensor) throws
    /// Host memory of `count` floats for a collective to sum in place, of the kind this backend's
    /// copies reach fastest: pinned on OpenCL, pageable elsewhere (`Backend+CollectiveBuffer.swift`).
    func makeCollectiveBuffer(count: Int) throws -> CollectiveBuffer
    /// Copies a float32 tensor into `buffer` at float `offset`; returns once the values are there.
    func read(_ tensor: Tensor, into buffer: CollectiveBuffer, at offset: Int) throws
    /// Copies `tensor.count` floats of `buffer` from `offset` into a float32 tensor; may return
    /// before the copy ends (`buffer` keeps it, and waits for it before it is written again).
    func write(_ buffer: CollectiveBuffer, at offset: Int, to tensor: Tensor) throws
    /// Marks the work enqueued so far, for a backend of the same memory domain to wait for on the
    /// device (`enqueueWait`); nil where the backend has no such markers (`Backend+Markers.swift`).
    func enqueueMarker() throws -> QueueMarker?
    /// Work enqueued on this backend after this call starts once `marker` (from a backend of this
    /// memory domain) is reached; the host does not wait.
    func enqueueWait(for marker: QueueMarker) throws

    // MARK: Linear algebra

    /// C = alpha · op(A) · op(B) + beta · C, where op(X) is X or Xᵀ.
    /// op(A) is M×K, op(B) is K×N, C is M×N. As in BLAS: with beta == 0, C is not read, and with
    /// alpha == 0 or K == 0, A and B are not read (NaNs in unread operands do not leak).
    func gemm(transposeA: Bool, transposeB: Bool, alpha: Float, _ a: Tensor, _ b: Tensor,
              beta: Float, _ c: Tensor) throws
    /// x (R×C) += bias (C), broadcast over rows.
    func addBias(_ bias: Tensor, to x: Tensor) throws
    /// x (R×C) = row (C) in every row, x not read: a bias broadcast into C before a gemm with
    /// beta = 1 adds the product to it, one pass over C instead of a separate bias pass after.
    func broadcastRows(_ row: Tensor, into x: Tensor) throws
    /// out (C) = beta · out + Σ_r x[r, :], with x R×C: the bias gradient.
    func sumRows(_ x: Tensor, into out: Tensor, beta: Float) throws

    // MARK: Softmax and cross-entropy

    /// y (R×C) = softmax over each row of x (R×C), max-subtracted. `y` may be `x`.
    func softmax(_ x: Tensor, into y: Tensor) throws
    /// Fused softmax + cross-entropy over logits (R×C) with integer targets (R).
    ///
    /// losses (R) receives −log softmax(logits[r])[targets[r]], or 0 where targets[r] == ignoreIndex.
    /// When `gradient` (R×C) is given it receives gradientScale · (softmax(logits[r]) − onehot(targets[r])),
    /// or zeros on ignored rows; `gradient` may be `logits`. For the mean loss pass
    /// gradientScale = 1 / (number of non-ignored targets). Every other target must be in 0..<C.
    func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32,
                             losses: Tensor, gradient: Tensor?, gradientScale: Float) throws

    /// The pieces of a softmax split over vocabulary shards, for one shard's logits (R×C):
    /// maxima[r] = max_c logits[r, c];  sumExp[r] = Σ_c exp(logits[r, c] − maxima[r]);
    /// targetLogits[r] = logits[r, targets[r]], or 0 where targets[r] is outside 0..<C (the target
    /// lives in another shard, or the row is ignored). All three are (R).
    func softmaxStatistics(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                           targetLogits: Tensor) throws
    /// The cross-entropy gradient of one vocabulary shard, given each row's global log normalizer
    /// log Σ exp over every shard (R): gradient (R×C) = gradientScale · (exp(logits − logNormalizers[r])
    /// − onehot(targets[r])), with no one-hot where targets[r] is outside 0..<C, and a zero row where
    /// logNormalizers[r] is +∞ (an ignored row). `gradient` may be `logits`.
    func softmaxCrossEntropyGradient(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                     gradientScale: Float, gradient: Tensor) throws

    // MARK: LSTM cell

    /// One LSTM cell step over fused pre-activations.
    ///
    /// gates (B×4H) holds x·W_ihᵀ + h·W_hhᵀ + b on entry, blocks [i | f | g | o], and the activations
    /// σ(i), σ(f), tanh(g), σ(o) on return (kept for the backward pass).
    /// cell (B×H) = f ⊙ cellPrevious + i ⊙ g;  hidden (B×H) = o ⊙ tanh(cell).
    func lstmCellForward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hidden: Tensor) throws
    /// Backward of `lstmCellForward`, given the activated gates, cellPrevious and cell it produced.
    ///
    /// hiddenGradient (B×H) is ∂L/∂h; cellGradient (B×H) is ∂L/∂c arriving from the next time step
    /// (nil: zero). Writes gatesGradient (B×4H), ∂L/∂ of the pre-activations, and
    /// cellPreviousGradient (B×H). gatesGradient may be `gates`.
    func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor,
                          hiddenGradient: Tensor, cellGradient: Tensor?,
                          gatesGradient: Tensor, cellPreviousGradient: Tensor) throws

    // MARK: Embedding

    /// output (N×E) row n = table (V×E) row indices[n].
    func embeddingForward(table: Tensor, indices: IndexTensor, output: Tensor) throws
    /// tableGradient (V×E) row v += Σ over n with indices[n] == v of outputGradient (N×E) row n.
    /// Deterministic: the sum runs in index order whatever the device.
    func embeddingBackward(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor) throws

    // MARK: Optimizer and elementwise

    /// parameter −= learningRate · gradient.
    func sgdUpdate(parameter: Tensor, gradient: Tensor, learningRate: Float) throws
    /// One Adam step (Kingma & Ba 2015) for one parameter, all four tensors of one shape:
    /// m = β₁m + (1−β₁)g;  v = β₂v + (1−β₂)g²;  parameter −= lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε),
    /// where t = `step` ≥ 1 counts the updates so far including this one.
    func adamUpdate(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor,
                    learningRate: Float, beta1: Float, beta2: Float, epsilon: Float, step: Int) throws
    /// Σ over all tensors of Σ x², accumulated in double precision on the host (for clipping).
    func sumOfSquares(_ tensors: [Tensor]) throws -> Double
    /// Every element of a float32 tensor set to `value`.
    func fill(_ tensor: Tensor, with value: Float) throws
    /// destination = source (same element count and type, same device).
    func copy(_ source: Tensor, to destination: Tensor) throws
    /// tensor *= factor.
    func scale(_ tensor: Tensor, by factor: Float) throws
    /// y += alpha · x.
    func axpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws
    /// x ⊙= y, elementwise, same shape (dropout masks).
    func multiply(_ x: Tensor, by y: Tensor) throws
    /// An inverted-dropout mask: element i (row-major) is `scale` where the unit float of draw
    /// i + 1 of `SplitMix64(seed: generatorState)` is below `keepProbability`, else 0 — exactly
    /// the values the host would draw one by one, so masks agree bit for bit on every backend.
    /// The caller advances its generator by `mask.count` (`SplitMix64.skip`). `scale` is passed
    /// in (normally 1 / keepProbability) because OpenCL's division need not be correctly rounded.
    func dropoutMask(_ mask: Tensor, keepProbability: Float, scale: Float, generatorState: UInt64) throws
}

extension Backend {
    public func supports(_ operation: BackendOperation) -> Bool { true }
}

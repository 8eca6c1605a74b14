/// The operations of `Backend` that compute on tensors, named as its methods are: what
/// `Backend.supports(_:)` is asked about, and what a refusal names.
public enum BackendOperation: String, CaseIterable, Sendable {
    case gemm, addBias, broadcastRows, sumRows
    case softmax, softmaxCrossEntropy, softmaxStatistics, softmaxCrossEntropyGradient
    case lstmCellForward, lstmCellBackward
    case embeddingForward, embeddingBackward
    case sgdUpdate, adamUpdate, sumOfSquares, fill, copy, scale, axpy, multiply, dropoutMask
}

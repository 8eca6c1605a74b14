/// What beam search asks of a translation model: encode a batch of sources once, then advance any
/// set of hypotheses by one target token in one batched step of device work.
///
/// `BeamSearch` is written against this alone, so the same search drives one model, an ensemble of
/// models (`EnsembleTranslator`, which averages their log-probabilities per step) and, in tests, a
/// small table whose best outputs can be found by exhaustive search.
public protocol StepwiseTranslator: AnyObject {
    /// The decoder's state for R hypotheses (for an LSTM, every layer's h and c, R×H each).
    associatedtype DecoderState
    /// V: the target vocabulary's size (the width of a row of log-probabilities).
    var targetVocabularySize: Int { get }
    /// Runs the encoder over `sources` (token ids in reading order: a model trained on reversed
    /// sources reverses them itself) and returns the decoder's initial state, one row per source.
    func encode(_ sources: [[Int32]]) throws -> DecoderState
    /// Feeds `tokens` (one per row of `state`, `<bos>` first) and returns log softmax over the
    /// target vocabulary (R×V, row-major) and the state after them.
    func step(_ tokens: [Int32], from state: DecoderState) throws -> (logProbabilities: [Float], state: DecoderState)
    /// Rows `rows` of `state`, in that order (repeats allowed): a beam's survivors and their copies.
    func select(_ rows: [Int], of state: DecoderState) throws -> DecoderState
}

/// A token sequence laid out for truncated BPTT: B parallel streams, read T steps at a time.
///
/// The tokens are cut into B contiguous streams of equal length (the remainder is dropped);
/// window w holds, for every stream b, tokens [w·T, w·T + T) as inputs and the tokens one later
/// as targets. Consecutive windows continue each stream, so carrying the LSTM state across
/// windows is correct.
public struct TokenStream: Sendable {
    public let tokens: [Int32]
    public let batch: Int
    public let steps: Int
    private let streamLength: Int

    public init(tokens: [Int32], batch: Int, steps: Int) throws {
        guard batch > 0, steps > 0 else {
            throw CLTrainError.invalidArgument("batch and bptt must be positive (got \(batch) and \(steps))")
        }
        let streamLength = tokens.count / batch
        guard streamLength > steps else {
            throw CLTrainError.invalidArgument(
                "\(tokens.count) tokens are too few for batch \(batch) × bptt \(steps): need more than \(batch * (steps + 1))")
        }
        self.tokens = tokens
        self.batch = batch
        self.steps = steps
        self.streamLength = streamLength
    }

    /// Full windows per pass over the data.
    public var windowCount: Int { (streamLength - 1) / steps }

    public func window(_ w: Int) throws -> TokenWindow {
        guard (0..<windowCount).contains(w) else {
            throw CLTrainError.invalidArgument("window \(w) out of range 0..<\(windowCount)")
        }
        var inputs = [Int32](), targets = [Int32]()
        inputs.reserveCapacity(steps * batch)
        targets.reserveCapacity(steps * batch)
        for t in 0..<steps {
            for b in 0..<batch {
                let position = b * streamLength + w * steps + t
                inputs.append(tokens[position])
                targets.append(tokens[position + 1])
            }
        }
        return try TokenWindow(inputs: inputs, targets: targets, steps: steps, batch: batch)
    }
}

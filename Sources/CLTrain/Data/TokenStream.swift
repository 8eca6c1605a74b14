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
        try InputNumber.check(batch, "--batch", in: 1...Int.max, why: "sequences per batch")
        try InputNumber.check(steps, "--bptt", in: 1...Int.max, why: "steps per window")
        let streamLength = tokens.count / batch
        guard streamLength > steps else {
            // B·(T + 1) may not fit in an Int (the sizes are the user's): then say so in words.
            let needed = (try? Checked.product(batch, Checked.increment(steps, what: "--bptt + 1"), what: "")).map(String.init)
                ?? "\(batch) × (\(steps) + 1), more than \(Int.max)"
            throw CLTrainError.invalidArgument(
                "\(tokens.count) tokens are too few for --batch \(batch) × --bptt \(steps): need more than \(needed)")
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

/// Several translation models decoding as one (the paper's best results, §3.6, were ensembles of
/// 5 LSTMs): every step feeds the same tokens to each member and returns the mean of their
/// log-probabilities, (1/M)·Σₘ log pₘ(y | …), as the issue asks. That is the log of the members'
/// normalised geometric mean, so a row no longer sums to one; beam search only ranks by it.
/// (fairseq's `EnsembleModel` averages the probabilities instead.) Its state is the members'
/// states, one per member, in the members' order.
public final class EnsembleTranslator: StepwiseTranslator {
    public typealias DecoderState = [Any]

    public let members: [AnyStepwiseTranslator]
    public let targetVocabularySize: Int

    /// Refuses no members, and members whose target vocabularies differ in size (a token id must
    /// mean one word to all of them: callers check the vocabularies themselves are equal).
    public init(_ members: [AnyStepwiseTranslator]) throws {
        guard let first = members.first else {
            throw CLTrainError.invalidArgument("an ensemble needs at least one model")
        }
        if let other = members.firstIndex(where: { $0.targetVocabularySize != first.targetVocabularySize }) {
            throw CLTrainError.invalidArgument(
                "ensemble member \(other) has a target vocabulary of \(members[other].targetVocabularySize) tokens but member 0 has \(first.targetVocabularySize)")
        }
        self.members = members
        targetVocabularySize = first.targetVocabularySize
    }

    public convenience init<Model: StepwiseTranslator>(_ models: [Model]) throws {
        try self.init(models.map { AnyStepwiseTranslator($0) })
    }

    public func encode(_ sources: [[Int32]]) throws -> [Any] { try members.map { try $0.encode(sources) } }

    public func step(_ tokens: [Int32], from state: [Any]) throws -> (logProbabilities: [Float], state: [Any]) {
        try checkState(state)
        var sum: [Double] = []   // (R×V), summed in Double so the members' order changes nothing but rounding
        var states: [Any] = []
        for (member, memberState) in zip(members, state) {
            let (logProbabilities, next) = try member.step(tokens, from: memberState)
            if sum.isEmpty {
                sum = logProbabilities.map(Double.init)
            } else {
                guard logProbabilities.count == sum.count else {
                    throw CLTrainError.shapeMismatch(operation: "ensemble step",
                                                     detail: "member \(states.count) gave \(logProbabilities.count) log-probabilities, member 0 \(sum.count)")
                }
                for i in sum.indices { sum[i] += Double(logProbabilities[i]) }
            }
            states.append(next)
        }
        let count = Double(members.count)
        return (sum.map { Float($0 / count) }, states)
    }

    public func select(_ rows: [Int], of state: [Any]) throws -> [Any] {
        try checkState(state)
        return try zip(members, state).map { try $0.select(rows, of: $1) }
    }

    private func checkState(_ state: [Any]) throws {
        guard state.count == members.count else {
            throw CLTrainError.invalidArgument("an ensemble of \(members.count) models given the states of \(state.count)")
        }
    }
}

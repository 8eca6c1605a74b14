/// Any `StepwiseTranslator`, its decoder state boxed: so that an ensemble can hold members of
/// different types (a model, a table in a test, another ensemble) in one array.
public final class AnyStepwiseTranslator: StepwiseTranslator {
    public typealias DecoderState = Any

    public let targetVocabularySize: Int
    private let encodeSources: ([[Int32]]) throws -> Any
    private let stepTokens: ([Int32], Any) throws -> (logProbabilities: [Float], state: Any)
    private let selectRows: ([Int], Any) throws -> Any

    public init<Model: StepwiseTranslator>(_ model: Model) {
        targetVocabularySize = model.targetVocabularySize
        encodeSources = { try model.encode($0) }
        stepTokens = { tokens, state in
            let (logProbabilities, next) = try model.step(tokens, from: try Self.unbox(state, as: Model.DecoderState.self))
            return (logProbabilities, next)
        }
        selectRows = { rows, state in try model.select(rows, of: try Self.unbox(state, as: Model.DecoderState.self)) }
    }

    public func encode(_ sources: [[Int32]]) throws -> Any { try encodeSources(sources) }

    public func step(_ tokens: [Int32], from state: Any) throws -> (logProbabilities: [Float], state: Any) {
        try stepTokens(tokens, state)
    }

    public func select(_ rows: [Int], of state: Any) throws -> Any { try selectRows(rows, state) }

    /// A state made by another translator is a caller's mistake, named rather than trapped on.
    private static func unbox<State>(_ state: Any, as type: State.Type) throws -> State {
        guard let state = state as? State else {
            throw CLTrainError.invalidArgument("a decoder state of type \(Swift.type(of: state)) given to a translator whose state is \(State.self)")
        }
        return state
    }
}

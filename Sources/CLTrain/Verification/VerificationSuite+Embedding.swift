/// embeddingForward and embeddingBackward cases.
extension VerificationSuite {
    /// (V, E, N): vocabulary, embedding width, number of indices.
    static let embeddingShapes = [(1, 1, 1), (33, 7, 129), (1000, 129, 257)]

    static let embeddingCases: [VerificationCase] =
        embeddingShapes.flatMap { v, e, n in [embeddingForward(v, e, n), embeddingBackward(v, e, n)] }
        + [embeddingForward(33, 7, 129).withViews(), embeddingBackward(33, 7, 129).withViews()]

    static func embeddingForward(_ v: Int, _ e: Int, _ n: Int) -> VerificationCase {
        VerificationCase(operation: "embeddingForward", shape: "\(v)×\(e)×\(n)") { context in
            let table = try context.random([v, e])
            let indices = try context.indices(embeddingIndices(context, vocabulary: v, count: n))
            let output = try context.writeOnly([n, e])
            try context.backend.embeddingForward(table: table, indices: indices, output: output)
            try context.output("output", output, reductionLength: 1)
        }
    }

    static func embeddingBackward(_ v: Int, _ e: Int, _ n: Int) -> VerificationCase {
        VerificationCase(operation: "embeddingBackward", shape: "\(v)×\(e)×\(n)") { context in
            let outputGradient = try context.random([n, e])
            let values = embeddingIndices(context, vocabulary: v, count: n)
            let indices = try context.indices(values)
            let tableGradient = try context.random([v, e])
            try context.backend.embeddingBackward(outputGradient: outputGradient, indices: indices,
                                                  tableGradient: tableGradient)
            let repeats = Dictionary(values.map { ($0, 1) }, uniquingKeysWith: +).values.max() ?? 1
            try context.output("tableGradient", tableGradient, reductionLength: repeats)
        }
    }

    /// Random indices in 0..<V where every fourth one repeats the first, so one row of the table
    /// gradient sums about N/4 contributions.
    private static func embeddingIndices(_ context: VerificationContext, vocabulary: Int, count: Int) -> [Int32] {
        var values = context.randomIndices(count: count, below: vocabulary)
        for position in stride(from: 4, to: count, by: 4) { values[position] = values[0] }
        return values
    }
}

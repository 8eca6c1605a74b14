import Testing
@testable import CLTrain

/// A new float32 tensor of `shape` holding `values`.
func makeTensor(_ backend: Backend, _ shape: [Int], _ values: [Float]) throws -> Tensor {
    let tensor = try backend.makeTensor(shape: shape, elementType: .float32)
    try backend.upload(values, to: tensor)
    return tensor
}

/// A new float32 tensor of `shape` with random values in [-scale, scale], and those values.
func makeRandomTensor(_ backend: Backend, _ shape: [Int], _ random: inout SplitMix64,
                      scale: Float = 1) throws -> (tensor: Tensor, values: [Float]) {
    let values = random.floats(shape.reduce(1, *), scale: scale)
    return (try makeTensor(backend, shape, values), values)
}

/// Checks `actual[i]` against `reference[i]` with the one rule |actual − reference| ≤ atol + rtol·|reference|,
/// skipping elements whose reference is not finite; reports how many differ and the first few.
func expectClose(_ actual: [Float], _ reference: [Double], atol: Double, rtol: Double,
                 _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    expectWithin(actual, reference, bounds: reference.map { atol + rtol * abs($0) }, what,
                 sourceLocation: sourceLocation)
}

/// Checks |actual[i] − reference[i]| ≤ bounds[i], skipping elements whose reference is not finite.
func expectWithin(_ actual: [Float], _ reference: [Double], bounds: [Double],
                  _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.count == reference.count, "\(what): \(actual.count) values, \(reference.count) expected",
            sourceLocation: sourceLocation)
    var failures: [String] = []
    for i in 0..<min(actual.count, reference.count) where reference[i].isFinite {
        if !(abs(Double(actual[i]) - reference[i]) <= bounds[i]) {
            failures.append("[\(i)] \(actual[i]) vs \(reference[i]) (bound \(bounds[i]))")
        }
    }
    #expect(failures.isEmpty,
            "\(what): \(failures.count) of \(actual.count) out of bounds: \(failures.prefix(5).joined(separator: ", "))",
            sourceLocation: sourceLocation)
}

/// Expects `body` to throw `CLTrainError.shapeMismatch` from `operation` (the detail text is not compared).
func expectShapeMismatch(in operation: String, sourceLocation: SourceLocation = #_sourceLocation,
                         _ body: () throws -> Void) {
    let error = #expect(throws: CLTrainError.self, sourceLocation: sourceLocation) { try body() }
    guard let error else { return }
    if case .shapeMismatch(operation, _) = error { return }
    Issue.record("expected shapeMismatch in \(operation), got \(error)", sourceLocation: sourceLocation)
}

import Foundation

/// One operation at one shape, checked on a device against the reference backend.
///
/// The body makes its inputs through the `VerificationContext`, runs the operation on
/// `context.backend` and records every output tensor; `run(reference:device:)` runs it on both
/// backends from identical inputs and compares the outputs under the rule of `Tolerance`.
public struct VerificationCase: Sendable, CustomStringConvertible {
    /// The `Backend` method, e.g. "gemm".
    public let operation: String
    /// The shape and variant, e.g. "128×4000×2000 NT".
    public let shape: String
    /// Whether every operand is a view at a non-zero offset (see `VerificationContext`).
    public let usesViews: Bool
    let body: @Sendable (VerificationContext) throws -> Void

    public init(operation: String, shape: String, usesViews: Bool = false,
                body: @escaping @Sendable (VerificationContext) throws -> Void) {
        self.operation = operation
        self.shape = usesViews ? shape + " view" : shape
        self.usesViews = usesViews
        self.body = body
    }

    /// "gemm 128×4000×2000 NT": also the seed of the case's inputs.
    public var name: String { "\(operation) \(shape)" }
    public var description: String { name }

    /// The same case with every operand a view at a non-zero offset.
    public func withViews() -> VerificationCase {
        VerificationCase(operation: operation, shape: shape, usesViews: true, body: body)
    }

    /// Whether `filter` occurs in the name, ignoring case; "x" also matches "×", so "7x33" works.
    public func matches(_ filter: String) -> Bool {
        func normalized(_ text: String) -> String { text.lowercased().replacingOccurrences(of: "×", with: "x") }
        return normalized(name).contains(normalized(filter))
    }

    /// Runs the case on both backends and compares every output. Never throws: an error on either
    /// side is a failed result carrying the error's message, except an operation the device
    /// declines (`CLTrainError.unsupportedOperation`), which is skipped with that reason.
    public func run(reference: Backend, device: Backend) -> VerificationResult {
        var result = VerificationResult(operation: operation, shape: shape, device: device.name)
        let expected: [VerificationOutput], actual: [VerificationOutput]
        do {
            expected = try outputs(on: reference)
        } catch {
            return result.failed("the reference (\(reference.name)) threw: \(error)")
        }
        do {
            actual = try outputs(on: device)
        } catch let error as CLTrainError {
            // A declined operation is a capability the device lacks, not a wrong result.
            if case .unsupportedOperation = error { return result.skipped("\(error)") }
            return result.failed("threw: \(error)")
        } catch {
            return result.failed("threw: \(error)")
        }
        guard actual.map(\.name) == expected.map(\.name) else {
            return result.failed("outputs \(actual.map(\.name)) differ from the reference's \(expected.map(\.name))")
        }
        var worstRatio = -1.0
        for (a, e) in zip(actual, expected) {
            let comparison = compare(a.values, to: e.values, reductionLength: e.reductionLength)
            result.maxAbsError = max(result.maxAbsError ?? 0, comparison.maxAbsError)
            // The row shows the output closest to (or furthest past) its own bound.
            let ratio = comparison.maxRelError / comparison.bound
            if ratio > worstRatio {
                worstRatio = ratio
                result.maxRelError = comparison.maxRelError
                result.bound = comparison.bound
            }
            if !comparison.passed, result.passed {
                result.passed = false
                result.message = "\(a.name): \(comparison.failure ?? "failed")"
            }
        }
        return result
    }

    private func outputs(on backend: Backend) throws -> [VerificationOutput] {
        let context = VerificationContext(backend: backend, seed: name, usesViews: usesViews)
        try body(context)
        return context.outputs
    }
}

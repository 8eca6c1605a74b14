import Foundation

/// The one rule every device-vs-CPU comparison uses. It is not tuned per test or per tensor.
///
///     |x − ref| ≤ rtol(n) · (|ref| + mean|ref|),   rtol(n) = 32 · ε · √max(n, 1)
///
/// - ε is float32's machine epsilon (2⁻²³, `Float.ulpOfOne`).
/// - n is the operation's reduction length: K for gemm, the row length C for softmax and
///   cross-entropy, R rows for the bias reduction, the total element count for the sum of squares,
///   the largest number of repeats of one index for the embedding gradient, and 1 for elementwise
///   operations (the LSTM cell included).
/// - mean|ref| is the mean absolute value of the finite reference values. It stands in for the
///   scale of the terms that were summed, so an output near zero because terms cancelled is judged
///   against the tensor's typical magnitude rather than against its own tiny value.
///
/// Why this form: the rounding error of a float32 sum of n terms grows like ε·√n when roundings
/// fall in random directions (ε·n is the worst case, rarely approached). The factor 32 covers a
/// device summing in a different order than the CPU (tiles, tree reductions, fused multiply-add)
/// and a few ulp of difference in `exp` and `tanh` between GPU math libraries and the host's. A
/// real bug — a wrong index, a missed tile edge, a race — produces errors of order 1 relative to
/// the data, many orders of magnitude above the bound, so the rule does not need to be tight to
/// catch one.
///
/// Non-finite reference values must be matched in kind: NaN by NaN, +∞ by +∞, −∞ by −∞. A finite
/// reference value matched by a non-finite one fails.
public enum Tolerance {
    /// rtol(n) = 32 · ε_f32 · √max(n, 1).
    public static func relative(reductionLength n: Int) -> Double {
        32 * Double(Float.ulpOfOne) * Double(max(n, 1)).squareRoot()
    }
}

/// The outcome of comparing a device's output with the reference under `Tolerance`.
public struct Comparison: Sendable, Equatable {
    /// Largest |x − ref| over finite pairs; +∞ when a kind mismatch or a count mismatch failed it.
    public var maxAbsError: Double
    /// Largest |x − ref| / (|ref| + mean|ref|): the error in the units the rule bounds.
    public var maxRelError: Double
    /// Index of the element with the largest relative error, or of the first failing element;
    /// nil when there are no elements to compare.
    public var worstIndex: Int?
    /// The values at `worstIndex` (device, reference).
    public var worstActual: Float?
    public var worstExpected: Float?
    /// rtol(n): the comparison passes when `maxRelError` does not exceed it and kinds match.
    public var bound: Double
    public var passed: Bool
    /// Why it failed, in words, when it did.
    public var failure: String?
}

/// Compares `actual` with `reference` element by element under the rule of `Tolerance`.
/// - Parameters:
///   - actual: the device's output.
///   - reference: the CPU reference's output; a different element count fails.
///   - reductionLength: n in rtol(n), as `Tolerance` defines it for the operation.
public func compare(_ actual: [Float], to reference: [Float], reductionLength: Int) -> Comparison {
    let bound = Tolerance.relative(reductionLength: reductionLength)
    guard actual.count == reference.count else {
        return Comparison(maxAbsError: .infinity, maxRelError: .infinity, worstIndex: nil,
                          worstActual: nil, worstExpected: nil, bound: bound, passed: false,
                          failure: "\(actual.count) values where the reference has \(reference.count)")
    }
    // Plain loops over buffer pointers: outputs reach 10 million elements, and test builds are
    // unoptimized.
    let (maxAbsError, maxRelError, worstIndex, kindMismatch) = actual.withUnsafeBufferPointer { actual in
        reference.withUnsafeBufferPointer { reference in
            var finiteCount = 0
            var absoluteSum = 0.0
            for value in reference where value.isFinite {
                finiteCount += 1
                absoluteSum += Double(value.magnitude)
            }
            let meanMagnitude = finiteCount == 0 ? 0 : absoluteSum / Double(finiteCount)

            var maxAbsError = 0.0, maxRelError = 0.0
            var worstIndex: Int?
            var kindMismatch: Int?
            for index in 0..<reference.count {
                let x = actual[index], ref = reference[index]
                guard ref.isFinite, x.isFinite else {
                    if kindMismatch == nil, !sameNonFiniteKind(x, ref) { kindMismatch = index }
                    continue
                }
                let absolute = Double(x - ref).magnitude
                let scale = Double(ref.magnitude) + meanMagnitude
                // A zero scale means the whole reference is zero: then only an exact match passes.
                let relative = scale > 0 ? absolute / scale : (absolute == 0 ? 0 : .infinity)
                maxAbsError = max(maxAbsError, absolute)
                if worstIndex == nil || relative > maxRelError {
                    maxRelError = relative
                    worstIndex = index
                }
            }
            return (maxAbsError, maxRelError, worstIndex, kindMismatch)
        }
    }
    if let index = kindMismatch {
        return Comparison(maxAbsError: .infinity, maxRelError: .infinity, worstIndex: index,
                          worstActual: actual[index], worstExpected: reference[index], bound: bound,
                          passed: false,
                          failure: "element \(index) is \(actual[index]) where the reference is \(reference[index])")
    }
    let passed = maxRelError <= bound
    return Comparison(
        maxAbsError: maxAbsError, maxRelError: maxRelError, worstIndex: worstIndex,
        worstActual: worstIndex.map { actual[$0] }, worstExpected: worstIndex.map { reference[$0] },
        bound: bound, passed: passed,
        failure: passed ? nil : worstIndex.map {
            "element \($0) is \(actual[$0]) where the reference is \(reference[$0]): relative error "
                + "\(maxRelError.scientific) exceeds \(bound.scientific)"
        })
}

private func sameNonFiniteKind(_ a: Float, _ b: Float) -> Bool {
    (a.isNaN && b.isNaN) || (a.isInfinite && b.isInfinite && a.sign == b.sign)
}

extension Double {
    /// "1.23e-05", as errors are printed in tables and messages.
    var scientific: String {
        guard isFinite else { return isNaN ? "nan" : (self > 0 ? "inf" : "-inf") }
        return String(format: "%.2e", self)
    }
}

/// A list of verification cases, run on any pair of backends.
///
/// `standard` covers every `Backend` operation over the shapes issue 2 asks for (1, primes, sizes
/// no tile divides, the 128×4000×2000 gemm, an 80,000-wide softmax), plus one case per operation
/// family whose operands are all views at non-zero offsets.
public struct VerificationSuite: Sendable {
    public var cases: [VerificationCase]

    public init(cases: [VerificationCase]) {
        self.cases = cases
    }

    public static let standard = VerificationSuite(cases:
        linearAlgebraCases + softmaxCases + lstmCases + embeddingCases + elementwiseCases)

    /// The cases whose name contains `filter` (see `VerificationCase.matches`); all when nil or empty.
    public func filtered(by filter: String?) -> VerificationSuite {
        guard let filter, !filter.isEmpty else { return self }
        return VerificationSuite(cases: cases.filter { $0.matches(filter) })
    }

    /// Runs every case on `device` against `reference`, in order.
    /// - Parameter progress: called after each case with its result (e.g. to show progress).
    public func run(reference: Backend, device: Backend,
                    progress: (VerificationResult) -> Void = { _ in }) -> [VerificationResult] {
        cases.map { verificationCase in
            let result = verificationCase.run(reference: reference, device: device)
            progress(result)
            return result
        }
    }
}

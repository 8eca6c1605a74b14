/// One row of a verification run: an operation at a shape on a device, and how it compared.
public struct VerificationResult: Sendable, Codable, Equatable, CustomStringConvertible {
    public var operation: String
    public var shape: String
    /// The device backend's name, e.g. "opencl:0 (NVIDIA H100 80GB HBM3)".
    public var device: String
    /// Largest absolute difference from the reference; nil when nothing was compared.
    public var maxAbsError: Double?
    /// Largest difference relative to the rule's scale |ref| + mean|ref| (see `Tolerance`).
    public var maxRelError: Double?
    /// The bound `maxRelError` was held to, rtol(n).
    public var bound: Double?
    /// Whether the device's outputs agreed with the reference (false also when skipped).
    public var passed: Bool
    /// Why it failed: the worst element, or the error a backend threw.
    public var message: String?
    /// Why the device declined the operation (`Backend.supports(_:)`, `CLTrainError.unsupportedOperation`):
    /// the case is skipped, neither passed nor failed; nil when it ran.
    public var skipped: String?

    public init(operation: String, shape: String, device: String, maxAbsError: Double? = nil,
                maxRelError: Double? = nil, bound: Double? = nil, passed: Bool = true, message: String? = nil) {
        self.operation = operation
        self.shape = shape
        self.device = device
        self.maxAbsError = maxAbsError
        self.maxRelError = maxRelError
        self.bound = bound
        self.passed = passed
        self.message = message
    }

    func failed(_ message: String) -> VerificationResult {
        var copy = self
        copy.passed = false
        copy.message = message
        return copy
    }

    func skipped(_ reason: String) -> VerificationResult {
        var copy = self
        copy.passed = false
        copy.skipped = reason
        return copy
    }

    /// A case that ran and disagreed with the reference, or threw: what makes `cltrain verify` fail.
    public var failed: Bool { !passed && skipped == nil }

    /// "PASS", "FAIL" or "SKIP".
    public var verdict: String { skipped != nil ? "SKIP" : passed ? "PASS" : "FAIL" }

    /// Column titles matching `tableRow`.
    public static let tableHeaders = ["operation", "shape", "device", "max abs err", "max rel err", "result"]

    /// The row as `cltrain verify` prints it.
    public var tableRow: [String] {
        [operation, shape, device, maxAbsError?.scientific ?? "-", maxRelError?.scientific ?? "-",
         verdict]
    }

    /// "gemm 7×33×129 NN on cpu: PASS (max abs 1.2e-06, max rel 3.4e-07 ≤ 2.2e-05)", or the failure,
    /// or "SKIP: " and why the device declined it.
    public var description: String {
        let errors = [maxAbsError.map { "max abs \($0.scientific)" },
                      maxRelError.map { "max rel \($0.scientific)" + (bound.map { " (bound \($0.scientific))" } ?? "") }]
            .compactMap { $0 }.joined(separator: ", ")
        return "\(operation) \(shape) on \(device): \(verdict)"
            + (errors.isEmpty ? "" : " [\(errors)]") + ((skipped ?? message).map { ": \($0)" } ?? "")
    }
}

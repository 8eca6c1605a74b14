/// Errors that input can cause: every one names the operation and what was wrong with its input.
public enum CLTrainError: Error, CustomStringConvertible, Equatable {
    /// Operand shapes that do not fit together, e.g. gemm's inner dimensions.
    case shapeMismatch(operation: String, detail: String)
    /// An index (token id, target class) outside `0..<bound`.
    case indexOutOfRange(operation: String, index: Int, position: Int, bound: Int)
    /// A tensor used by a backend that does not own it; move it with `copy(_:to:)` first.
    case wrongDevice(operation: String, tensorLocation: String, backend: String)
    /// A tensor of the wrong element type (e.g. floats where indices are expected).
    case wrongElementType(operation: String, expected: ElementType, got: ElementType)
    /// An operation the backend declines (`Backend.supports(_:)` is false): run it on another one.
    case unsupportedOperation(operation: String, backend: String)
    /// A device index or name that matches no device.
    case deviceNotFound(String)
    /// Any other argument that cannot be used, with the reason.
    case invalidArgument(String)
    /// A number from a flag, a variable or a file outside its range (`InputNumber.check`).
    case invalidNumber(InvalidNumber)

    public var description: String {
        switch self {
        case .shapeMismatch(let operation, let detail):
            "\(operation): shape mismatch: \(detail)"
        case .indexOutOfRange(let operation, let index, let position, let bound):
            "\(operation): index \(index) at position \(position) is out of range 0..<\(bound)"
        case .wrongDevice(let operation, let tensorLocation, let backend):
            "\(operation): tensor lives on \(tensorLocation) but the operation runs on \(backend); copy it there first"
        case .wrongElementType(let operation, let expected, let got):
            "\(operation): expected a \(expected.rawValue) tensor, got \(got.rawValue)"
        case .unsupportedOperation(let operation, let backend):
            "\(operation): not supported by \(backend); run it on a backend that supports it"
        case .deviceNotFound(let detail):
            "device not found: \(detail)"
        case .invalidArgument(let detail):
            detail
        case .invalidNumber(let number):
            number.description
        }
    }
}

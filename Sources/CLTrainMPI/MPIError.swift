import CMPI

/// A failed MPI call: the call's name and Open MPI's own text for the error code.
///
/// The world communicator's error handler is MPI_ERRORS_RETURN (`MPIWorld.initialize` sets it),
/// so a failure comes back as a code to throw, not as Open MPI's default abort.
public struct MPIError: Error, CustomStringConvertible {
    public let call: String
    public let code: Int32
    public let message: String

    public var description: String { "\(call) failed: \(message) (MPI error \(code))" }

    init(call: String, code: Int32) {
        self.call = call
        self.code = code
        self.message = MPIError.text(for: code)
    }

    init(call: String, message: String) {
        self.call = call
        self.code = -1
        self.message = message
    }

    /// MPI_Error_string's text, or the bare code if even that fails.
    static func text(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(cltrain_MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == cltrain_MPI_SUCCESS else { return "error code \(code)" }
        return String(decoding: buffer.prefix(Int(max(0, length))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Throws `MPIError` unless `code` is MPI_SUCCESS.
@inline(__always)
func check(_ code: Int32, _ call: @autoclosure () -> String) throws {
    if code != cltrain_MPI_SUCCESS { throw MPIError(call: call(), code: code) }
}

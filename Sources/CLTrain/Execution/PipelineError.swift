/// Why a pipelined step stopped.
public enum PipelineError: Error, CustomStringConvertible {
    /// A device failed while running part of the step.
    case deviceFailed(device: String, task: String, underlying: Error)
    /// This worker stopped because another one failed (the other's error is the one reported).
    case abandoned
    /// The placement cannot be pipelined as given.
    case unsupported(String)

    public var description: String {
        switch self {
        case .deviceFailed(let device, let task, let underlying):
            "device \(device) failed during \(task): \(underlying)"
        case .abandoned:
            "stopped because another device failed"
        case .unsupported(let reason):
            "pipelined execution: \(reason)"
        }
    }
}

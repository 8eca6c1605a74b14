/// One span of a trace (Chrome's Trace Event Format, a "complete" event, `ph: "X"`): what ran,
/// on which track, from when and for how long.
///
/// A track is a process and a thread of the format, named here by strings (`TraceTrack`); the
/// file's numeric `pid`/`tid` are given out when it is written, in the order tracks were first
/// declared or used, so traces from several recorders (a prediction and a measurement) merge by
/// name.
public struct TraceEvent: Sendable, Equatable {
    /// e.g. "layer 1 forward, steps 0..<5", "transfer opencl:0 → opencl:1", a kernel's name.
    public var name: String
    /// What kind of span: `TraceCategory`'s values.
    public var category: String
    public var track: TraceTrack
    /// Microseconds from the recorder's origin.
    public var start: Double
    /// Microseconds, never negative.
    public var duration: Double
    /// Shapes, bytes, devices: shown beside the event in the viewers.
    public var arguments: [String: TraceArgument]

    public init(name: String, category: String, track: TraceTrack, start: Double, duration: Double,
                arguments: [String: TraceArgument] = [:]) {
        self.name = name
        self.category = category
        self.track = track
        self.start = start
        self.duration = max(0, duration)
        self.arguments = arguments
    }

    public var end: Double { start + duration }
}

/// A row of the trace viewer: a process (a group of rows: "host", "device opencl:0 (…)",
/// "predicted: wavefront K = 1") and a thread within it (a worker, a queue).
public struct TraceTrack: Hashable, Sendable, CustomStringConvertible {
    public var process: String
    public var thread: String

    public init(process: String, thread: String) {
        self.process = process
        self.thread = thread
    }

    public var description: String { "\(process) / \(thread)" }
}

/// The categories CLTrain's events carry (`cat`), so that a viewer can filter them and a check
/// can sum one kind alone: a worker's `task`s are its busy time; `transfer`s lie inside tasks.
public enum TraceCategory {
    /// An executor's task on a host thread (a layer's run, a shard's half), as its busy time counts it.
    public static let task = "task"
    /// A tensor's move between backends (a send or a receive), inside the task that makes it.
    public static let transfer = "transfer"
    /// A command on a device queue, timed by the device's own clock (OpenCL profiling).
    public static let kernel = "kernel"
    /// A timing device's work, or a simulated device's task.
    public static let device = "device"
    /// A whole training step, and the host work between the executor's windows.
    public static let step = "step"
}

/// A value of an event's `args`.
public enum TraceArgument: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case integer(Int)
    case number(Double)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }

    /// A tensor's shape as the args show it, e.g. "35×64×512".
    public static func shape(_ shape: [Int]) -> TraceArgument { .string(shape.map(String.init).joined(separator: "×")) }

    /// The value for `JSONSerialization` (a non-finite number becomes its name: JSON has none).
    var jsonValue: Any {
        switch self {
        case .string(let text): text
        case .integer(let value): value
        case .number(let value): value.isFinite ? value : "\(value)"
        }
    }
}

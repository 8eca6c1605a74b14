/// One task of a simulated step, as `ThreadedTasks` ran it.
public struct SimulatedTask: Sendable, Equatable {
    /// As the runtime names its task ("layer 1 forward, steps 0..<5"), or a transfer or host step.
    public var name: String
    /// The simulated host thread that issues it ("main", "worker 1: layer 1").
    public var thread: String
    /// The device number it occupies.
    public var device: Int
    /// Seconds from the step's start.
    public var start: Double
    public var duration: Double
    /// Bytes it downloads to the host.
    public var bytesSent: Double
}

extension PipelinePrediction {
    /// The predicted schedule as trace events: one track per device, `process` + ", device NAME"
    /// (thread "queues, in turn", as a timing device's measured track is named), each task a
    /// span of category `device` with its thread and bytes as arguments, from 0 µs at the step's
    /// start. A device runs one task at a time, so its spans never overlap and sum to `busy`.
    /// - Parameter deviceNames: per device number, as the placement names it.
    public func record(into recorder: TraceRecorder, process: String, deviceNames: [String]) {
        let tracks = busy.indices.map { d in
            TraceTrack(process: "\(process), device \(d < deviceNames.count ? deviceNames[d] : "\(d)")", thread: "queues, in turn")
        }
        for track in tracks { recorder.declare(track) }
        for task in tasks where task.duration > 0 && task.device < tracks.count {
            var arguments: [String: TraceArgument] = ["thread": .string(task.thread)]
            if task.bytesSent > 0 { arguments["bytes sent"] = .number(task.bytesSent) }
            recorder.append(TraceEvent(name: task.name, category: TraceCategory.device, track: tracks[task.device],
                                       start: task.start * 1e6, duration: task.duration * 1e6, arguments: arguments))
        }
    }
}

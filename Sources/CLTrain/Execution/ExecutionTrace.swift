/// What an executor records when it is traced (`Executor.trace`): the tracks of its host threads
/// and of its backends' queues, and the names its spans carry.
///
/// Tracks (the same names in `PipelinePrediction.record`, so a prediction and a run line up):
/// - process "host": "steps" (the trainer's, one span a step), "main" (the calling thread: the embedding, masks, the loss read back, the
///   sequential schedule's every part, the trainer's update), and one thread per pipeline worker,
///   "worker w: layer 1 on opencl:1 (…)";
/// - a process per device, "device opencl:1 (…)", with a thread per queue (a backend object),
///   named by the parts it runs ("queue: layer 1", "queue: softmax shards 0, 1"): the commands as
///   the device's clock timed them, where the backend can say (`TraceableBackend`).
///
/// Span names say what ran, as the executors' error messages name a task: "layer 1 forward,
/// steps 0..<5", "softmax shard 2 backward, steps 0..<5", "layer 0 weight gradients"; transfers
/// are "send A → B" (the producer's half: a marker, or the read into host memory) and
/// "receive A → B" (the consumer's: a device copy or an upload), with `shape` and `bytes`. A
/// task's arguments are its `device`, its `rows` (time steps × sequences) and `shape`, the rows ×
/// H of activations or gradients it hands on or takes in.
final class ExecutionTrace: @unchecked Sendable {
    let recorder: TraceRecorder
    /// The host track that drives each backend object (its worker's; else the main thread's).
    private var hostTracks: [ObjectIdentifier: TraceTrack] = [:]

    static let hostProcess = "host"
    static let main = TraceTrack(process: hostProcess, thread: "main")
    /// The trainer's whole steps, one span each.
    static let steps = TraceTrack(process: hostProcess, thread: "steps")

    /// Over `parts`: each part of a model (in placement order) and the backend it runs on.
    init(recorder: TraceRecorder, parts named: [(Backend, String)]) throws {
        self.recorder = recorder
        recorder.declare(Self.steps)
        recorder.declare(Self.main)
        // One queue track per backend object, named by the parts it runs, in placement order.
        var parts: [(backend: Backend, names: [String])] = []
        for (backend, name) in named {
            if let i = parts.firstIndex(where: { $0.backend === backend }) { parts[i].names.append(name) } else { parts.append((backend, [name])) }
        }
        for (backend, names) in parts {
            guard let traceable = backend as? TraceableBackend else { continue }
            try traceable.trace(into: recorder, track: TraceTrack(process: "device \(backend.name)",
                                                                  thread: "queue: " + names.joined(separator: ", ")))
        }
    }

    /// The track of pipeline worker `w` (named as `PipelineWorker.name`), which drives `backends`.
    func worker(_ w: Int, name: String, drives backends: [Backend]) -> TraceTrack {
        let track = TraceTrack(process: Self.hostProcess, thread: "worker \(w): \(name)")
        recorder.declare(track)
        for backend in backends { hostTracks[ObjectIdentifier(backend)] = track }
        return track
    }

    /// The host track that drives `backend`.
    func track(driving backend: Backend) -> TraceTrack { hostTracks[ObjectIdentifier(backend)] ?? Self.main }

    /// Stops every backend's device trace (the executor is given another recorder, or none).
    static func stop(_ devices: ModelDevices) throws {
        for backend in devices.backends {
            try (backend as? TraceableBackend)?.trace(into: nil, track: main)
        }
    }
}

extension LanguageModel {
    /// Its parts as a trace names the queues: "layer l", "softmax shard s".
    var traceParts: [(Backend, String)] {
        lstm.enumerated().map { ($1.backend, "layer \($0)") } + decoder.enumerated().map { ($1.backend, "softmax shard \($0)") }
    }
}

/// A backend that can trace its queue's commands on the device's own clock (OpenCL's profiling
/// events mapped onto the host clock; a timing device's modelled work).
public protocol TraceableBackend: Backend {
    /// From now on, each command this backend runs while `recorder.isRecording` becomes an event on
    /// `track`; nil stops it. Commands are not waited for: their times are read when the trace is.
    func trace(into recorder: TraceRecorder?, track: TraceTrack) throws
}

/// The executors' transport, recording each move's two halves on the host thread that makes
/// them when traced; otherwise one nil check, then `base`.
final class TracedTransport: Transport, @unchecked Sendable {
    let base: Transport
    /// Set from the calling thread before a window's workers start (`WorkerPool.run` orders it).
    var trace: ExecutionTrace?

    init(_ base: Transport) { self.base = base }

    func send(_ source: Tensor, from: Backend, to consumers: [Backend]) throws -> Shipment {
        guard let trace, consumers.contains(where: { $0 !== from }) else { return try base.send(source, from: from, to: consumers) }
        let names = consumers.filter { $0 !== from }.map(\.name).joined(separator: ", ")
        return try trace.recorder.span("send \(from.name) → \(names)", category: TraceCategory.transfer,
                                       on: trace.track(driving: from), arguments: Self.arguments(source)) {
            try base.send(source, from: from, to: consumers)
        }
    }

    func receive(_ shipment: Shipment, into destination: Tensor, on to: Backend) throws {
        guard let trace, to !== shipment.from else { return try base.receive(shipment, into: destination, on: to) }
        try trace.recorder.span("receive \(shipment.from.name) → \(to.name)", category: TraceCategory.transfer,
                                on: trace.track(driving: to), arguments: Self.arguments(destination)) {
            try base.receive(shipment, into: destination, on: to)
        }
    }

    /// An executor's `trace(into:)`: stops every backend's device trace, then (with a recorder)
    /// starts one over `parts` (each part of the model and its backend) and records the moves into
    /// it. Returns the trace (nil: none).
    func record(into recorder: TraceRecorder?, devices: ModelDevices, parts: [(Backend, String)]) throws -> ExecutionTrace? {
        try ExecutionTrace.stop(devices)
        trace = try recorder.map { try ExecutionTrace(recorder: $0, parts: parts) }
        return trace
    }

    static func arguments(_ tensor: Tensor) -> [String: TraceArgument] {
        ["shape": .shape(tensor.shape), "bytes": .integer(tensor.count * 4)]
    }
}

extension Optional where Wrapped == ExecutionTrace {
    /// `body`, as a span on the main thread's track when traced (else just `body`).
    func span<T>(_ name: String, arguments: @autoclosure () -> [String: TraceArgument] = [:], _ body: () throws -> T) rethrows -> T {
        guard let trace = self else { return try body() }
        return try trace.recorder.span(name, on: ExecutionTrace.main, arguments: arguments(), body)
    }
}

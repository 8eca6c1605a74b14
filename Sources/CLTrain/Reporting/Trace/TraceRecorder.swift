import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Collects the spans of a run for a Chrome trace (`cltrain train --trace`, `cltrain plan
/// --trace`): complete events on named tracks, written as Trace Event Format JSON, which
/// Perfetto's UI (https://ui.perfetto.dev) and chrome://tracing open.
///
/// Thread-safe: the pipeline's workers record from their own threads. Times are the host's
/// monotonic clock (`WallClock.now`), in microseconds from `origin`; device timestamps are mapped
/// onto it before they are recorded (see `OpenCLBackend+Trace`). Nothing is recorded while
/// `isRecording` is false, so a run traces only the steps it is asked to; where no recorder is
/// given at all (`--trace` absent) the executors skip every call, and nothing changes.
///
/// Why not a `ProfilingBackend`-style wrapper: that one synchronizes after every operation, which
/// would serialize the very overlap a trace is meant to show. The executors record their tasks
/// (the host's view), and an OpenCL queue records each kernel's device times from its profiling
/// events (the device's view), without waiting for them until the trace is written.
public final class TraceRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [TraceEvent] = []
    private var tracks: [TraceTrack] = []
    private var known: Set<TraceTrack> = []
    private var deferred: [() throws -> [TraceEvent]] = []
    private var recording: Bool
    private var originNanoseconds: UInt64
    /// Facts about the run for the file's `otherData` (the command, the clocks used).
    private var notes: [String: String] = [:]

    /// - Parameter recording: whether spans are kept from the start (else from `isRecording = true`).
    public init(recording: Bool = true) {
        self.recording = recording
        originNanoseconds = WallClock.now
    }

    /// Whether `record` keeps what it is given.
    public var isRecording: Bool {
        get { lock.withLock { recording } }
        set { lock.withLock { recording = newValue } }
    }

    /// The host time (`WallClock.now`) that is 0 µs in the trace.
    public var origin: UInt64 {
        get { lock.withLock { originNanoseconds } }
        set { lock.withLock { originNanoseconds = newValue } }
    }

    /// Microseconds from the origin to `nanoseconds` (a `WallClock.now` reading; negative before it).
    public func microseconds(_ nanoseconds: UInt64) -> Double {
        let origin = self.origin
        return nanoseconds >= origin ? Double(nanoseconds - origin) / 1e3 : -Double(origin - nanoseconds) / 1e3
    }

    /// Names `track` now, so that the viewer lists it in this order (first declared, first shown),
    /// also when it gets no event.
    public func declare(_ track: TraceTrack) {
        lock.withLock { declareLocked(track) }
    }

    private func declareLocked(_ track: TraceTrack) {
        if known.insert(track).inserted { tracks.append(track) }
    }

    /// A span from `start` to `end` (`WallClock.now` readings) on `track`, if recording.
    public func record(_ name: String, category: String, on track: TraceTrack, from start: UInt64, to end: UInt64,
                       arguments: [String: TraceArgument] = [:]) {
        let event = TraceEvent(name: name, category: category, track: track, start: microseconds(start),
                               duration: end >= start ? Double(end - start) / 1e3 : 0, arguments: arguments)
        lock.withLock {
            guard recording else { return }
            declareLocked(track)
            events.append(event)
        }
    }

    /// Runs `body` and records it as a span on `track` when recording (also when it throws).
    public func span<T>(_ name: String, category: String = TraceCategory.task, on track: TraceTrack,
                        arguments: [String: TraceArgument] = [:], _ body: () throws -> T) rethrows -> T {
        let start = WallClock.now
        defer { record(name, category: category, on: track, from: start, to: WallClock.now, arguments: arguments) }
        return try body()
    }

    /// An event as it is, recording or not (a simulated schedule, a merged trace).
    public func append(_ event: TraceEvent) {
        lock.withLock {
            declareLocked(event.track)
            events.append(event)
        }
    }

    /// Events that can only be read later (a device's profiling times, which wait for their
    /// commands): `resolve` runs once, when the trace is read or written.
    public func appendLater(_ resolve: @escaping () throws -> [TraceEvent]) {
        lock.withLock { deferred.append(resolve) }
    }

    /// Adds `other`'s tracks and events, each process renamed by `process` (e.g. to prefix
    /// "measured: "), its times shifted by `offset` µs.
    public func append(contentsOf other: TraceRecorder, offset: Double = 0, process rename: (String) -> String = { $0 }) throws {
        let (otherTracks, otherEvents) = try other.contents()
        lock.withLock {
            for track in otherTracks { declareLocked(TraceTrack(process: rename(track.process), thread: track.thread)) }
            for var event in otherEvents {
                event.track.process = rename(event.track.process)
                event.start += offset
                events.append(event)
            }
        }
    }

    /// A line for the file's `otherData` (shown by chrome://tracing's metadata view).
    public func note(_ key: String, _ value: String) {
        lock.withLock { notes[key] = value }
    }

    /// Every track in the order declared and every event, the deferred ones resolved.
    public func contents() throws -> (tracks: [TraceTrack], events: [TraceEvent]) {
        let pending = lock.withLock {
            defer { deferred = [] }
            return deferred
        }
        var resolved: [TraceEvent] = []
        for resolve in pending { resolved += try resolve() }
        return lock.withLock {
            for event in resolved {
                declareLocked(event.track)
                events.append(event)
            }
            return (tracks, events)
        }
    }

    /// Seconds of `category`'s events per track: a worker's busy time (`task`), a device's (`device`, `kernel`).
    public func busySeconds(category: String) throws -> [TraceTrack: Double] {
        var result: [TraceTrack: Double] = [:]
        for event in try contents().events where event.category == category {
            result[event.track, default: 0] += event.duration * 1e-6
        }
        return result
    }

    // MARK: The file

    /// The Trace Event Format document: `{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}`,
    /// metadata events (`ph: "M"`) naming and ordering every process and thread first, then the
    /// complete events (`ph: "X"`) in time order.
    public func document() throws -> [String: Any] {
        let (tracks, events) = try contents()
        var processes: [String: Int] = [:], threads: [TraceTrack: Int] = [:]
        var metadata: [[String: Any]] = []
        for track in tracks {
            let pid: Int
            if let known = processes[track.process] {
                pid = known
            } else {
                pid = processes.count + 1
                processes[track.process] = pid
                metadata.append(["ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": ["name": track.process]])
                metadata.append(["ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": ["sort_index": pid]])
            }
            let tid = threads.keys.filter { $0.process == track.process }.count + 1
            threads[track] = tid
            metadata.append(["ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": ["name": track.thread]])
            metadata.append(["ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid, "args": ["sort_index": tid]])
        }
        let spans: [[String: Any]] = events.sorted { ($0.start, $0.name) < ($1.start, $1.name) }.map { event in
            var object: [String: Any] = [
                "ph": "X", "name": event.name, "cat": event.category,
                "ts": Self.rounded(event.start), "dur": Self.rounded(event.duration),
                "pid": processes[event.track.process] ?? 0, "tid": threads[event.track] ?? 0,
            ]
            if !event.arguments.isEmpty { object["args"] = event.arguments.mapValues(\.jsonValue) }
            return object
        }
        var other = lock.withLock { notes }
        other["clock"] = other["clock"] ?? "host monotonic clock, µs from the trace's origin"
        return ["traceEvents": metadata + spans, "displayTimeUnit": "ms", "otherData": other]
    }

    /// To the nanosecond: shorter files, and no float noise in the viewers' labels.
    private static func rounded(_ microseconds: Double) -> Double { (microseconds * 1e3).rounded() / 1e3 }

    /// Writes the trace to `url` through `AtomicFile` (replaced atomically, as `--json` files are).
    public func write(to url: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: document(), options: [.sortedKeys])
        try AtomicFile.write(data, to: url)
    }

    /// Refuses, before a run, a trace path that could not be written at its end: a folder, a
    /// missing or unwritable parent folder. `option` names the flag in the message.
    public static func checkWritable(_ path: String, option: String = "--trace") throws {
        guard !path.isEmpty else { throw CLTrainError.invalidArgument("\(option): the path is empty") }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw CLTrainError.invalidArgument("\(option) '\(path)': it is a directory; give a file name") }
            guard access(path, W_OK) == 0 else { throw CLTrainError.invalidArgument("\(option) '\(path)': the file is not writable") }
            return
        }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLTrainError.invalidArgument("\(option) '\(path)': the folder '\(parent)' does not exist")
        }
        guard access(parent, W_OK) == 0 else {
            throw CLTrainError.invalidArgument("\(option) '\(path)': the folder '\(parent)' is not writable")
        }
    }
}

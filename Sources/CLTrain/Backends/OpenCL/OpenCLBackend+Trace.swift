import Foundation

// A trace of an OpenCL queue: every kernel the backend launches while the recorder records gets
// a profiling event (the queues have CL_QUEUE_PROFILING_ENABLE, as `OpenCLQueue` makes them for
// the benchmarks; without a trace no event is requested, so nothing changes), and its START and
// END, read only when the trace is written, become a span on the queue's track.
//
// The device clock is mapped onto the host's (`WallClock`) by an offset calibrated when the
// trace starts: on the drained queue a marker is enqueued and waited for, five times; the one
// with the shortest host round trip gives offset = (host before + host after) / 2 − the marker's
// END, within half that round trip (recorded in the file's `otherData`). This works on every
// OpenCL 1.2 device; clGetDeviceAndHostTimer (OpenCL 2.1) would pair the device clock with the
// implementation's host clock, which need not be ours, so it would still need this step.

/// One queue's kernels awaiting their profiling times.
final class QueueTrace: @unchecked Sendable {
    let recorder: TraceRecorder
    let track: TraceTrack
    /// Host nanoseconds minus device nanoseconds.
    let offset: Int64
    private let lock = NSLock()
    private var pending: [(name: String, event: OpenCLEvent, global: [Int])] = []

    init(recorder: TraceRecorder, track: TraceTrack, offset: Int64) {
        self.recorder = recorder
        self.track = track
        self.offset = offset
    }

    func add(_ name: String, _ event: OpenCLEvent, global: [Int]) {
        let first = lock.withLock {
            pending.append((name, event, global))
            return pending.count == 1
        }
        if first { recorder.appendLater { [self] in try resolve() } }
    }

    /// The pending kernels as spans (waits for each to finish).
    private func resolve() throws -> [TraceEvent] {
        let kernels = lock.withLock {
            defer { pending = [] }
            return pending
        }
        return try kernels.map { kernel in
            let start = try host(kernel.event.profilingNanoseconds(.started))
            let end = try host(kernel.event.profilingNanoseconds(.ended))
            return TraceEvent(name: kernel.name, category: TraceCategory.kernel, track: track, start: recorder.microseconds(start),
                              duration: end >= start ? Double(end - start) / 1e3 : 0,
                              arguments: ["global": .shape(kernel.global)])
        }
    }

    /// A device timestamp on the host clock (wrapping: both clocks count nanoseconds, and only
    /// differences of a trace's length are used).
    private func host(_ device: UInt64) -> UInt64 { UInt64(bitPattern: Int64(bitPattern: device) &+ offset) }

    /// (host − device offset, uncertainty in ns) from markers on the drained `queue`.
    static func calibrate(_ queue: OpenCLQueue) throws -> (offset: Int64, uncertainty: UInt64) {
        try queue.finish()
        var best: (offset: Int64, uncertainty: UInt64)?
        for _ in 0..<5 {
            let before = WallClock.now
            let marker = try queue.marker()
            try marker.wait()
            let after = WallClock.now
            let device = try marker.profilingNanoseconds(.ended)
            let middle = before + (after - before) / 2
            let sample = (offset: Int64(bitPattern: middle) &- Int64(bitPattern: device), uncertainty: (after - before) / 2)
            if best.map({ sample.uncertainty < $0.uncertainty }) ?? true { best = sample }
        }
        guard let best else { throw CLTrainError.invalidArgument("no clock calibration for \(queue.context.device.name)") }
        return best
    }
}

extension OpenCLBackend: TraceableBackend {
    public func trace(into recorder: TraceRecorder?, track: TraceTrack) throws {
        guard let recorder else {
            queueTrace = nil
            return
        }
        let (offset, uncertainty) = try QueueTrace.calibrate(queue)
        recorder.declare(track)
        recorder.note("clock \(track)", String(format: "OpenCL profiling START/END mapped to the host clock by a marker's END, ±%.1f µs",
                                               Double(uncertainty) / 1e3))
        queueTrace = QueueTrace(recorder: recorder, track: track, offset: offset)
    }
}

import Foundation

/// The clock of one timing device, which behaves like a GPU's in-order queue: compute and device
/// copies are enqueued (the host goes on at once) and the device works through them one after
/// another for the time the cost table gives each; an upload, a download or `synchronize` waits
/// for everything enqueued before it, then for its own transfer. Waiting is sleeping (not
/// spinning), so timing devices run truly in parallel on any number of cores. Several backends
/// (queues) of one device share its one queue.
///
/// Sleeps are to an absolute deadline on the monotonic clock. A thread wakes a little after it
/// (tens of µs); work enqueued straight after a wait is charged from the deadline, not from the
/// late wake-up, so wake-up lateness does not accumulate.
public final class TimingDevice: @unchecked Sendable {
    public let name: String
    public let costs: TimingCosts
    private let lock = NSLock()
    private var due: UInt64 = 0          // ns, monotonic: when the last enqueued operation ends
    private var lateWake: UInt64 = 0     // ns the last wait overran its deadline
    private var busyNanoseconds: UInt64 = 0
    /// While traced: each operation enqueued while the recorder records becomes a span from its
    /// modelled start to its end, on `WallClock`'s time (`offset`: WallClock.now − this clock).
    private var trace: (recorder: TraceRecorder, track: TraceTrack, offset: Int64)?

    public init(name: String, costs: TimingCosts) {
        self.name = name
        self.costs = costs
    }

    /// Seconds of operations enqueued since the device was made or `resetBusy()`.
    public var busySeconds: Double { lock.withLock { Double(busyNanoseconds) * 1e-9 } }

    public func resetBusy() { lock.withLock { busyNanoseconds = 0 } }

    /// Traces every operation of this device's queues on `track` (nil: stops).
    func trace(into recorder: TraceRecorder?, track: TraceTrack) {
        let offset = Int64(bitPattern: WallClock.now) &- Int64(bitPattern: Self.monotonicNanoseconds())
        recorder?.declare(track)
        lock.withLock { trace = recorder.map { ($0, track, offset) } }
    }

    /// Enqueues `seconds` of work (nothing for 0), named `operation` in a trace, and returns at
    /// once, with the time (ns, monotonic) the work will be done.
    @discardableResult
    func enqueue(_ seconds: Double, _ operation: @autoclosure () -> String = "work") -> UInt64 {
        // Costs come from a checked table; anything else is clamped rather than trapped on.
        guard seconds > 0, seconds.isFinite else { return lock.withLock { due } }
        let duration = UInt64(min(seconds, 3600) * 1e9)
        return lock.withLock {
            let now = Self.monotonicNanoseconds()
            // An idle device starts now, less the last wait's late wake-up (charged once).
            let start = max(now - min(lateWake, now), due)
            lateWake = 0
            due = start + duration
            busyNanoseconds += duration
            if let trace {
                let hostStart = UInt64(bitPattern: Int64(bitPattern: start) &+ trace.offset)
                trace.recorder.record(operation(), category: TraceCategory.device, on: trace.track, from: hostStart,
                                      to: hostStart + duration)
            }
            return due
        }
    }

    /// Work enqueued after this starts no earlier than `deadline` (a barrier on a marker); the
    /// host does not wait.
    func delay(until deadline: UInt64) {
        lock.withLock { due = max(due, deadline) }
    }

    /// Sleeps until `deadline` (another device's work, e.g. a staged read), then charges the
    /// wake-up's lateness to the next work enqueued here, as `wait()` does.
    func wait(until deadline: UInt64) {
        guard deadline > Self.monotonicNanoseconds() else { return }
        Self.sleep(until: deadline)
        let woke = Self.monotonicNanoseconds()
        lock.withLock { lateWake = woke > deadline ? woke - deadline : 0 }
    }

    /// Sleeps until everything enqueued so far is done.
    func wait() {
        let deadline = lock.withLock { due }
        guard deadline > Self.monotonicNanoseconds() else { return }
        Self.sleep(until: deadline)
        let woke = Self.monotonicNanoseconds()
        lock.withLock { lateWake = woke > deadline ? woke - deadline : 0 }
    }

    /// A blocking operation: waits for the queue, then for `seconds` more.
    func blocking(_ seconds: Double, _ operation: @autoclosure () -> String = "work") {
        enqueue(seconds, operation())
        wait()
    }

    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    static func sleep(until deadline: UInt64) {
        var target = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        // EINTR: a signal woke the thread early; sleep on to the same deadline.
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
    }
}

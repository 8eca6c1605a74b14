import Foundation

/// The clock of one timing device: every operation of its backends holds the device for the time
/// the cost table gives it, by sleeping (not spinning), so timing devices run truly in parallel on
/// any number of cores. Several backends (queues) of one device take turns, one operation at a time.
///
/// Sleeps are to an absolute deadline on the monotonic clock. A thread wakes a little after it
/// (tens of µs); the next operation is charged from the deadline, not from the late wake-up, so
/// back-to-back operations add up to their costs and wake-up jitter does not accumulate.
public final class TimingDevice: @unchecked Sendable {
    public let name: String
    public let costs: TimingCosts
    private let lock = NSLock()
    private var due: UInt64 = 0          // ns, monotonic: when the last operation ends
    private var lateWake: UInt64 = 0     // ns the last sleep overran its deadline
    private var busyNanoseconds: UInt64 = 0

    public init(name: String, costs: TimingCosts) {
        self.name = name
        self.costs = costs
    }

    /// Seconds the device has spent on operations since it was made or `resetBusy()`.
    public var busySeconds: Double { lock.withLock { Double(busyNanoseconds) * 1e-9 } }

    public func resetBusy() { lock.withLock { busyNanoseconds = 0 } }

    /// Holds the device for `seconds` (nothing for 0).
    func spend(_ seconds: Double) {
        // Costs come from a checked table; anything else is clamped rather than trapped on.
        guard seconds > 0, seconds.isFinite else { return }
        let duration = UInt64(min(seconds, 3600) * 1e9)
        lock.withLock {
            let now = Self.monotonicNanoseconds()
            // Straight after the previous operation, start at its deadline, not at the late wake-up.
            let start = max(now - min(lateWake, now), due)
            let end = start + duration
            due = end
            busyNanoseconds += duration
            Self.sleep(until: end)
            let woke = Self.monotonicNanoseconds()
            lateWake = woke > end ? woke - end : 0
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    private static func sleep(until deadline: UInt64) {
        var target = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        // EINTR: a signal woke the thread early; sleep on to the same deadline.
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &target, nil) == EINTR {}
    }
}

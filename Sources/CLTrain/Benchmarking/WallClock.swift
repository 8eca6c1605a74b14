import Dispatch

/// Host time by the monotonic clock, for what device profiling events cannot time: the CPU
/// backend, host work, whole pipelined phases.
public enum WallClock {
    /// Nanoseconds since an arbitrary fixed point; only differences mean anything.
    public static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Seconds from `start` (a `now` reading) until now.
    public static func seconds(since start: UInt64) -> Double { Double(now - start) * 1e-9 }

    /// Seconds `body` takes.
    public static func seconds(of body: () throws -> Void) rethrows -> Double {
        let start = now
        try body()
        return seconds(since: start)
    }

    /// One unmeasured call of `body` (first-use costs: kernel builds, allocations, page faults),
    /// then `runs` timed ones, or fewer once `budgetSeconds` (counted from the first timed call)
    /// is spent — but always at least one.
    public static func timings(runs: Int, budgetSeconds: Double = .infinity,
                               _ body: () throws -> Void) throws -> TimingSummary {
        try body()
        let start = now
        var samples: [Double] = []
        repeat {
            samples.append(try seconds(of: body))
        } while samples.count < runs && seconds(since: start) < budgetSeconds
        return try TimingSummary(samples: samples)
    }
}

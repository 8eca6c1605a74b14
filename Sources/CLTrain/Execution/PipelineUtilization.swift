/// Busy and wall time of pipelined phases, summed over steps: how well the devices were kept busy.
/// Every worker counts in both phases, so a softmax shard's worker, which has nothing to do in
/// the backward phase, shows its device idling there.
public struct PipelineUtilization: Sendable {
    /// Per worker (named by its parts and backend, e.g. "softmax shard 1 on …"): seconds spent running its tasks.
    public private(set) var busySeconds: [String: Double] = [:]
    /// Seconds of the pipelined phases, end to end.
    public private(set) var wallSeconds = 0.0
    private(set) var workerCount = 0

    mutating func record(workers: [String], busy: [Double], wall: Double) {
        for (name, seconds) in zip(workers, busy) { busySeconds[name, default: 0] += seconds }
        wallSeconds += wall
        workerCount = max(workerCount, workers.count)
    }

    /// Per worker, busy time over wall time.
    public var busyFractions: [String: Double] {
        busySeconds.mapValues { wallSeconds > 0 ? $0 / wallSeconds : 0 }
    }

    /// The share of worker time spent waiting: 1 − Σ busy / (workers · wall).
    public var bubbleFraction: Double {
        guard wallSeconds > 0, workerCount > 0 else { return 0 }
        return max(0, 1 - busySeconds.values.reduce(0, +) / (Double(workerCount) * wallSeconds))
    }
}

/// A rate (tokens per second) over the last `window` measurements: their units over their summed
/// time, so one slow or instant step does not swing it. A step too quick for the clock counts as
/// no time; the rate is nil until some time has passed (never an infinity to print or convert).
public struct MovingRate: Sendable {
    public let window: Int
    private var recent: [(units: Double, seconds: Double)] = []

    public init(window: Int) {
        self.window = max(window, 1)
    }

    /// One measurement; a negative or non-finite time or count is taken as 0.
    public mutating func record(units: Double, seconds: Double) {
        recent.append((units.isFinite ? max(units, 0) : 0, seconds.isFinite ? max(seconds, 0) : 0))
        if recent.count > window { recent.removeFirst(recent.count - window) }
    }

    /// Units per second over the window, or nil before any time has been measured.
    public var rate: Double? {
        let seconds = recent.reduce(0) { $0 + $1.seconds }
        guard seconds > 0 else { return nil }
        let rate = recent.reduce(0) { $0 + $1.units } / seconds
        return rate.isFinite ? rate : nil
    }
}

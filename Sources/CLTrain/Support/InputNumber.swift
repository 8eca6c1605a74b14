/// The one check every number from a flag, an environment variable or a file passes before
/// anything is built from it: the value, the name the user knows it by (the flag, the variable,
/// the field of a file), the range allowed, and why the range is what it is. The message names
/// all of them: "--batch 0: must be at least 1 (sequences per batch)".
public enum InputNumber {
    /// `value` if it lies in `range`; `CLTrainError.invalidNumber` otherwise.
    @discardableResult
    public static func check(_ value: Int, _ name: String, in range: ClosedRange<Int>, why: String? = nil) throws -> Int {
        guard range.contains(value) else {
            throw CLTrainError.invalidNumber(InvalidNumber(name: name, value: "\(value)", allowed: describe(range), why: why))
        }
        return value
    }

    /// `value` if it is finite and lies in `bounds` (NaN lies in none).
    @discardableResult
    public static func check(_ value: Double, _ name: String, in bounds: RealBounds, why: String? = nil) throws -> Double {
        guard bounds.contains(value) else {
            throw CLTrainError.invalidNumber(InvalidNumber(name: name, value: "\(value)", allowed: bounds.description, why: why))
        }
        return value
    }

    @discardableResult
    public static func check(_ value: Float, _ name: String, in bounds: RealBounds, why: String? = nil) throws -> Float {
        guard bounds.contains(Double(value)) else {
            throw CLTrainError.invalidNumber(InvalidNumber(name: name, value: "\(value)", allowed: bounds.description, why: why))
        }
        return value
    }

    static func describe(_ range: ClosedRange<Int>) -> String {
        switch (range.lowerBound, range.upperBound) {
        case (.min, .max): "any integer"
        case (let low, .max): "at least \(low)"
        case (.min, let high): "at most \(high)"
        case (let low, let high) where low == high: "exactly \(low)"
        case (let low, let high): "in \(low)...\(high)"
        }
    }
}

/// A number outside the range its use allows (thrown as `CLTrainError.invalidNumber`).
public struct InvalidNumber: Error, CustomStringConvertible, Equatable, Sendable {
    /// The flag, variable or field, e.g. "--batch".
    public let name: String
    /// The value as given.
    public let value: String
    /// The allowed range in words, e.g. "in (0, ∞)" or "at least 1".
    public let allowed: String
    /// Why the range is what it is, when that is not obvious.
    public let why: String?

    public init(name: String, value: String, allowed: String, why: String? = nil) {
        self.name = name
        self.value = value
        self.allowed = allowed
        self.why = why
    }

    public var description: String {
        "\(name) \(value): must be \(allowed)" + (why.map { " (\($0))" } ?? "")
    }
}

/// An interval of finite reals, each end open or closed: "(0, ∞)", "[0, 1)".
public struct RealBounds: CustomStringConvertible, Equatable, Sendable {
    public let lower: Double
    public let lowerClosed: Bool
    public let upper: Double
    public let upperClosed: Bool

    public init(lower: Double, lowerClosed: Bool, upper: Double, upperClosed: Bool) {
        self.lower = lower
        self.lowerClosed = lowerClosed
        self.upper = upper
        self.upperClosed = upperClosed
    }

    /// (0, ∞): rates, intervals, bandwidths.
    public static let positive = RealBounds(lower: 0, lowerClosed: false, upper: .infinity, upperClosed: false)
    /// [0, ∞): thresholds where 0 means off, temperatures, latencies.
    public static let nonNegative = RealBounds(lower: 0, lowerClosed: true, upper: .infinity, upperClosed: false)
    /// [0, 1): a probability that must leave something (dropout).
    public static let probabilityBelowOne = RealBounds(lower: 0, lowerClosed: true, upper: 1, upperClosed: false)

    /// [lower, upper].
    public static func closed(_ lower: Double, _ upper: Double) -> RealBounds {
        RealBounds(lower: lower, lowerClosed: true, upper: upper, upperClosed: true)
    }

    /// (0, upper].
    public static func positive(atMost upper: Double) -> RealBounds {
        RealBounds(lower: 0, lowerClosed: false, upper: upper, upperClosed: true)
    }

    /// Finite and inside; NaN and ±∞ are never inside.
    public func contains(_ value: Double) -> Bool {
        guard value.isFinite else { return false }
        let aboveLower = lowerClosed ? value >= lower : value > lower
        let belowUpper = upperClosed ? value <= upper : value < upper
        return aboveLower && belowUpper
    }

    public var description: String {
        let end = upper == .infinity ? "∞" : plain(upper)
        let range = "\(lowerClosed ? "[" : "(")\(plain(lower)), \(end)\(upperClosed && upper.isFinite ? "]" : ")")"
        return "a finite number in \(range)"
    }
}

/// 0 rather than 0.0, 1e-06 as is.
private func plain(_ x: Double) -> String {
    x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
}

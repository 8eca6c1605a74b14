/// A count or size computed from input that does not fit in 64 bits: thrown by `Checked` instead
/// of the trap an unchecked `*` or `+` would hit.
public struct ArithmeticOverflow: Error, CustomStringConvertible, Equatable, Sendable {
    /// What was being computed, e.g. "--batch × --bptt".
    public let what: String

    public init(_ what: String) { self.what = what }

    public var description: String { "\(what) overflows a 64-bit integer (more than \(Int.max))" }
}

/// Integer arithmetic on sizes and counters that come from input (flags, files, training state):
/// every operation reports overflow as an `ArithmeticOverflow` naming the quantity.
public enum Checked {
    /// The product of `factors`; 1 for none.
    public static func product(_ factors: Int..., what: String) throws -> Int { try product(factors, what: what) }

    public static func product(_ factors: [Int], what: String) throws -> Int {
        var result = 1
        for factor in factors {
            let (value, overflow) = result.multipliedReportingOverflow(by: factor)
            guard !overflow else { throw ArithmeticOverflow(what) }
            result = value
        }
        return result
    }

    /// The sum of `terms`; 0 for none.
    public static func sum(_ terms: Int..., what: String) throws -> Int { try sum(terms, what: what) }

    public static func sum(_ terms: [Int], what: String) throws -> Int {
        var result = 0
        for term in terms {
            let (value, overflow) = result.addingReportingOverflow(term)
            guard !overflow else { throw ArithmeticOverflow(what) }
            result = value
        }
        return result
    }

    /// `value + 1`, for counters such as a step count.
    public static func increment(_ value: Int, what: String) throws -> Int { try sum(value, 1, what: what) }

    /// `value − subtrahend`.
    public static func difference(_ value: Int, _ subtrahend: Int, what: String) throws -> Int {
        let (result, overflow) = value.subtractingReportingOverflow(subtrahend)
        guard !overflow else { throw ArithmeticOverflow(what) }
        return result
    }

    /// `value` as an Int if it is finite and in range (rounded toward zero); nil otherwise, where
    /// `Int(value)` would trap.
    public static func integer(_ value: Double) -> Int? {
        // 2^63 is exactly representable; every double below it converts.
        guard value.isFinite, value > -0x1p63, value < 0x1p63 else { return nil }
        return Int(value)
    }
}

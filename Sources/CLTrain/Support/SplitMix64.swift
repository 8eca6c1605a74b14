/// SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast generator whose whole state is one 64-bit
/// word, so the same seed gives the same numbers on every machine and Swift version.
///
/// The verification suite seeds one per case, which gives the CPU reference and the device
/// identical inputs and makes a failing case reproducible by its name alone. Training draws weights
/// and dropout masks from it, and checkpoints `state` so a resumed run draws what it would have.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The whole state: `SplitMix64(seed: g.state)` continues exactly where `g` is.
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A seed derived from a string (64-bit FNV-1a), e.g. a verification case's name.
    public init(seed text: String) {
        var hash = FNV1a()
        hash.combine(text)
        self.init(seed: hash.value)
    }

    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.mix(state)
    }

    /// The `n`-th draw (n ≥ 1) of a generator whose state is `state`, without the draws before
    /// it: SplitMix64 hashes a counter, which is what lets a device draw dropout masks in
    /// parallel and still match the host (Kernels/elementwise.cl, `dropout_mask`).
    public static func draw(_ n: UInt64, fromState state: UInt64) -> UInt64 {
        mix(state &+ n &* increment)
    }

    /// Advances the generator past `count` draws, as `count` calls of `next()` would.
    public mutating func skip(_ count: Int) {
        state &+= UInt64(count) &* Self.increment
    }

    /// 2⁶⁴ / φ, odd: the counter's step.
    private static let increment: UInt64 = 0x9e37_79b9_7f4a_7c15

    /// The output function (Stafford's variant 13 of MurmurHash3's finalizer).
    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A float uniform in [−1, 1): the top 24 bits scaled, so every value is exact in float32 and
    /// the mapping does not depend on the standard library's `random(in:using:)`.
    public mutating func uniform() -> Float {
        Float(next() >> 40) * 0x1p-23 - 1
    }

    /// A float uniform in [0, 1), from the top 24 bits.
    public mutating func unitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// `count` floats uniform in [−1, 1), each multiplied by `scale`.
    public mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        // A plain loop into uninitialized storage: the suite draws tens of millions of values, and
        // test builds are unoptimized.
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            for index in 0..<count { buffer[index] = uniform() * scale }
            initialized = count
        }
    }
}

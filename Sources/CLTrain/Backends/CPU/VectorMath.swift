// exp, σ and tanh over eight floats at a time, for the CPU backend's loops.
//
// The library is built for baseline x86-64 (SSE2) and any ARM64, so nothing here may need a
// newer instruction: no FMA (`addingProduct` would become a libm call per lane), no `rounded()`
// (SSE4.1); rounding to an integer uses the 1.5·2²³ trick and powers of two are built from bits.
// Every function is branch-free and handles every input, so a loop's last, partial vector needs no
// special case.
//
// Accuracy, in ulp of the correctly rounded float result, against Foundation's Double exp and
// tanh at every float of [−105, 105] (exp, σ; 2.24 billion values; beyond, the clamp gives +∞ or
// 0) and of [−12, 12] (tanh, 2.19 billion; beyond, ±1 exactly).
// Tests/CLTrainTests/VectorMathTests.swift holds these bounds on a dense grid and the edge values:
//
//   exp      < 1 ulp (0.9903 at 70.40), denormal results included (in the denormals' spacing);
//            +∞ from 88.72284 (the first float above ln of the largest float) and for +∞; +0
//            below −103.97 and for −∞; NaN → NaN
//   sigmoid  ≤ 2.41 ulp (2.402 at −4.157); exactly 1 from 16.64, denormal below −87.3, +0 below
//            −103.97; NaN → NaN
//   tanh     ≤ 1.51 ulp (1.509 at 1.2476), relative also for tiny and denormal x (tanh x = x
//            there); ±1 from |x| ≥ 8.67; tanh(±0) = ±0; NaN → NaN
//
// Throughput (release, this repository's 2-core VM, 1 Mi floats): about 2 ns per element for
// exp, 2.5 for σ, 2.7 for tanh, against 25–55 ns for libm's scalar expf and tanhf on the same run.

/// The vector the CPU backend's loops work in: eight lanes, two SSE registers or one AVX one.
typealias FloatVector = SIMD8<Float>

enum VectorMath {
    // MARK: exp

    /// eˣ per lane (Cephes expf: Cody–Waite reduction x = n·ln 2 + r, |r| ≤ ln2/2, then a degree-6
    /// polynomial for eʳ, scaled by 2ⁿ in two halves so that denormal and overflowing results round
    /// once, correctly, in the final multiply).
    @inline(__always)
    static func exp(_ x: FloatVector) -> FloatVector {
        // Beyond these, eˣ is +∞ or +0 anyway; clamping keeps n in range. NaN passes through
        // both comparisons unchanged and turns the result into NaN.
        var v = x.replacing(with: 89, where: x .> 89)
        v.replace(with: -104, where: v .< -104)

        // n = round(v·log₂e): adding 1.5·2²³ leaves the integer in the low mantissa bits.
        let magic: Float = 12_582_912
        let shifted = v * 1.442_695_040_888_963_4 + magic
        let nf = shifted - magic
        let n = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- Int32(bitPattern: magic.bitPattern)

        // r = v − n·ln 2 with ln 2 in two parts; n·C1 is exact (C1 has 9 significant bits).
        var r = v - nf * 0.693_359_375
        r = r - nf * -2.121_944_400_546_905_8e-4

        let r2 = r * r
        var p: FloatVector = FloatVector(repeating: 1.987_569_150_0e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * r2 + r + 1

        // 2ⁿ = 2^(n/2) · 2^(n − n/2): n ∈ [−150, 129], so each half is a normal float.
        let half = n &>> 1
        return p * powerOfTwo(half) * powerOfTwo(n &- half)
    }

    /// 2ᵏ for k in [−126, 127], from the exponent bits.
    @inline(__always)
    private static func powerOfTwo(_ k: SIMD8<Int32>) -> FloatVector {
        unsafeBitCast((k &+ 127) &<< 23, to: FloatVector.self)
    }

    // MARK: σ and tanh

    /// σ(x) = 1 / (1 + e⁻ˣ) per lane, as e / (1 + e) with e = e^−|x| for x < 0, so that no
    /// intermediate overflows.
    @inline(__always)
    static func sigmoid(_ x: FloatVector) -> FloatVector {
        let e = exp(-magnitude(x))  // (0, 1]
        let numerator = FloatVector(repeating: 1).replacing(with: e, where: x .< 0)
        return numerator / (1 + e)
    }

    /// tanh(x) per lane: an odd polynomial for |x| < 0.625, where 1 − e^−2|x| would lose digits to
    /// cancellation (Cephes tanhf), else (1 − e) / (1 + e) with e = e^−2|x| ∈ (0, 0.29], which
    /// saturates to exactly 1 once e is below half an ulp of 1. The sign is put back last, so
    /// tanh(−0) = −0.
    @inline(__always)
    static func tanh(_ x: FloatVector) -> FloatVector {
        let a = magnitude(x)
        let z = a * a
        var p: FloatVector = FloatVector(repeating: -5.704_988_727_45e-3)
        p = p * z + 2.063_908_879_54e-2
        p = p * z - 5.373_971_555_31e-2
        p = p * z + 1.333_144_220_36e-1
        p = p * z - 3.333_328_194_22e-1
        let small = p * z * a + a

        let e = exp(-2 * a)
        let large = (1 - e) / (1 + e)

        let t = large.replacing(with: small, where: a .< 0.625)
        return unsafeBitCast(unsafeBitCast(t, to: SIMD8<UInt32>.self) | signBits(x), to: FloatVector.self)
    }

    /// The lane functions on one float, for the odd scalar the vector loops need (a target's
    /// logit): the same code, so the same result as in a vector.
    @inline(__always)
    static func exp(_ x: Float) -> Float { exp(FloatVector(repeating: x))[0] }

    // MARK: Bits

    @inline(__always)
    static func magnitude(_ x: FloatVector) -> FloatVector {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: FloatVector.self)
    }

    @inline(__always)
    private static func signBits(_ x: FloatVector) -> SIMD8<UInt32> {
        unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
    }

    // MARK: Loading and storing

    /// Elements `offset ..< offset + count` of `base` (count ≤ 8) as a vector, the lanes past
    /// `count` set to `padding`: the last, partial vector of a row goes through the same code as
    /// the others.
    @inline(__always)
    static func load(_ base: UnsafePointer<Float>, _ offset: Int, _ count: Int,
                     padding: Float = 0) -> FloatVector {
        if count == FloatVector.scalarCount {
            return UnsafeRawPointer(base + offset).loadUnaligned(as: FloatVector.self)
        }
        var v = FloatVector(repeating: padding)
        for lane in 0..<count { v[lane] = base[offset + lane] }
        return v
    }

    /// Calls `body(offset, count)` for each vector's worth of `0 ..< total` in order: full vectors,
    /// then one partial vector of `count` < 8 if `total` is not a multiple of 8.
    @inline(__always)
    static func forEachVector(_ total: Int, _ body: (_ offset: Int, _ count: Int) throws -> Void) rethrows {
        var offset = 0
        while offset < total {
            let count = min(FloatVector.scalarCount, total - offset)
            try body(offset, count)
            offset += count
        }
    }

    /// Writes the first `count` lanes (≤ 8) of `v` to `base[offset ..< offset + count]`.
    @inline(__always)
    static func store(_ v: FloatVector, _ base: UnsafeMutablePointer<Float>, _ offset: Int, _ count: Int) {
        if count == FloatVector.scalarCount {
            UnsafeMutableRawPointer(base + offset).storeBytes(of: v, as: FloatVector.self)
            return
        }
        for lane in 0..<count { base[offset + lane] = v[lane] }
    }
}

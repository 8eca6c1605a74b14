import Foundation
import Testing
@testable import CLTrain

// VectorMath's exp, σ and tanh against Foundation's Double functions, in ulp of the correctly
// rounded float result, over a dense grid of the whole float range and at the edge values. The
// bounds are the ones VectorMath.swift states, measured there over every float of the range where
// the functions are not constant; a grid point beyond them is a regression.

@Suite("Vector math")
struct VectorMathTests {
    static let expBound = 1.0
    static let sigmoidBound = 2.41
    static let tanhBound = 1.51

    /// |y − exact| in units of the spacing of floats at the correctly rounded result (the smallest
    /// denormal's in the denormal range); 0 where both are the same infinity or both NaN.
    static func ulpError(_ y: Float, _ exact: Double) -> Double {
        if exact.isNaN { return y.isNaN ? 0 : .infinity }
        let rounded = Float(exact)
        if rounded.isInfinite { return y == rounded ? 0 : .infinity }
        guard y.isFinite else { return .infinity }
        return abs(Double(y) - exact) / Double(rounded.magnitude.ulp)
    }

    static func exactSigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x)) }

    /// Every 2¹³-th float by bit pattern from 0 to 110 and its negation (about 280 000 values,
    /// every binade and the denormals), and 40 001 evenly spaced points in [−20, 20].
    static let grid: [Float] = {
        var values: [Float] = []
        var bits: UInt32 = 0
        while bits <= Float(110).bitPattern {
            let x = Float(bitPattern: bits)
            values += [x, -x]
            bits += 1 << 13
        }
        values += (0...40_000).map { Float(-20 + Double($0) / 1000) }
        return values
    }()

    /// A denormal in the middle of their range (about 9e-41).
    static let denormal = Float.leastNormalMagnitude / 128

    static let edges: [Float] = [
        0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, denormal, -denormal, .leastNormalMagnitude,
        -.leastNormalMagnitude, 1e-30, -1e-30, 1e-7, -1e-7, 0.625, -0.625, Float(0.625).nextDown, -Float(0.625).nextDown,
        9, -9, 9.1, -9.1, 17.3, 17.4, -17.4, 88, 88.72283, 88.72284, 88.8, 89, 100, 104, 105,
        -87, -87.33655, -88, -100, -103.27, -103.9, -103.98, -104, -105, .greatestFiniteMagnitude,
        -.greatestFiniteMagnitude, .infinity, -.infinity, .nan,
    ]

    /// The largest ulp error of `function` against `exact` over `inputs`, and where.
    static func worstError(_ inputs: [Float], _ function: (FloatVector) -> FloatVector,
                           _ exact: (Double) -> Double) -> (ulp: Double, at: Float) {
        var worst = (ulp: 0.0, at: Float.zero)
        VectorMath.forEachVector(inputs.count) { offset, count in
            var x = FloatVector(repeating: 0)
            for lane in 0..<count { x[lane] = inputs[offset + lane] }
            let y = function(x)
            for lane in 0..<count {
                let error = ulpError(y[lane], exact(Double(x[lane])))
                if !(error <= worst.ulp) { worst = (error, x[lane]) }
            }
        }
        return worst
    }

    @Test func expIsWithinItsBound() {
        let worst = Self.worstError(Self.grid + Self.edges, VectorMath.exp, Foundation.exp)
        #expect(worst.ulp <= Self.expBound, "exp: \(worst.ulp) ulp at \(worst.at)")
    }

    @Test func sigmoidIsWithinItsBound() {
        let worst = Self.worstError(Self.grid + Self.edges, VectorMath.sigmoid, Self.exactSigmoid)
        #expect(worst.ulp <= Self.sigmoidBound, "sigmoid: \(worst.ulp) ulp at \(worst.at)")
    }

    @Test func tanhIsWithinItsBound() {
        let worst = Self.worstError(Self.grid + Self.edges, VectorMath.tanh, Foundation.tanh)
        #expect(worst.ulp <= Self.tanhBound, "tanh: \(worst.ulp) ulp at \(worst.at)")
    }

    /// One value through lane 3 of a vector whose other lanes hold other values.
    static func lane(_ function: (FloatVector) -> FloatVector, _ x: Float) -> Float {
        var v = FloatVector(1, -2, 50, 0, -90, 3, .nan, .infinity)
        v[3] = x
        return function(v)[3]
    }

    @Test func expEdgeValues() {
        #expect(Self.lane(VectorMath.exp, 0) == 1)
        #expect(Self.lane(VectorMath.exp, -0.0) == 1)
        #expect(Self.lane(VectorMath.exp, .leastNonzeroMagnitude) == 1)
        #expect(Self.lane(VectorMath.exp, -.leastNonzeroMagnitude) == 1)
        // ln(greatestFiniteMagnitude) ≈ 88.7228391: the float below is finite, the one above +∞.
        #expect(Self.lane(VectorMath.exp, 88.72283).isFinite)
        #expect(Self.lane(VectorMath.exp, 88.72284) == .infinity)
        #expect(Self.lane(VectorMath.exp, 104) == .infinity)
        #expect(Self.lane(VectorMath.exp, .greatestFiniteMagnitude) == .infinity)
        #expect(Self.lane(VectorMath.exp, .infinity) == .infinity)
        // Normal down to −87.34, denormal below, 0 once under half the smallest denormal (−103.97).
        #expect(Self.lane(VectorMath.exp, -87.3).isNormal)
        #expect(Self.lane(VectorMath.exp, -100).isSubnormal)
        #expect(Self.lane(VectorMath.exp, -103.9) == .leastNonzeroMagnitude)
        #expect(Self.lane(VectorMath.exp, -103.98) == 0)
        #expect(Self.lane(VectorMath.exp, -.greatestFiniteMagnitude) == 0)
        #expect(Self.lane(VectorMath.exp, -.infinity) == 0)
        #expect(Self.lane(VectorMath.exp, .nan).isNaN)
        #expect(VectorMath.exp(Float(1)) == VectorMath.exp(FloatVector(repeating: 1))[5])
    }

    @Test func sigmoidEdgeValues() {
        #expect(Self.lane(VectorMath.sigmoid, 0) == 0.5)
        #expect(Self.lane(VectorMath.sigmoid, -0.0) == 0.5)
        #expect(Self.lane(VectorMath.sigmoid, 20) == 1)
        #expect(Self.lane(VectorMath.sigmoid, .greatestFiniteMagnitude) == 1)
        #expect(Self.lane(VectorMath.sigmoid, .infinity) == 1)
        #expect(Self.lane(VectorMath.sigmoid, -100).isSubnormal)
        #expect(Self.lane(VectorMath.sigmoid, -104) == 0)
        #expect(Self.lane(VectorMath.sigmoid, -.greatestFiniteMagnitude) == 0)
        #expect(Self.lane(VectorMath.sigmoid, -.infinity) == 0)
        #expect(Self.lane(VectorMath.sigmoid, .nan).isNaN)
    }

    @Test func tanhEdgeValues() {
        let zero = Self.lane(VectorMath.tanh, 0), negativeZero = Self.lane(VectorMath.tanh, -0.0)
        #expect(zero == 0 && zero.sign == .plus)
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
        // tanh(x) = x to float precision for tiny x, denormals included.
        for x: Float in [.leastNonzeroMagnitude, Self.denormal, .leastNormalMagnitude, 1e-20, 1e-5] {
            #expect(Self.lane(VectorMath.tanh, x) == x, "tanh(\(x))")
            #expect(Self.lane(VectorMath.tanh, -x) == -x, "tanh(\(-x))")
        }
        for x: Float in [9.1, 20, 100, .greatestFiniteMagnitude, .infinity] {
            #expect(Self.lane(VectorMath.tanh, x) == 1, "tanh(\(x))")
            #expect(Self.lane(VectorMath.tanh, -x) == -1, "tanh(\(-x))")
        }
        #expect(Self.lane(VectorMath.tanh, .nan).isNaN)
    }

    @Test func partialVectorsLoadPaddingAndStoreOnlyTheirLanes() {
        var values: [Float] = (0..<11).map { Float($0) }
        values.withUnsafeMutableBufferPointer { buffer in
            let base = buffer.baseAddress!
            #expect(VectorMath.load(base, 8, 3, padding: -.infinity)
                == FloatVector(8, 9, 10, -.infinity, -.infinity, -.infinity, -.infinity, -.infinity))
            #expect(VectorMath.load(base, 1, 8) == FloatVector(1, 2, 3, 4, 5, 6, 7, 8))
            VectorMath.store(FloatVector(repeating: -1), base, 8, 2)
        }
        #expect(values == [0, 1, 2, 3, 4, 5, 6, 7, -1, -1, 10])

        var pieces: [(Int, Int)] = []
        VectorMath.forEachVector(19) { pieces.append(($0, $1)) }
        #expect(pieces.map(\.0) == [0, 8, 16] && pieces.map(\.1) == [8, 8, 3])
        VectorMath.forEachVector(0) { _, _ in Issue.record("no vectors for no elements") }
    }
}

import Testing
@testable import CLTrain

@Suite("Tolerance rule")
struct ToleranceTests {
    let epsilon = Double(Float.ulpOfOne)

    /// 1000 values uniform in [−1, 1), as the verification suite draws them.
    var reference: [Float] {
        var generator = SplitMix64(seed: 7)
        return generator.floats(1000)
    }

    @Test func relativeToleranceGrowsWithTheSquareRootOfTheReductionLength() {
        #expect(Tolerance.relative(reductionLength: 1) == 32 * epsilon)
        #expect(Tolerance.relative(reductionLength: 0) == Tolerance.relative(reductionLength: 1))
        #expect(Tolerance.relative(reductionLength: 2000) == 32 * epsilon * Double(2000).squareRoot())
    }

    @Test func identicalValuesPassWithZeroError() {
        let comparison = compare(reference, to: reference, reductionLength: 1)
        #expect(comparison.passed)
        #expect(comparison.maxAbsError == 0)
        #expect(comparison.maxRelError == 0)
        #expect(comparison.failure == nil)
    }

    @Test func roundingLevelDifferencesPass() {
        // A few ulp on every element: what a different exp/tanh or summation order gives.
        let actual = reference.enumerated().map { index, value in
            var moved = value
            for _ in 0..<(index % 5) { moved = index % 2 == 0 ? moved.nextUp : moved.nextDown }
            return moved
        }
        let comparison = compare(actual, to: reference, reductionLength: 1)
        #expect(comparison.passed, "\(comparison)")
        #expect(comparison.maxAbsError > 0)
    }

    @Test func valuesNearZeroAreJudgedAgainstTheTensorsScale() {
        // A reference element that cancelled to 0 may come out as a tiny non-zero on a device.
        var reference = reference
        reference[3] = 0
        var actual = reference
        actual[3] = 1e-7
        #expect(compare(actual, to: reference, reductionLength: 1).passed)
    }

    @Test func onePercentOnOneElementFails() {
        var reference = reference
        reference[17] = 0.8
        var actual = reference
        actual[17] *= 1.01
        let comparison = compare(actual, to: reference, reductionLength: 2000)
        #expect(!comparison.passed)
        #expect(comparison.worstIndex == 17)
        #expect(comparison.worstActual == actual[17])
        #expect(comparison.worstExpected == 0.8)
        #expect(comparison.failure?.contains("element 17") == true)
    }

    @Test func theBoundScalesWithTheReductionLength() {
        let reference = [Float](repeating: 1, count: 100)
        var actual = reference
        actual[0] += 1e-4   // 1e-4 / (1 + 1) = 5e-5: above rtol(1) ≈ 3.8e-6, below rtol(2000) ≈ 1.7e-4
        #expect(!compare(actual, to: reference, reductionLength: 1).passed)
        #expect(compare(actual, to: reference, reductionLength: 2000).passed)
    }

    @Test func nonFiniteValuesMustMatchInKind() {
        let reference: [Float] = [1, .nan, .infinity, -.infinity, 0.5]
        #expect(compare(reference, to: reference, reductionLength: 1).passed)

        var nanForFinite = reference
        nanForFinite[0] = .nan
        let comparison = compare(nanForFinite, to: reference, reductionLength: 1)
        #expect(!comparison.passed)
        #expect(comparison.worstIndex == 0)
        #expect(comparison.maxAbsError == .infinity)

        var finiteForNaN = reference
        finiteForNaN[1] = 0
        #expect(!compare(finiteForNaN, to: reference, reductionLength: 1).passed)

        var wrongSign = reference
        wrongSign[2] = -.infinity
        #expect(!compare(wrongSign, to: reference, reductionLength: 1).passed)
    }

    @Test func anAllZeroReferenceNeedsExactZeros() {
        let zeros = [Float](repeating: 0, count: 8)
        #expect(compare(zeros, to: zeros, reductionLength: 1).passed)
        var actual = zeros
        actual[5] = 1e-30
        #expect(!compare(actual, to: zeros, reductionLength: 1).passed)
    }

    @Test func aCountMismatchFails() {
        let comparison = compare([1, 2], to: [1, 2, 3], reductionLength: 1)
        #expect(!comparison.passed)
        #expect(comparison.failure == "2 values where the reference has 3")
    }
}

import Foundation

// Row sums of exponentials are accumulated in Double: a float32 sum over C terms can be off by up
// to about C·ε relative (1e-4 for C = 1000), which is as large as the differences the reference
// is meant to catch in GPU results; in Double the reference's own error stays far below them.
//
// Each row is a few passes over eight columns at a time (`VectorMath`; its exp is within 1 ulp);
// the last, partial vector of a row goes through the same code, with lanes past the row's end
// padded so that they add nothing. Sums run in one fixed order per row length, so results are
// deterministic.

extension CPUBackend {
    public func softmaxKernel(_ x: Tensor, into y: Tensor, rows R: Int, columns C: Int) throws {
        let op = "softmax"
        let xs = try floats(x, op)  // (R, C)
        let ys = try floats(y, op)  // (R, C), may be xs
        for r in 0..<R {
            let xRow = xs + r * C
            let yRow = ys + r * C
            // Reads x before writing y at the same columns, so y may be x.
            let sum = exponentiate(xRow, C, minus: rowMaximum(xRow, C), into: yRow)
            normalize(yRow, C, sum: sum, scale: 1)
        }
    }

    public func softmaxCrossEntropyKernel(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32, losses: Tensor,
                                          gradient: Tensor?, gradientScale: Float, rows R: Int, columns C: Int) throws {
        let op = "softmaxCrossEntropy"
        let xs = try floats(logits, op)                   // (R, C)
        let loss = try floats(losses, op)                 // (R)
        let gs = try gradient.map { try floats($0, op) }  // (R, C), may be xs; targets (R) from the host copy

        for r in 0..<R {
            let xRow = xs + r * C
            let target = targets.values[r]
            if target == ignoreIndex {
                loss[r] = 0
                if let gs { (gs + r * C).update(repeating: 0, count: C) }
                continue
            }
            let t = Int(target)
            let xTarget = xRow[t]  // before the gradient may overwrite the row
            let maxValue = rowMaximum(xRow, C)
            guard let gs else {
                loss[r] = Self.crossEntropy(sum: sumOfExponentials(xRow, C, minus: maxValue), maxValue, xTarget)
                continue
            }
            // gradient = scale · (p − onehot): exp(x − max) into the gradient row (reading x before
            // writing g at the same columns, so g may be x), then scaled by 1 / Σ, then the
            // target's column again with the one subtracted.
            let gRow = gs + r * C
            let sum = exponentiate(xRow, C, minus: maxValue, into: gRow)
            loss[r] = Self.crossEntropy(sum: sum, maxValue, xTarget)
            normalize(gRow, C, sum: sum, scale: gradientScale)
            let pTarget = Double(VectorMath.exp(xTarget - maxValue)) / sum
            gRow[t] = gradientScale * Float(pTarget - 1)
        }
    }

    /// −log p[t] = log Σ exp(x − max) + max − x[t].
    private static func crossEntropy(sum: Double, _ maxValue: Float, _ xTarget: Float) -> Float {
        Float(log(sum) + Double(maxValue) - Double(xTarget))
    }

    public func softmaxStatisticsKernel(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                                        targetLogits: Tensor, rows R: Int, columns C: Int) throws {
        let op = "softmaxStatistics"
        let xs = try floats(logits, op)         // (R, C)
        let m = try floats(maxima, op)          // (R)
        let s = try floats(sumExp, op)          // (R)
        let tl = try floats(targetLogits, op)   // (R); targets (R) from the host copy, outside 0..<C: in another shard
        for r in 0..<R {
            let xRow = xs + r * C
            let maxValue = rowMaximum(xRow, C)
            let t = Int(targets.values[r])
            m[r] = maxValue
            s[r] = Float(sumOfExponentials(xRow, C, minus: maxValue))
            tl[r] = (0..<C).contains(t) ? xRow[t] : 0
        }
    }

    public func softmaxCrossEntropyGradientKernel(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                                  gradientScale: Float, gradient: Tensor, rows R: Int, columns C: Int) throws {
        let op = "softmaxCrossEntropyGradient"
        let xs = try floats(logits, op)          // (R, C)
        let z = try floats(logNormalizers, op)   // (R): log Σ exp over every shard; +∞ on ignored rows
        let gs = try floats(gradient, op)        // (R, C), may be xs; targets (R) from the host copy
        for r in 0..<R {
            let xRow = xs + r * C
            let gRow = gs + r * C
            guard z[r].isFinite else {   // an ignored row
                gRow.update(repeating: 0, count: C)
                continue
            }
            let t = Int(targets.values[r])
            let xTarget = (0..<C).contains(t) ? xRow[t] : 0  // before the gradient may overwrite the row
            // Reads x before writing g at the same columns, so g may be x.
            VectorMath.forEachVector(C) { col, n in
                let p = Self.exponentialOfDifference(VectorMath.load(xRow, col, n), z[r])
                VectorMath.store(gradientScale * p, gRow, col, n)
            }
            if (0..<C).contains(t) {
                let pTarget = Self.exponentialOfDifference(FloatVector(repeating: xTarget), z[r])[0]
                gRow[t] = gradientScale * Float(Double(pTarget) - 1)
            }
        }
    }

    /// e^(x − z) per lane with x − z taken exactly: z is a log normalizer (|z| up to ~100), and
    /// the float difference's rounding, up to half an ulp of |x − z|, would be that much relative
    /// error in every probability. Split d = x − z (exact in Double) into a float hi + lo;
    /// e^d = e^hi · e^lo ≈ e^hi + e^hi · lo, since |lo| ≤ 2⁻²⁴·|d| makes lo² negligible.
    @inline(__always)
    private static func exponentialOfDifference(_ x: FloatVector, _ z: Float) -> FloatVector {
        let d = SIMD8<Double>(x) - Double(z)
        let hi = FloatVector(d)
        let lo = FloatVector(d - SIMD8<Double>(hi))
        let e = VectorMath.exp(hi)
        return e + e * lo
    }

    /// The largest of `count` floats (−∞ for none; NaNs are passed over, as `Swift.max` does).
    private func rowMaximum(_ row: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var maxima = FloatVector(repeating: -.infinity)
        VectorMath.forEachVector(count) { col, n in
            let v = VectorMath.load(row, col, n, padding: -.infinity)
            maxima.replace(with: v, where: v .> maxima)
        }
        return maxima.max()
    }

    /// Σ exp(x − maxValue) over a row, in Double: the kernels' row_max_and_sum with the maximum given.
    private func sumOfExponentials(_ row: UnsafeMutablePointer<Float>, _ count: Int, minus maxValue: Float) -> Double {
        var sums = SIMD8<Double>()
        VectorMath.forEachVector(count) { col, n in
            // Padding −∞: e^(−∞ − max) = 0 adds nothing (a NaN row gives NaN either way).
            sums += SIMD8<Double>(VectorMath.exp(VectorMath.load(row, col, n, padding: -.infinity) - maxValue))
        }
        return sums.sum()
    }

    /// row = scale · (row / sum), the division in Double (as a product with 1 / sum, which is
    /// within an ulp of Double, far below float32's).
    private func normalize(_ row: UnsafeMutablePointer<Float>, _ count: Int, sum: Double, scale: Float) {
        let inverse = 1 / sum
        VectorMath.forEachVector(count) { col, n in
            let p = SIMD8<Double>(VectorMath.load(row, col, n)) * inverse
            VectorMath.store(scale * FloatVector(p), row, col, n)
        }
    }

    /// y = exp(x − maxValue) over a row, returning Σ y in Double. y may be x.
    private func exponentiate(_ x: UnsafeMutablePointer<Float>, _ count: Int, minus maxValue: Float,
                              into y: UnsafeMutablePointer<Float>) -> Double {
        var sums = SIMD8<Double>()
        VectorMath.forEachVector(count) { col, n in
            let e = VectorMath.exp(VectorMath.load(x, col, n, padding: -.infinity) - maxValue)
            VectorMath.store(e, y, col, n)
            sums += SIMD8<Double>(e)
        }
        return sums.sum()
    }
}

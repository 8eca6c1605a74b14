import Foundation

// Row sums of exponentials are accumulated in Double: a float32 sum over C terms can be off by up
// to about C·ε relative (1e-4 for C = 1000), which is as large as the differences the reference
// is meant to catch in GPU results; in Double the reference's own error stays far below them.

extension CPUBackend {
    public func softmax(_ x: Tensor, into y: Tensor) throws {
        let op = "softmax"
        let (R, C) = try OperationChecks.softmax(x, y)
        let xs = try floats(x, op)  // (R, C)
        let ys = try floats(y, op)  // (R, C), may be xs
        for r in 0..<R {
            let xRow = xs + r * C
            let yRow = ys + r * C
            let maxValue = rowMaximum(xRow, C)
            var sum = 0.0
            for col in 0..<C {
                // Reads x[col] before writing y[col], so y may be x.
                let e = exp(xRow[col] - maxValue)
                yRow[col] = e
                sum += Double(e)
            }
            for col in 0..<C { yRow[col] = Float(Double(yRow[col]) / sum) }
        }
    }

    public func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32,
                                    losses: Tensor, gradient: Tensor?, gradientScale: Float) throws {
        let op = "softmaxCrossEntropy"
        let (R, C) = try OperationChecks.softmaxCrossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex,
                                                            losses: losses, gradient: gradient)
        let xs = try floats(logits, op)                   // (R, C)
        let loss = try floats(losses, op)                 // (R)
        let gs = try gradient.map { try floats($0, op) }  // (R, C), may be xs
        try requireOwned(targets, op)                     // (R)

        for r in 0..<R {
            let xRow = xs + r * C
            let target = targets.values[r]
            if target == ignoreIndex {
                loss[r] = 0
                if let gs { for col in 0..<C { gs[r * C + col] = 0 } }
                continue
            }
            let t = Int(target)
            let (maxValue, sum) = rowMaximumAndSumExp(xRow, C)
            // −log p[t] = log Σ exp(x − max) + max − x[t], before the gradient may overwrite the row.
            loss[r] = Float(log(sum) + Double(maxValue) - Double(xRow[t]))

            guard let gs else { continue }
            let gRow = gs + r * C
            for col in 0..<C {
                // Reads x[col] before writing g[col], so the gradient may be the logits.
                let p = Double(exp(xRow[col] - maxValue)) / sum
                gRow[col] = gradientScale * Float(p - (col == t ? 1 : 0))
            }
        }
    }

    public func softmaxStatistics(logits: Tensor, targets: IndexTensor, maxima: Tensor, sumExp: Tensor,
                                  targetLogits: Tensor) throws {
        let op = "softmaxStatistics"
        let (R, C) = try OperationChecks.softmaxShard(logits: logits, targets: targets,
            rowVectors: [(maxima, "maxima"), (sumExp, "sumExp"), (targetLogits, "targetLogits")], gradient: nil, op)
        let xs = try floats(logits, op)         // (R, C)
        let m = try floats(maxima, op)          // (R)
        let s = try floats(sumExp, op)          // (R)
        let tl = try floats(targetLogits, op)   // (R)
        try requireOwned(targets, op)           // (R), outside 0..<C: in another shard
        for r in 0..<R {
            let xRow = xs + r * C
            let (maxValue, sum) = rowMaximumAndSumExp(xRow, C)
            let t = Int(targets.values[r])
            m[r] = maxValue
            s[r] = Float(sum)
            tl[r] = (0..<C).contains(t) ? xRow[t] : 0
        }
    }

    public func softmaxCrossEntropyGradient(logits: Tensor, targets: IndexTensor, logNormalizers: Tensor,
                                            gradientScale: Float, gradient: Tensor) throws {
        let op = "softmaxCrossEntropyGradient"
        let (R, C) = try OperationChecks.softmaxShard(logits: logits, targets: targets,
            rowVectors: [(logNormalizers, "logNormalizers")], gradient: gradient, op)
        let xs = try floats(logits, op)          // (R, C)
        let z = try floats(logNormalizers, op)   // (R): log Σ exp over every shard; +∞ on ignored rows
        let gs = try floats(gradient, op)        // (R, C), may be xs
        try requireOwned(targets, op)            // (R)
        for r in 0..<R {
            let t = Int(targets.values[r])
            guard z[r].isFinite else {   // an ignored row
                for col in 0..<C { gs[r * C + col] = 0 }
                continue
            }
            for col in 0..<C {
                let p = exp(Double(xs[r * C + col]) - Double(z[r]))
                gs[r * C + col] = gradientScale * Float(p - (col == t ? 1 : 0))
            }
        }
    }

    /// The largest of `count` floats (−∞ for none).
    private func rowMaximum(_ row: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var result = -Float.infinity
        for col in 0..<count { result = max(result, row[col]) }
        return result
    }

    /// A row's maximum and Σ exp(x − max), the kernels' row_max_and_sum.
    private func rowMaximumAndSumExp(_ row: UnsafeMutablePointer<Float>, _ count: Int) -> (maximum: Float, sum: Double) {
        let maxValue = rowMaximum(row, count)
        var sum = 0.0
        for col in 0..<count { sum += Double(exp(row[col] - maxValue)) }
        return (maxValue, sum)
    }
}

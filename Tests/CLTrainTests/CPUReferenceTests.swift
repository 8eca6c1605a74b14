import Foundation
import Testing
@testable import CLTrain

// The CPU backend is the reference every GPU result is checked against, so here it is checked
// against the definitions themselves: naive loops in Double, and finite differences for gradients.
//
// Tolerances, from one rule each:
// - gemm: the standard error bound of a float32 dot product of length K,
//   |fl(C) − C| ≤ (K + 2)·ε·(|α|·Σ|a||b| + |β|·|c|), computed per element (ε = 2⁻²³, twice the unit
//   roundoff, so the bound also holds with any blocking or FMA the BLAS uses).
// - elementwise formulas (softmax, losses, LSTM forward): a handful of float32 roundings and
//   exp/log/tanh accurate to a few ulp: 64·ε relative plus 1e-6 absolute.
// - finite differences: see `FiniteDifference`.

let elementwiseRtol = 64 * Double(Float.ulpOfOne)  // ≈ 7.6e-6
let elementwiseAtol = 1e-6

/// Central differences (f(x + h) − f(x − h)) / 2h of float32 functions with h = 1e-2.
///
/// Error budget: truncation h²/6·|f'''| ≈ 1.7e-5·|f'''|, where |f'''| is O(1) for log-softmax,
/// σ and tanh with the O(1) weights used here; rounding ε·|f|/h ≈ 1.2e-5·|f| from evaluating f in
/// float32, with |f| ≲ 10 here. Together below 2e-4, so the tolerance 1e-3 leaves a margin of
/// five, while a wrong term in a gradient formula shows up as an error of 1e-2 or more.
enum FiniteDifference {
    static let h: Float = 1e-2
    static let tolerance = 1e-3

    /// ∂f/∂x[i] for every i, by central differences around `x`.
    static func gradient(of f: ([Float]) throws -> Double, at x: [Float]) rethrows -> [Double] {
        var result: [Double] = []
        for i in x.indices {
            var plus = x, minus = x
            plus[i] += h
            minus[i] -= h
            // The actual step, as rounded in float32.
            let step = Double(plus[i]) - Double(minus[i])
            result.append((try f(plus) - f(minus)) / step)
        }
        return result
    }
}

@Suite("CPU reference against definitions")
struct CPUReferenceTests {
    let backend = CPUBackend()

    // MARK: gemm

    /// C = α·op(A)·op(B) + β·C in Double, with the per-element error bound described above.
    static func naiveGemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                          a: [Float], b: [Float], beta: Float, c: [Float]) -> (values: [Double], bounds: [Double]) {
        // a is stored (M, K), or (K, M) when transposed; b is stored (K, N), or (N, K).
        func opA(_ i: Int, _ p: Int) -> Double { Double(transposeA ? a[p * m + i] : a[i * k + p]) }
        func opB(_ p: Int, _ j: Int) -> Double { Double(transposeB ? b[j * k + p] : b[p * n + j]) }
        var values = [Double](repeating: 0, count: m * n)
        var bounds = [Double](repeating: 0, count: m * n)
        let gamma = Double(k + 2) * Double(Float.ulpOfOne)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    sum += opA(i, p) * opB(p, j)
                    magnitude += abs(opA(i, p) * opB(p, j))
                }
                let cij = beta == 0 ? 0 : Double(beta) * Double(c[i * n + j])
                values[i * n + j] = Double(alpha) * sum + cij
                bounds[i * n + j] = gamma * (abs(Double(alpha)) * magnitude + abs(cij)) + Double(Float.leastNormalMagnitude)
            }
        }
        return (values, bounds)
    }

    static let transposes = [(false, false), (false, true), (true, false), (true, true)]

    @Test(arguments: [(1, 1, 1), (7, 33, 129), (33, 7, 1), (129, 257, 33)])
    func gemmMatchesNaiveLoop(m: Int, n: Int, k: Int) throws {
        var random = SplitMix64(seed: 1)
        for (transposeA, transposeB) in Self.transposes {
            let (a, aValues) = try makeRandomTensor(backend, transposeA ? [k, m] : [m, k], &random)
            let (b, bValues) = try makeRandomTensor(backend, transposeB ? [n, k] : [k, n], &random)
            let (c, cValues) = try makeRandomTensor(backend, [m, n], &random)
            try backend.gemm(transposeA: transposeA, transposeB: transposeB, alpha: 1.5, a, b, beta: 0.5, c)
            let reference = Self.naiveGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                           alpha: 1.5, a: aValues, b: bValues, beta: 0.5, c: cValues)
            expectWithin(try backend.download(c), reference.values, bounds: reference.bounds,
                         "gemm \(m)×\(n)×\(k) transposeA \(transposeA) transposeB \(transposeB)")
        }
    }

    @Test func gemmWithBetaZeroDoesNotReadC() throws {
        var random = SplitMix64(seed: 2)
        let (m, n, k) = (7, 5, 3)
        for (transposeA, transposeB) in Self.transposes {
            let (a, aValues) = try makeRandomTensor(backend, transposeA ? [k, m] : [m, k], &random)
            let (b, bValues) = try makeRandomTensor(backend, transposeB ? [n, k] : [k, n], &random)
            let c = try makeTensor(backend, [m, n], Array(repeating: .nan, count: m * n))
            try backend.gemm(transposeA: transposeA, transposeB: transposeB, alpha: 1.5, a, b, beta: 0, c)
            let result = try backend.download(c)
            #expect(result.allSatisfy { $0.isFinite }, "NaN in C leaked through beta == 0")
            let reference = Self.naiveGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                           alpha: 1.5, a: aValues, b: bValues, beta: 0, c: [])
            expectWithin(result, reference.values, bounds: reference.bounds, "gemm with beta 0")
        }
    }

    @Test func gemmWithEmptyInnerDimensionScalesC() throws {
        var random = SplitMix64(seed: 3)
        let a = try backend.makeTensor(shape: [4, 0], elementType: .float32)
        let b = try backend.makeTensor(shape: [0, 3], elementType: .float32)
        let (c, cValues) = try makeRandomTensor(backend, [4, 3], &random)
        try backend.gemm(transposeA: false, transposeB: false, alpha: 1.5, a, b, beta: 0.5, c)
        #expect(try backend.download(c) == cValues.map { 0.5 * $0 })

        try backend.fill(c, with: .nan)
        try backend.gemm(transposeA: false, transposeB: false, alpha: 1.5, a, b, beta: 0, c)
        #expect(try backend.download(c) == Array(repeating: 0, count: 12))

        // Transposed: A stored (K, M) = 0×4, B stored (N, K) = 3×0.
        let at = try backend.makeTensor(shape: [0, 4], elementType: .float32)
        let bt = try backend.makeTensor(shape: [3, 0], elementType: .float32)
        try backend.upload(cValues, to: c)
        try backend.gemm(transposeA: true, transposeB: true, alpha: 1.5, at, bt, beta: 0.5, c)
        #expect(try backend.download(c) == cValues.map { 0.5 * $0 })
    }

    @Test func gemmWithEmptyOutputDoesNothing() throws {
        var random = SplitMix64(seed: 4)
        let (a, _) = try makeRandomTensor(backend, [0, 5], &random)
        let (b, _) = try makeRandomTensor(backend, [5, 3], &random)
        let c = try backend.makeTensor(shape: [0, 3], elementType: .float32)
        try backend.gemm(transposeA: false, transposeB: false, alpha: 1, a, b, beta: 0, c)
        #expect(try backend.download(c).isEmpty)
    }

    @Test func gemmOnRowViewsMatchesCopies() throws {
        var random = SplitMix64(seed: 5)
        let (m, n, k) = (5, 6, 7)
        for (transposeA, transposeB) in Self.transposes {
            let aShape = transposeA ? [k, m] : [m, k], bShape = transposeB ? [n, k] : [k, n]
            // Each operand is rows 3..<3+rows of a larger tensor: a non-zero element offset.
            let (aFull, aFullValues) = try makeRandomTensor(backend, [aShape[0] + 5, aShape[1]], &random)
            let (bFull, bFullValues) = try makeRandomTensor(backend, [bShape[0] + 5, bShape[1]], &random)
            let (cFull, cFullValues) = try makeRandomTensor(backend, [m + 5, n], &random)
            let a = try aFull.rows(3..<3 + aShape[0])
            let b = try bFull.rows(3..<3 + bShape[0])
            let c = try cFull.rows(3..<3 + m)
            let aValues = Array(aFullValues[3 * aShape[1]..<(3 + aShape[0]) * aShape[1]])
            let bValues = Array(bFullValues[3 * bShape[1]..<(3 + bShape[0]) * bShape[1]])
            let cValues = Array(cFullValues[3 * n..<(3 + m) * n])

            let aCopy = try makeTensor(backend, aShape, aValues)
            let bCopy = try makeTensor(backend, bShape, bValues)
            let cCopy = try makeTensor(backend, [m, n], cValues)
            try backend.gemm(transposeA: transposeA, transposeB: transposeB, alpha: 1.5, a, b, beta: 0.5, c)
            try backend.gemm(transposeA: transposeA, transposeB: transposeB, alpha: 1.5, aCopy, bCopy, beta: 0.5, cCopy)

            let onCopies = try backend.download(cCopy)
            let reference = Self.naiveGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                           alpha: 1.5, a: aValues, b: bValues, beta: 0.5, c: cValues)
            expectWithin(onCopies, reference.values, bounds: reference.bounds, "gemm on copies")
            expectWithin(try backend.download(c), onCopies.map(Double.init), bounds: reference.bounds.map { 2 * $0 },
                         "gemm on views vs copies")
            // Rows outside the view are untouched.
            let full = try backend.download(cFull)
            #expect(Array(full[..<(3 * n)]) == Array(cFullValues[..<(3 * n)]))
            #expect(Array(full[((3 + m) * n)...]) == Array(cFullValues[((3 + m) * n)...]))
        }
    }

    // MARK: Bias

    @Test func addBiasAndSumRows() throws {
        var random = SplitMix64(seed: 6)
        let (R, C) = (4, 5)
        let (x, xValues) = try makeRandomTensor(backend, [R, C], &random)
        let (bias, biasValues) = try makeRandomTensor(backend, [C], &random)
        try backend.addBias(bias, to: x)
        #expect(try backend.download(x) == (0..<R * C).map { xValues[$0] + biasValues[$0 % C] })

        try backend.upload(xValues, to: x)
        let (out, outValues) = try makeRandomTensor(backend, [C], &random)
        try backend.sumRows(x, into: out, beta: 0.5)
        let columnSums = (0..<C).map { col in (0..<R).reduce(0.0) { $0 + Double(xValues[$1 * C + col]) } }
        expectClose(try backend.download(out), (0..<C).map { 0.5 * Double(outValues[$0]) + columnSums[$0] },
                    atol: elementwiseAtol, rtol: elementwiseRtol, "sumRows with beta 0.5")

        try backend.fill(out, with: .nan)
        try backend.sumRows(x, into: out, beta: 0)
        expectClose(try backend.download(out), columnSums, atol: elementwiseAtol, rtol: elementwiseRtol,
                    "sumRows with beta 0 over NaN")
        #expect(try backend.download(out).allSatisfy { $0.isFinite })
    }

    @Test func broadcastRowsWritesTheRowIntoEveryRowWithoutReadingX() throws {
        var random = SplitMix64(seed: 7)
        let (R, C) = (3, 5)
        let x = try backend.makeTensor([R, C], filledWith: .nan)
        let (row, rowValues) = try makeRandomTensor(backend, [C], &random)
        try backend.broadcastRows(row, into: x)
        #expect(try backend.download(x) == (0..<R * C).map { rowValues[$0 % C] })
    }

    // MARK: Softmax

    static func referenceSoftmax(_ x: [Float], columns: Int) -> [Double] {
        var result: [Double] = []
        for row in stride(from: 0, to: x.count, by: columns) {
            let values = x[row..<row + columns].map(Double.init)
            let maxValue = values.max()!
            let exps = values.map { exp($0 - maxValue) }
            let sum = exps.reduce(0, +)
            result += exps.map { $0 / sum }
        }
        return result
    }

    static func rowSums(_ y: [Float], columns: Int) -> [Double] {
        stride(from: 0, to: y.count, by: columns).map { row in y[row..<row + columns].reduce(0.0) { $0 + Double($1) } }
    }

    @Test func softmaxMatchesDefinition() throws {
        var random = SplitMix64(seed: 7)
        let (R, C) = (5, 11)
        let (x, xValues) = try makeRandomTensor(backend, [R, C], &random, scale: 3)
        let y = try backend.makeTensor(shape: [R, C], elementType: .float32)
        try backend.softmax(x, into: y)
        let result = try backend.download(y)
        expectClose(result, Self.referenceSoftmax(xValues, columns: C), atol: elementwiseAtol, rtol: elementwiseRtol, "softmax")
        expectClose(Self.rowSums(result, columns: C).map(Float.init), Array(repeating: 1, count: R),
                    atol: 1e-5, rtol: 0, "softmax row sums")

        // In place gives the same.
        try backend.softmax(x, into: x)
        #expect(try backend.download(x) == result)
    }

    @Test func softmaxOfHugeInputsStaysFinite() throws {
        var random = SplitMix64(seed: 8)
        let (R, C) = (3, 9)
        var values = random.floats(R * C, scale: 1e4)
        values[0] = 1e4
        values[1] = -1e4
        for col in 0..<C { values[2 * C + col] = 1e4 }  // a row of equal huge values: uniform
        let x = try makeTensor(backend, [R, C], values)
        try backend.softmax(x, into: x)
        let result = try backend.download(x)
        #expect(result.allSatisfy { $0.isFinite })
        expectClose(Self.rowSums(result, columns: C).map(Float.init), Array(repeating: 1, count: R),
                    atol: 1e-5, rtol: 0, "softmax row sums")
        expectClose(Array(result[(2 * C)...]), Array(repeating: 1 / Double(C), count: C),
                    atol: elementwiseAtol, rtol: elementwiseRtol, "uniform row")
    }

    // MARK: Cross-entropy

    static let ignoreIndex: Int32 = -100

    /// −log softmax(x[r])[targets[r]] in Double, 0 for ignored rows.
    static func referenceLosses(_ x: [Float], targets: [Int32], columns: Int) -> [Double] {
        targets.enumerated().map { r, target in
            guard target != ignoreIndex else { return 0 }
            let row = x[r * columns..<(r + 1) * columns].map(Double.init)
            let maxValue = row.max()!
            return log(row.map { exp($0 - maxValue) }.reduce(0, +)) + maxValue - row[Int(target)]
        }
    }

    @Test func crossEntropyLossMatchesNegativeLogSoftmax() throws {
        var random = SplitMix64(seed: 9)
        let (R, C) = (6, 13)
        let targets: [Int32] = [3, 0, Self.ignoreIndex, 12, 7, 3]
        let (logits, xValues) = try makeRandomTensor(backend, [R, C], &random, scale: 4)
        let indices = try backend.makeIndices(targets)
        let losses = try backend.makeTensor(shape: [R], elementType: .float32)
        let gradient = try backend.makeTensor(shape: [R, C], elementType: .float32)
        try backend.fill(gradient, with: .nan)
        try backend.softmaxCrossEntropy(logits: logits, targets: indices, ignoreIndex: Self.ignoreIndex,
                                        losses: losses, gradient: gradient, gradientScale: 0.2)
        let lossValues = try backend.download(losses)
        expectClose(lossValues, Self.referenceLosses(xValues, targets: targets, columns: C),
                    atol: elementwiseAtol, rtol: elementwiseRtol, "losses")
        #expect(lossValues[2] == 0, "ignored row has loss 0")

        // gradient = scale·(p − onehot), zero on the ignored row.
        let p = Self.referenceSoftmax(xValues, columns: C)
        let expected = (0..<R * C).map { i -> Double in
            let (r, col) = (i / C, i % C)
            if targets[r] == Self.ignoreIndex { return 0 }
            return 0.2 * (p[i] - (col == Int(targets[r]) ? 1 : 0))
        }
        let gradientValues = try backend.download(gradient)
        expectClose(gradientValues, expected, atol: elementwiseAtol, rtol: elementwiseRtol, "gradient")
        #expect(gradientValues[(2 * C)..<(3 * C)].allSatisfy { $0 == 0 }, "ignored row has zero gradient")

        // Without a gradient the losses are the same.
        try backend.fill(losses, with: .nan)
        try backend.softmaxCrossEntropy(logits: logits, targets: indices, ignoreIndex: Self.ignoreIndex,
                                        losses: losses, gradient: nil, gradientScale: 0.2)
        #expect(try backend.download(losses) == lossValues)
    }

    @Test func crossEntropyGradientMatchesFiniteDifferences() throws {
        var random = SplitMix64(seed: 10)
        let (R, C) = (4, 7)
        let targets: [Int32] = [2, Self.ignoreIndex, 6, 0]
        let counted = Double(targets.filter { $0 != Self.ignoreIndex }.count)
        let xValues = random.floats(R * C, scale: 2)
        let logits = try makeTensor(backend, [R, C], xValues)
        let indices = try backend.makeIndices(targets)
        let losses = try backend.makeTensor(shape: [R], elementType: .float32)

        // The mean loss over non-ignored rows, as a function of the logits.
        func meanLoss(_ x: [Float]) throws -> Double {
            try backend.upload(x, to: logits)
            try backend.softmaxCrossEntropy(logits: logits, targets: indices, ignoreIndex: Self.ignoreIndex,
                                            losses: losses, gradient: nil, gradientScale: 1)
            return try backend.download(losses).reduce(0.0) { $0 + Double($1) } / counted
        }
        let numeric = try FiniteDifference.gradient(of: meanLoss, at: xValues)

        try backend.upload(xValues, to: logits)
        let gradient = try backend.makeTensor(shape: [R, C], elementType: .float32)
        try backend.softmaxCrossEntropy(logits: logits, targets: indices, ignoreIndex: Self.ignoreIndex,
                                        losses: losses, gradient: gradient, gradientScale: Float(1 / counted))
        expectClose(try backend.download(gradient), numeric, atol: FiniteDifference.tolerance, rtol: 0,
                    "cross-entropy gradient vs finite differences")
    }

    @Test func crossEntropyGradientMayAliasLogits() throws {
        var random = SplitMix64(seed: 11)
        let (R, C) = (5, 9)
        let targets: [Int32] = [8, 0, Self.ignoreIndex, 4, 4]
        let xValues = random.floats(R * C, scale: 3)
        let indices = try backend.makeIndices(targets)

        let logits = try makeTensor(backend, [R, C], xValues)
        let losses = try backend.makeTensor(shape: [R], elementType: .float32)
        let gradient = try backend.makeTensor(shape: [R, C], elementType: .float32)
        try backend.softmaxCrossEntropy(logits: logits, targets: indices, ignoreIndex: Self.ignoreIndex,
                                        losses: losses, gradient: gradient, gradientScale: 0.25)

        let inPlace = try makeTensor(backend, [R, C], xValues)
        let inPlaceLosses = try backend.makeTensor(shape: [R], elementType: .float32)
        try backend.softmaxCrossEntropy(logits: inPlace, targets: indices, ignoreIndex: Self.ignoreIndex,
                                        losses: inPlaceLosses, gradient: inPlace, gradientScale: 0.25)
        #expect(try backend.download(inPlaceLosses) == backend.download(losses))
        #expect(try backend.download(inPlace) == backend.download(gradient))
    }

    // MARK: LSTM cell

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    @Test func lstmForwardMatchesDefinition() throws {
        var random = SplitMix64(seed: 12)
        let (B, H) = (3, 4)
        let preValues = random.floats(B * 4 * H, scale: 3)
        let (gates, cellPrevious, cell, hidden) = (
            try makeTensor(backend, [B, 4 * H], preValues), try makeRandomTensor(backend, [B, H], &random),
            try backend.makeTensor(shape: [B, H], elementType: .float32),
            try backend.makeTensor(shape: [B, H], elementType: .float32))
        try backend.lstmCellForward(gates: gates, cellPrevious: cellPrevious.tensor, cell: cell, hidden: hidden)

        var activations: [Double] = [], c: [Double] = [], h: [Double] = []
        for b in 0..<B {
            let row = preValues[b * 4 * H..<(b + 1) * 4 * H].map(Double.init)
            let i = row[0..<H].map(Self.sigmoid), f = row[H..<2 * H].map(Self.sigmoid)
            let g = row[2 * H..<3 * H].map(tanh), o = row[3 * H..<4 * H].map(Self.sigmoid)
            activations += i + f + g + o
            for j in 0..<H {
                let cj = f[j] * Double(cellPrevious.values[b * H + j]) + i[j] * g[j]
                c.append(cj)
                h.append(o[j] * tanh(cj))
            }
        }
        expectClose(try backend.download(gates), activations, atol: elementwiseAtol, rtol: elementwiseRtol, "activations")
        expectClose(try backend.download(cell), c, atol: elementwiseAtol, rtol: elementwiseRtol, "cell")
        expectClose(try backend.download(hidden), h, atol: elementwiseAtol, rtol: elementwiseRtol, "hidden")
    }

    @Test func lstmForwardSaturatesWithoutNaN() throws {
        // σ(±200) and tanh(±200) saturate to exactly 0 and ±1, with no NaN from inf / inf.
        let gates = try makeTensor(backend, [1, 8], [200, -200, 200, -200, 200, -200, 200, -200])
        let (cellPrevious, cell, hidden) = (try makeTensor(backend, [1, 2], [1, 1]),
                                            try backend.makeTensor(shape: [1, 2], elementType: .float32),
                                            try backend.makeTensor(shape: [1, 2], elementType: .float32))
        try backend.lstmCellForward(gates: gates, cellPrevious: cellPrevious, cell: cell, hidden: hidden)
        #expect(try backend.download(gates) == [1, 0, 1, 0, 1, -1, 1, 0])
        #expect(try backend.download(cell) == [2, 0])
        #expect(try backend.download(hidden) == [tanh(2), 0])
    }

    @Test func lstmBackwardMatchesFiniteDifferences() throws {
        var random = SplitMix64(seed: 13)
        let (B, H) = (3, 4)
        let preValues = random.floats(B * 4 * H, scale: 2)
        let cPrevValues = random.floats(B * H)
        let w1 = random.floats(B * H), w2 = random.floats(B * H)
        let gates = try backend.makeTensor(shape: [B, 4 * H], elementType: .float32)
        let cellPrevious = try backend.makeTensor(shape: [B, H], elementType: .float32)
        let cell = try backend.makeTensor(shape: [B, H], elementType: .float32)
        let hidden = try backend.makeTensor(shape: [B, H], elementType: .float32)

        // L = Σ w1⊙h + Σ w2⊙c. Forward overwrites gates with activations, so each evaluation
        // uploads the pre-activations again.
        func loss(pre: [Float], cPrev: [Float]) throws -> Double {
            try backend.upload(pre, to: gates)
            try backend.upload(cPrev, to: cellPrevious)
            try backend.lstmCellForward(gates: gates, cellPrevious: cellPrevious, cell: cell, hidden: hidden)
            let h = try backend.download(hidden), c = try backend.download(cell)
            return (0..<B * H).reduce(0.0) { $0 + Double(w1[$1]) * Double(h[$1]) + Double(w2[$1]) * Double(c[$1]) }
        }
        let numericGates = try FiniteDifference.gradient(of: { try loss(pre: $0, cPrev: cPrevValues) }, at: preValues)
        let numericCellPrevious = try FiniteDifference.gradient(of: { try loss(pre: preValues, cPrev: $0) }, at: cPrevValues)

        // ∂L/∂h = w1, and ∂L/∂c from outside the cell is w2.
        _ = try loss(pre: preValues, cPrev: cPrevValues)
        let hiddenGradient = try makeTensor(backend, [B, H], w1)
        let cellGradient = try makeTensor(backend, [B, H], w2)
        let gatesGradient = try backend.makeTensor(shape: [B, 4 * H], elementType: .float32)
        let cellPreviousGradient = try backend.makeTensor(shape: [B, H], elementType: .float32)
        try backend.lstmCellBackward(gates: gates, cellPrevious: cellPrevious, cell: cell,
                                     hiddenGradient: hiddenGradient, cellGradient: cellGradient,
                                     gatesGradient: gatesGradient, cellPreviousGradient: cellPreviousGradient)
        expectClose(try backend.download(gatesGradient), numericGates, atol: FiniteDifference.tolerance, rtol: 0,
                    "∂L/∂gates vs finite differences")
        expectClose(try backend.download(cellPreviousGradient), numericCellPrevious, atol: FiniteDifference.tolerance,
                    rtol: 0, "∂L/∂cellPrevious vs finite differences")

        // gatesGradient may be gates: the same result, written over the activations.
        try backend.lstmCellBackward(gates: gates, cellPrevious: cellPrevious, cell: cell,
                                     hiddenGradient: hiddenGradient, cellGradient: cellGradient,
                                     gatesGradient: gates, cellPreviousGradient: cellPreviousGradient)
        #expect(try backend.download(gates) == backend.download(gatesGradient))
    }

    @Test func lstmBackwardWithoutCellGradientEqualsZeros() throws {
        var random = SplitMix64(seed: 14)
        let (B, H) = (2, 5)
        let (gates, _) = try makeRandomTensor(backend, [B, 4 * H], &random, scale: 2)
        let (cellPrevious, _) = try makeRandomTensor(backend, [B, H], &random)
        let cell = try backend.makeTensor(shape: [B, H], elementType: .float32)
        let hidden = try backend.makeTensor(shape: [B, H], elementType: .float32)
        try backend.lstmCellForward(gates: gates, cellPrevious: cellPrevious, cell: cell, hidden: hidden)
        let (hiddenGradient, _) = try makeRandomTensor(backend, [B, H], &random)
        let zeros = try makeTensor(backend, [B, H], Array(repeating: 0, count: B * H))

        func backward(cellGradient: Tensor?) throws -> ([Float], [Float]) {
            let gatesGradient = try backend.makeTensor(shape: [B, 4 * H], elementType: .float32)
            let cellPreviousGradient = try backend.makeTensor(shape: [B, H], elementType: .float32)
            try backend.lstmCellBackward(gates: gates, cellPrevious: cellPrevious, cell: cell,
                                         hiddenGradient: hiddenGradient, cellGradient: cellGradient,
                                         gatesGradient: gatesGradient, cellPreviousGradient: cellPreviousGradient)
            return (try backend.download(gatesGradient), try backend.download(cellPreviousGradient))
        }
        let withNil = try backward(cellGradient: nil)
        let withZeros = try backward(cellGradient: zeros)
        #expect(withNil.0 == withZeros.0)
        #expect(withNil.1 == withZeros.1)
        #expect(withNil.0.contains { $0 != 0 }, "the hidden gradient reaches the gates")
    }

    // MARK: Embedding

    @Test func embeddingForwardGathersRows() throws {
        var random = SplitMix64(seed: 15)
        let (V, E) = (6, 5)
        let (table, tableValues) = try makeRandomTensor(backend, [V, E], &random)
        let ids: [Int32] = [3, 0, 5, 3, 1]
        let output = try backend.makeTensor(shape: [ids.count, E], elementType: .float32)
        try backend.embeddingForward(table: table, indices: try backend.makeIndices(ids), output: output)
        #expect(try backend.download(output) == ids.flatMap { tableValues[Int($0) * E..<(Int($0) + 1) * E] })
    }

    @Test func embeddingBackwardAccumulatesRepeatedIndices() throws {
        var random = SplitMix64(seed: 16)
        let (V, E) = (6, 4)
        let ids: [Int32] = [2, 0, 2, 5, 2, 0]
        let (outputGradient, dOut) = try makeRandomTensor(backend, [ids.count, E], &random)
        let (tableGradient, initial) = try makeRandomTensor(backend, [V, E], &random)
        try backend.embeddingBackward(outputGradient: outputGradient, indices: try backend.makeIndices(ids),
                                      tableGradient: tableGradient)
        // The same sums, in the same (index) order.
        var expected = initial
        for (n, id) in ids.enumerated() {
            for e in 0..<E { expected[Int(id) * E + e] += dOut[n * E + e] }
        }
        #expect(try backend.download(tableGradient) == expected)
    }

    // MARK: Optimizer and elementwise

    @Test func sumOfSquaresMatchesDirectSum() throws {
        var random = SplitMix64(seed: 17)
        let (a, aValues) = try makeRandomTensor(backend, [7, 3], &random)
        let (bFull, bValues) = try makeRandomTensor(backend, [10], &random, scale: 5)
        let b = try bFull.rows(4..<9)  // a view
        let expected = (aValues + bValues[4..<9]).reduce(0.0) { $0 + Double($1) * Double($1) }
        let result = try backend.sumOfSquares([a, b])
        #expect(abs(result - expected) <= 1e-12 * expected)
        #expect(try backend.sumOfSquares([]) == 0)
    }

    @Test func elementwiseOperations() throws {
        var random = SplitMix64(seed: 18)
        let (x, xValues) = try makeRandomTensor(backend, [3, 4], &random)
        let (y, yValues) = try makeRandomTensor(backend, [12], &random)

        try backend.axpy(alpha: 0.5, x, y)
        #expect(try backend.download(y) == zip(xValues, yValues).map { $1 + 0.5 * $0 })

        try backend.upload(yValues, to: y)
        try backend.sgdUpdate(parameter: y, gradient: x, learningRate: 0.1)
        #expect(try backend.download(y) == zip(yValues, xValues).map { $0 - 0.1 * $1 })

        try backend.scale(x, by: -3)
        #expect(try backend.download(x) == xValues.map { -3 * $0 })

        try backend.fill(x, with: 2.5)
        #expect(try backend.download(x) == Array(repeating: 2.5, count: 12))

        // copy into a view: only those rows change.
        let destination = try makeTensor(backend, [5, 4], Array(repeating: 0, count: 20))
        try backend.copy(y, to: try destination.rows(1..<4))
        let copied = try backend.download(destination)
        #expect(Array(copied[4..<16]) == (try backend.download(y)))
        #expect(copied[..<4].allSatisfy { $0 == 0 } && copied[16...].allSatisfy { $0 == 0 })
    }

    /// The mask is the host generator's draws, and skipping leaves the generator where drawing would.
    @Test func dropoutMaskIsTheGeneratorsDrawsAndSkipMatchesDrawing() throws {
        var drawn = SplitMix64(seed: 19)
        _ = drawn.next()
        var skipped = drawn
        let state = drawn.state
        let expected = (0..<1001).map { _ in drawn.unitFloat() < 0.7 ? Float(1 / 0.7) : 0 }
        skipped.skip(1001)
        #expect(skipped.state == drawn.state && skipped.next() == drawn.next())
        #expect(SplitMix64.draw(3, fromState: state) == { var g = SplitMix64(seed: state); _ = g.next(); _ = g.next(); return g.next() }())

        let mask = try backend.makeTensor([7, 143], filledWith: -1)   // (7×143) = 1001
        try backend.dropoutMask(mask, keepProbability: 0.7, scale: 1 / 0.7, generatorState: state)
        let values = try backend.download(mask)
        #expect(values == expected)
        let kept = Double(values.filter { $0 != 0 }.count) / Double(values.count)
        #expect(abs(kept - 0.7) < 0.05, "kept \(kept)")

        #expect(throws: CLTrainError.self) {
            try backend.dropoutMask(mask, keepProbability: 0, scale: 1, generatorState: state)
        }
    }
}

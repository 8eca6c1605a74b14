import Foundation
import Testing
@testable import CLTrain

// The CPU backend's vectorised LSTM-cell and softmax loops against plain scalar formulas in
// Double, at row widths that are not multiples of the vector width (8), so that every row ends in
// a partial vector, and at widths below one vector.
//
// Bounds: each output may carry a few float32 roundings of its own plus the functions' ulp
// (VectorMath: exp < 1, σ ≤ 2.41, tanh ≤ 1.51), so it is held to 16·ε times the magnitudes of the
// terms that formed it, propagated the way first-order rounding errors add up. That is tighter
// than `elementwiseRtol` by a factor of four, and a wrong lane or a mishandled tail is still off
// by order 1.

private let ulp = Double(Float.ulpOfOne)
private let tight = 16 * ulp

@Suite("CPU vector loops against scalar Double formulas")
struct CPUVectorLoopTests {
    let backend = CPUBackend()

    static let widths = [1, 3, 7, 8, 13, 29]

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    // MARK: LSTM cell

    /// Cells large enough to be split over the cores (`RowParallel`) give, bit for bit, what each
    /// row gives computed alone on the calling thread.
    @Test func aCellSplitOverTheCoresEqualsItsRowsOneByOne() throws {
        let (B, H) = (61, 1003)   // 61 184 elements: above RowParallel.minimumElements, rows not a multiple of the cores
        #expect(B * H >= RowParallel.minimumElements)
        var random = SplitMix64(seed: 7)
        let pre = random.floats(B * 4 * H, scale: 4), cPrev = random.floats(B * H, scale: 2)
        let dh = random.floats(B * H), dc = random.floats(B * H)

        func cell(rows: Range<Int>) throws -> [[Float]] {
            let b = rows.count
            let gates = try makeTensor(backend, [b, 4 * H], Array(pre[(rows.lowerBound * 4 * H)..<(rows.upperBound * 4 * H)]))
            let slice = { (values: [Float]) in Array(values[(rows.lowerBound * H)..<(rows.upperBound * H)]) }
            let cPrevious = try makeTensor(backend, [b, H], slice(cPrev))
            let c = try backend.makeTensor([b, H], filledWith: 0), h = try backend.makeTensor([b, H], filledWith: 0)
            try backend.lstmCellForward(gates: gates, cellPrevious: cPrevious, cell: c, hidden: h)
            let dGates = try backend.makeTensor([b, 4 * H], filledWith: 0), dcPrevious = try backend.makeTensor([b, H], filledWith: 0)
            try backend.lstmCellBackward(gates: gates, cellPrevious: cPrevious, cell: c,
                                         hiddenGradient: try makeTensor(backend, [b, H], slice(dh)),
                                         cellGradient: try makeTensor(backend, [b, H], slice(dc)),
                                         gatesGradient: dGates, cellPreviousGradient: dcPrevious)
            return try [gates, c, h, dGates, dcPrevious].map { try backend.download($0) }
        }
        let whole = try cell(rows: 0..<B)
        let rowByRow = try (0..<B).map { try cell(rows: $0..<($0 + 1)) }
        for (index, output) in whole.enumerated() {
            let joined = rowByRow.flatMap { $0[index] }
            let differing = zip(output, joined).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(output.count == joined.count && differing == 0, "output \(index): \(differing) elements differ")
        }
    }

    @Test(arguments: widths)
    func lstmForwardMatchesScalarDouble(hidden H: Int) throws {
        var random = SplitMix64(seed: UInt64(100 + H))
        let B = 3
        let pre = random.floats(B * 4 * H, scale: 4)
        let cPrev = random.floats(B * H, scale: 2)
        let gates = try makeTensor(backend, [B, 4 * H], pre)
        // cellPrevious and cell are one tensor: the new cell overwrites the old one in place.
        let cell = try makeTensor(backend, [B, H], cPrev)
        let hidden = try backend.makeTensor(shape: [B, H], elementType: .float32)
        try backend.lstmCellForward(gates: gates, cellPrevious: cell, cell: cell, hidden: hidden)
        let (activations, c, h) = (try backend.download(gates), try backend.download(cell), try backend.download(hidden))

        for b in 0..<B {
            for j in 0..<H {
                let k = b * H + j, row = b * 4 * H
                let i = Self.sigmoid(Double(pre[row + j])), f = Self.sigmoid(Double(pre[row + H + j]))
                let g = tanh(Double(pre[row + 2 * H + j])), o = Self.sigmoid(Double(pre[row + 3 * H + j]))
                for (index, exact) in [(row + j, i), (row + H + j, f), (row + 2 * H + j, g), (row + 3 * H + j, o)] {
                    #expect(abs(Double(activations[index]) - exact) <= tight * abs(exact), "H \(H) activation \(index)")
                }
                let cExact = f * Double(cPrev[k]) + i * g
                let cBound = tight * (abs(f * Double(cPrev[k])) + abs(i * g))
                #expect(abs(Double(c[k]) - cExact) <= cBound, "H \(H) cell \(k): \(c[k]) vs \(cExact)")
                let hExact = o * tanh(cExact)
                #expect(abs(Double(h[k]) - hExact) <= tight * abs(hExact) + o * cBound, "H \(H) hidden \(k)")
            }
        }
    }

    @Test(arguments: widths)
    func lstmBackwardMatchesScalarDouble(hidden H: Int) throws {
        var random = SplitMix64(seed: UInt64(200 + H))
        let B = 3
        // Activations as the forward pass leaves them: σ in (0, 1), tanh in (−1, 1).
        let activations = (0..<B * 4 * H).map { index -> Float in
            let x = random.uniform() * 4
            return (index / H) % 4 == 2 ? Float(tanh(Double(x))) : Float(Self.sigmoid(Double(x)))
        }
        let (cPrev, c) = (random.floats(B * H, scale: 2), random.floats(B * H, scale: 3))
        let (dh, dc) = (random.floats(B * H), random.floats(B * H))
        let gates = try makeTensor(backend, [B, 4 * H], activations)
        let cellPrevious = try makeTensor(backend, [B, H], cPrev)
        let cell = try makeTensor(backend, [B, H], c)
        // The B×H gradients share storage with the states they belong to, gatesGradient with gates.
        let hiddenGradient = try makeTensor(backend, [B, H], dh)
        let cellGradient = try makeTensor(backend, [B, H], dc)
        try backend.lstmCellBackward(gates: gates, cellPrevious: cellPrevious, cell: cell,
                                     hiddenGradient: hiddenGradient, cellGradient: cellGradient,
                                     gatesGradient: gates, cellPreviousGradient: cellGradient)
        let (dGates, dcPrev) = (try backend.download(gates), try backend.download(cellGradient))

        for b in 0..<B {
            for j in 0..<H {
                let k = b * H + j, row = b * 4 * H
                let i = Double(activations[row + j]), f = Double(activations[row + H + j])
                let g = Double(activations[row + 2 * H + j]), o = Double(activations[row + 3 * H + j])
                let tc = tanh(Double(c[k])), dhk = Double(dh[k])
                let dcTotal = Double(dc[k]) + dhk * o * (1 - tc * tc)
                // 1 − tc² is formed from a rounded tanh: its error is absolute, ≈ ε, whatever tc.
                let dcBound = tight * (abs(Double(dc[k])) + abs(dhk * o))
                let expected: [(Int, Double, Double)] = [
                    (row + j, dcTotal * g * i * (1 - i), abs(g * i) * dcBound + tight * abs(dcTotal * g * i)),
                    (row + H + j, dcTotal * Double(cPrev[k]) * f * (1 - f),
                     abs(Double(cPrev[k]) * f) * dcBound + tight * abs(dcTotal * Double(cPrev[k]) * f)),
                    (row + 2 * H + j, dcTotal * i * (1 - g * g), abs(i) * dcBound + tight * abs(dcTotal * i)),
                    (row + 3 * H + j, dhk * tc * o * (1 - o), tight * abs(dhk * o)),
                ]
                for (index, exact, bound) in expected {
                    #expect(abs(Double(dGates[index]) - exact) <= bound, "H \(H) dGates \(index): \(dGates[index]) vs \(exact)")
                }
                #expect(abs(Double(dcPrev[k]) - dcTotal * f) <= abs(f) * dcBound + tight * abs(dcTotal * f),
                        "H \(H) dcPrev \(k)")
            }
        }
    }

    // MARK: Softmax

    static let columnCounts = [1, 5, 8, 13, 37, 1001]

    /// Per row: the maximum, Σ e^(x − max) and the probabilities, in Double.
    static func rows(_ x: [Float], columns C: Int) -> [(max: Double, sum: Double, p: [Double])] {
        stride(from: 0, to: x.count, by: C).map { start in
            let row = x[start..<start + C].map(Double.init)
            let m = row.max()!
            let e = row.map { exp($0 - m) }
            let sum = e.reduce(0, +)
            return (m, sum, e.map { $0 / sum })
        }
    }

    /// The bound on a probability: the exp's ulp and the float rounding of x − max, which is up to
    /// half an ulp of |x − max| (at most the row's spread), in the value itself and in the sum.
    static func probabilityBound(_ p: Double, spread: Double) -> Double { tight * (1 + spread) * p }

    @Test(arguments: columnCounts)
    func softmaxMatchesScalarDouble(columns C: Int) throws {
        var random = SplitMix64(seed: UInt64(300 + C))
        let R = 3
        let x = random.floats(R * C, scale: 5)
        let tensor = try makeTensor(backend, [R, C], x)
        try backend.softmax(tensor, into: tensor)  // in place
        let y = try backend.download(tensor)
        for (r, row) in Self.rows(x, columns: C).enumerated() {
            for col in 0..<C {
                let p = row.p[col]
                #expect(abs(Double(y[r * C + col]) - p) <= Self.probabilityBound(p, spread: 10) + ulp * p,
                        "C \(C) [\(r), \(col)]: \(y[r * C + col]) vs \(p)")
            }
        }
    }

    @Test(arguments: columnCounts)
    func crossEntropyMatchesScalarDouble(columns C: Int) throws {
        var random = SplitMix64(seed: UInt64(400 + C))
        let R = 4
        let x = random.floats(R * C, scale: 5)
        let targets: [Int32] = [Int32(C - 1), 0, -1, Int32(C / 2)]
        let logits = try makeTensor(backend, [R, C], x)
        let losses = try backend.makeTensor(shape: [R], elementType: .float32)
        try backend.softmaxCrossEntropy(logits: logits, targets: try backend.makeIndices(targets), ignoreIndex: -1,
                                        losses: losses, gradient: logits, gradientScale: 0.5)  // gradient in place
        let (loss, gradient) = (try backend.download(losses), try backend.download(logits))

        for (r, row) in Self.rows(x, columns: C).enumerated() {
            guard targets[r] != -1 else {
                #expect(loss[r] == 0 && gradient[r * C..<(r + 1) * C].allSatisfy { $0 == 0 })
                continue
            }
            let t = Int(targets[r])
            let exactLoss = log(row.sum) + row.max - Double(x[r * C + t])
            #expect(abs(Double(loss[r]) - exactLoss) <= tight * (11 + abs(exactLoss)), "C \(C) loss \(r)")
            for col in 0..<C {
                let p = row.p[col], exact = 0.5 * (p - (col == t ? 1 : 0))
                let bound = 0.5 * Self.probabilityBound(p, spread: 10) + tight * abs(exact)
                #expect(abs(Double(gradient[r * C + col]) - exact) <= bound,
                        "C \(C) gradient [\(r), \(col)]: \(gradient[r * C + col]) vs \(exact)")
            }
        }
    }

    @Test(arguments: columnCounts)
    func shardStatisticsAndGradientMatchScalarDouble(columns C: Int) throws {
        var random = SplitMix64(seed: UInt64(500 + C))
        let R = 3
        // Logits spread over ±20 and a normaliser from a wider vocabulary, so that x − z reaches −60,
        // where rounding x − z in float would cost a few ulp in every probability.
        let x = random.floats(R * C, scale: 20)
        let targets: [Int32] = [Int32(C - 1), Int32(C + 5), 0]  // the second lives in another shard
        let indices = try backend.makeIndices(targets)
        let logits = try makeTensor(backend, [R, C], x)
        let (maxima, sumExp, targetLogits) = (try backend.makeTensor(shape: [R], elementType: .float32),
                                              try backend.makeTensor(shape: [R], elementType: .float32),
                                              try backend.makeTensor(shape: [R], elementType: .float32))
        try backend.softmaxStatistics(logits: logits, targets: indices, maxima: maxima, sumExp: sumExp,
                                      targetLogits: targetLogits)
        let rows = Self.rows(x, columns: C)
        let (m, s, tl) = (try backend.download(maxima), try backend.download(sumExp), try backend.download(targetLogits))
        for (r, row) in rows.enumerated() {
            #expect(Double(m[r]) == row.max)
            #expect(abs(Double(s[r]) - row.sum) <= tight * (1 + 40) * row.sum, "C \(C) sumExp \(r)")
            #expect(tl[r] == ((0..<C).contains(Int(targets[r])) ? x[r * C + Int(targets[r])] : 0))
        }

        let z: [Float] = rows.map { Float($0.max + log($0.sum) + 20) }
        try backend.softmaxCrossEntropyGradient(logits: logits, targets: indices,
                                                logNormalizers: try makeTensor(backend, [R], z),
                                                gradientScale: 0.25, gradient: logits)  // in place
        let gradient = try backend.download(logits)
        for r in 0..<R {
            for col in 0..<C {
                let p = exp(Double(x[r * C + col]) - Double(z[r]))
                let exact = 0.25 * (p - (col == Int(targets[r]) ? 1 : 0))
                // exp's ulp, the correction's rounding and the final rounding: 4·ε, tighter than
                // the 16·ε of a float x − z at |x − z| ≥ 32.
                #expect(abs(Double(gradient[r * C + col]) - exact) <= 4 * ulp * (abs(exact) + 0.25 * p),
                        "C \(C) gradient [\(r), \(col)]: \(gradient[r * C + col]) vs \(exact)")
            }
        }
    }
}

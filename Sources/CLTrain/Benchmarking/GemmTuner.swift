import Foundation

/// The search behind `cltrain-bench tune`: for one OpenCL device, every legal tiled gemm parameter
/// set of a search space is built, verified against the CPU reference and timed; the best is the
/// one with the highest objective.
///
/// Objective: the geometric mean over the shapes of each shape's median GFLOP/s (2·M·N·K / time),
/// timed through `OpenCLBackend.gemm` with `.automatic` dispatch, so a candidate is judged by what
/// training would run with it, direct-kernel strips and small-shape fallbacks included. The
/// geometric mean weighs a 10 % gain on any shape alike, so no shape dominates by its size.
public enum GemmTuner {
    /// A timed gemm shape, "MxNxK" with an optional transpose case, e.g. "128x4000x2000" or
    /// "128x4000x2000:NT" (default NN, as BLAS figures are quoted).
    public struct Shape: Hashable, Sendable, CustomStringConvertible {
        public var m, n, k: Int
        public var transposeA = false, transposeB = false

        public init(m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false) {
            (self.m, self.n, self.k, self.transposeA, self.transposeB) = (m, n, k, transposeA, transposeB)
        }

        /// Parses "MxNxK" or "MxNxK:TT"; nil when it is neither, or an operand would have more than
        /// 2³¹ − 1 elements.
        public init?(parsing text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            let sizes = parts[0].lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
            guard sizes.count == 3, let m = sizes[0], let n = sizes[1], let k = sizes[2], m > 0, n > 0, k > 0 else { return nil }
            // Each operand is one OpenCL buffer indexed with 32-bit int: a larger one cannot run (and
            // its element count could overflow an Int).
            for (rows, columns) in [(m, k), (k, n), (m, n)] {
                let (elements, overflow) = rows.multipliedReportingOverflow(by: columns)
                guard !overflow, elements <= Int(Int32.max) else { return nil }
            }
            self.init(m: m, n: n, k: k)
            if parts.count == 2 {
                let cases = parts[1].uppercased()
                guard cases.count == 2, cases.allSatisfy({ $0 == "N" || $0 == "T" }) else { return nil }
                transposeA = cases.first == "T"
                transposeB = cases.last == "T"
            }
        }

        public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
        public var description: String {
            "\(m)x\(n)x\(k)" + (transposeA || transposeB ? ":\(transposeA ? "T" : "N")\(transposeB ? "T" : "N")" : "")
        }
    }

    /// The issue's target shapes: the LSTM layer's gates, the output projection, two squares.
    public static let issueShapes = [Shape(m: 128, n: 4000, k: 2000), Shape(m: 128, n: 80000, k: 1000),
                                     Shape(m: 4096, n: 4096, k: 4096), Shape(m: 8192, n: 8192, k: 8192)]
    /// Small stand-ins for CPU OpenCL devices (PoCL) and CI.
    public static let quickShapes = [Shape(m: 128, n: 512, k: 256), Shape(m: 256, n: 256, k: 256)]

    /// The search space, before the device's limits: the full one is the product of the value
    /// lists below, less what the kernel cannot compile and what no GPU runs well (work-groups
    /// under 64 or over 512 items, more than 128 accumulators per work-item). The quick one is a
    /// handful of sets covering every index path of the kernel.
    public static func searchSpace(quick: Bool) -> [TiledGemmParameters] {
        if quick {
            return [
                .generic,
                TiledGemmParameters(mwg: 32, nwg: 32, kwg: 16, mdimc: 8, ndimc: 8, vwm: 1, vwn: 1, vwa: 4, vwb: 4, kwi: 2),
                TiledGemmParameters(mwg: 64, nwg: 64, kwg: 16, mdimc: 8, ndimc: 8, vwm: 2, vwn: 4, vwa: 4, vwb: 4, kwi: 4),
                TiledGemmParameters(mwg: 32, nwg: 64, kwg: 8, mdimc: 8, ndimc: 16, vwm: 1, vwn: 4, vwa: 2, vwb: 4, kwi: 4),
                TiledGemmParameters(mwg: 64, nwg: 32, kwg: 32, mdimc: 16, ndimc: 8, vwm: 4, vwn: 1, vwa: 4, vwb: 4, kwi: 2),
            ]
        }
        var space: [TiledGemmParameters] = []
        let tiles = [32, 64, 128], depths = [16, 32], groupSides = [8, 16, 32], widths = [1, 2, 4], loads = [1, 4]
        for mwg in tiles { for nwg in tiles { for kwg in depths { for mdimc in groupSides { for ndimc in groupSides {
            for vwm in widths { for vwn in widths { for vwa in loads { for vwb in loads { for kwi in [2, 8] {
                let p = TiledGemmParameters(mwg: mwg, nwg: nwg, kwg: kwg, mdimc: mdimc, ndimc: ndimc,
                                            vwm: vwm, vwn: vwn, vwa: vwa, vwb: vwb, kwi: kwi)
                let accumulators = (mwg / mdimc) * (nwg / ndimc)
                guard (64...512).contains(p.workGroupSize), accumulators <= 128,
                      p.problems(maxWorkGroupSize: .max, localMemoryBytes: .max).isEmpty else { continue }
                space.append(p)
            } } } } }
        } } } } }
        return space
    }

    /// The sets of `space` legal on `device`, at most `limit` of them: a sample drawn with a fixed
    /// seed (so two runs try the same sets), always keeping the generic default for comparison.
    public static func candidates(from space: [TiledGemmParameters], device: OpenCLDeviceDescription,
                                  limit: Int?) -> [TiledGemmParameters] {
        let legal = space.filter {
            $0.problems(maxWorkGroupSize: device.maxWorkGroupSize, localMemoryBytes: Int(device.localMemoryBytes)).isEmpty
        }
        guard let limit, legal.count > limit else { return legal }
        var random = SplitMix64(seed: "gemm tuner sample")
        var sample = Array(legal.shuffled(using: &random).prefix(limit))
        if legal.contains(.generic), !sample.contains(.generic) { sample[sample.count - 1] = .generic }
        return sample
    }

    /// The shape each candidate is verified on: two tiles and a ragged edge each way, two slabs
    /// and a K tail, so the tiled kernel, both direct strips and the guarded slab all run.
    public static func verificationShape(_ p: TiledGemmParameters) -> (m: Int, n: Int, k: Int) {
        (2 * p.mwg + 3, 2 * p.nwg + 5, 2 * p.kwg + 3)
    }

    /// Verifies the backend's gemm (tiled wherever possible) against `reference` in all four
    /// transpose cases, with aligned operands (vector loads) and with every operand a view one
    /// element in (scalar loads). Returns why it failed, or nil when it passed.
    public static func verify(_ backend: OpenCLBackend, reference: CPUBackend, shape: (m: Int, n: Int, k: Int)) throws -> String? {
        let (m, n, k) = shape
        var random = SplitMix64(seed: "gemm tuner verification")
        for offset in [0, 1] {
            for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
                let aValues = random.floats(m * k), bValues = random.floats(k * n), cValues = random.floats(m * n)
                var results: [[Float]] = []
                for target in [reference as Backend, backend] {
                    func operand(_ shape: [Int], _ values: [Float]) throws -> Tensor {
                        let storage = try target.makeTensor(shape: [values.count + offset], elementType: .float32)
                        let tensor = try storage.rows(offset..<(offset + values.count)).reshaped(shape)
                        try target.upload(values, to: tensor)
                        return tensor
                    }
                    let a = try operand(transposeA ? [k, m] : [m, k], aValues)
                    let b = try operand(transposeB ? [n, k] : [k, n], bValues)
                    let c = try operand([m, n], cValues)
                    try target.gemm(transposeA: transposeA, transposeB: transposeB, alpha: 1.5, a, b, beta: -0.5, c)
                    results.append(try target.download(c))
                }
                let comparison = compare(results[1], to: results[0], reductionLength: k)
                if !comparison.passed {
                    let variant = (transposeA ? "T" : "N") + (transposeB ? "T" : "N")
                    return "\(m)x\(n)x\(k) \(variant)\(offset > 0 ? " at offset \(offset)" : ""): \(comparison.failure ?? "")"
                }
            }
        }
        return nil
    }

    /// The median device time of `repeats` runs of `shape` after `warmup` untimed ones, in seconds.
    public static func medianSeconds(_ backend: OpenCLBackend, shape: Shape, warmup: Int, repeats: Int) throws -> Double {
        var generator = SplitMix64(seed: "gemm tuner \(shape)")
        func random(_ dimensions: [Int]) throws -> Tensor {
            let tensor = try backend.makeTensor(shape: dimensions, elementType: .float32)
            try backend.upload(generator.floats(dimensions[0] * dimensions[1]), to: tensor)
            return tensor
        }
        let a = try random(shape.transposeA ? [shape.k, shape.m] : [shape.m, shape.k])
        let b = try random(shape.transposeB ? [shape.n, shape.k] : [shape.k, shape.n])
        let c = try backend.makeTensor([shape.m, shape.n], filledWith: 0)
        func run() throws {
            try backend.gemm(transposeA: shape.transposeA, transposeB: shape.transposeB, alpha: 1, a, b, beta: 0, c)
        }
        for _ in 0..<warmup { try run() }
        try backend.synchronize()
        var samples: [Double] = []
        for _ in 0..<repeats { samples.append(try backend.queue.deviceSeconds(of: run)) }
        return try TimingSummary(samples: samples).median
    }

    /// The geometric mean of positive values; 0 when any is not positive or there are none.
    public static func geometricMean(_ values: [Double]) -> Double {
        guard !values.isEmpty, values.allSatisfy({ $0 > 0 }) else { return 0 }
        return exp(values.map { log($0) }.reduce(0, +) / Double(values.count))
    }
}

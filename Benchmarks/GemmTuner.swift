import CLTrain
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

    /// Sets likely to be fast on NVIDIA Hopper (H100, H200: 132 SMs, 228 KiB of shared memory a
    /// SM, 255 registers a thread), tried first by `cltrain-bench tune` so that a short time
    /// budget spends itself on them before the random sample: 128×128 and 64×128 tiles of C, 8×8
    /// accumulators per work-item (64 registers), wide (float8) global loads and float4 local
    /// reads, as CLBlast's xgemm tuning favours on NVIDIA's large parts; plus smaller tiles for the
    /// batch-128 shapes, whose 128-row C has too few 128×128 tiles to fill 132 SMs. Leads, not
    /// measurements: the tuner verifies and times each like any other candidate.
    public static let hopperSeeds: [TiledGemmParameters] = [
        TiledGemmParameters(mwg: 128, nwg: 128, kwg: 16, mdimc: 16, ndimc: 16, vwm: 4, vwn: 4, vwa: 4, vwb: 4, kwi: 2),
        TiledGemmParameters(mwg: 128, nwg: 128, kwg: 32, mdimc: 16, ndimc: 16, vwm: 4, vwn: 4, vwa: 8, vwb: 8, kwi: 4),
        TiledGemmParameters(mwg: 128, nwg: 128, kwg: 16, mdimc: 16, ndimc: 16, vwm: 2, vwn: 4, vwa: 8, vwb: 8, kwi: 4),
        TiledGemmParameters(mwg: 64, nwg: 128, kwg: 16, mdimc: 8, ndimc: 16, vwm: 4, vwn: 4, vwa: 4, vwb: 4, kwi: 2),
        TiledGemmParameters(mwg: 64, nwg: 128, kwg: 32, mdimc: 8, ndimc: 16, vwm: 4, vwn: 4, vwa: 8, vwb: 8, kwi: 4),
        TiledGemmParameters(mwg: 128, nwg: 64, kwg: 16, mdimc: 16, ndimc: 8, vwm: 4, vwn: 4, vwa: 4, vwb: 4, kwi: 2),
        TiledGemmParameters(mwg: 64, nwg: 64, kwg: 16, mdimc: 8, ndimc: 8, vwm: 4, vwn: 4, vwa: 4, vwb: 4, kwi: 2),
        TiledGemmParameters(mwg: 32, nwg: 64, kwg: 16, mdimc: 8, ndimc: 8, vwm: 2, vwn: 4, vwa: 4, vwb: 4, kwi: 2),
    ]

    /// The sets to try on `device`, in order: the legal `seeds` first (as given), then the legal
    /// sets of `space` in a sample drawn with a fixed seed (so two runs try the same sets), the
    /// generic default always among them for comparison; at most `limit` in all (nil: all of them,
    /// for a search that a time budget stops).
    public static func candidates(from space: [TiledGemmParameters], seeds: [TiledGemmParameters] = [],
                                  device: OpenCLDeviceDescription, limit: Int?) -> [TiledGemmParameters] {
        candidates(from: space, seeds: seeds, maxWorkGroupSize: device.maxWorkGroupSize,
                   localMemoryBytes: Int(clamping: device.localMemoryBytes), limit: limit)
    }

    /// The same for a device with these limits.
    public static func candidates(from space: [TiledGemmParameters], seeds: [TiledGemmParameters] = [],
                                  maxWorkGroupSize: Int, localMemoryBytes: Int, limit: Int?) -> [TiledGemmParameters] {
        func legal(_ p: TiledGemmParameters) -> Bool {
            p.problems(maxWorkGroupSize: maxWorkGroupSize, localMemoryBytes: localMemoryBytes).isEmpty
        }
        var chosen: [TiledGemmParameters] = []
        for seed in seeds where legal(seed) && !chosen.contains(seed) { chosen.append(seed) }
        if let limit, chosen.count >= limit { return Array(chosen.prefix(limit)) }
        let rest = space.filter { legal($0) && !chosen.contains($0) }
        let room = limit.map { $0 - chosen.count } ?? rest.count
        var random = SplitMix64(seed: "gemm tuner sample")
        var sample = Array(rest.shuffled(using: &random).prefix(room))
        // The generic default, if the seeds do not hold it, goes right after them: a time budget
        // must not stop the search before the set every device starts from is measured.
        if legal(.generic), !chosen.contains(.generic) {
            sample.removeAll { $0 == .generic }
            if !sample.isEmpty, sample.count >= room { sample.removeLast() }
            sample.insert(.generic, at: 0)
        }
        return chosen + sample
    }

    /// What became of one candidate.
    public struct Outcome: Sendable {
        public let parameters: TiledGemmParameters
        /// GFLOP/s per shape, in the shapes' order; empty when rejected.
        public var gigaflops: [Double] = []
        /// Why it was rejected (a wrong result, a build failure), or nil when it was timed.
        public var rejection: String?
        /// The objective: the geometric mean of `gigaflops`; 0 when rejected.
        public var score: Double { rejection == nil ? GemmTuner.geometricMean(gigaflops) : 0 }

        public init(parameters: TiledGemmParameters, gigaflops: [Double] = [], rejection: String? = nil) {
            (self.parameters, self.gigaflops, self.rejection) = (parameters, gigaflops, rejection)
        }
    }

    /// Where a search ended.
    public struct SearchResult: Sendable {
        /// Every candidate tried, in the order tried.
        public var outcomes: [Outcome] = []
        /// The verified, timed candidate with the highest score, or nil when none passed.
        public var best: Outcome?
        /// Candidates left untried because the time budget was spent.
        public var untried = 0
        public var stoppedByBudget: Bool { untried > 0 }
    }

    /// Tries `candidates` in order with `evaluate` (which verifies, then times, and returns the
    /// outcome; a thrown error rejects the candidate with its first line) until they are done or
    /// `budgetSeconds` have passed on `clock` (seconds, any origin) since the call. The budget is
    /// checked before each candidate, so the last one started may end past it by its own time;
    /// a run that stops early keeps the best verified set found so far. `onOutcome` sees each
    /// outcome as it comes, with whether it is the new best (to save it at once, so that a run
    /// killed from outside still leaves its best behind).
    public static func search(_ candidates: [TiledGemmParameters], budgetSeconds: Double?,
                              clock: () -> Double = { Double(WallClock.now) * 1e-9 },
                              evaluate: (TiledGemmParameters) throws -> Outcome,
                              onOutcome: (Outcome, _ isNewBest: Bool) throws -> Void = { _, _ in }) rethrows -> SearchResult {
        let start = clock()
        var result = SearchResult()
        for (number, parameters) in candidates.enumerated() {
            if let budgetSeconds, clock() - start >= budgetSeconds {
                result.untried = candidates.count - number
                break
            }
            var outcome: Outcome
            do {
                outcome = try evaluate(parameters)
            } catch {
                outcome = Outcome(parameters: parameters,
                                  rejection: "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)")
            }
            if outcome.rejection == nil && outcome.gigaflops.isEmpty { outcome.rejection = "nothing was timed" }
            let isNewBest = outcome.rejection == nil && outcome.score > (result.best?.score ?? 0)
            if isNewBest { result.best = outcome }
            result.outcomes.append(outcome)
            try onOutcome(outcome, isNewBest)
        }
        return result
    }

    /// The built-in table entry (KernelParameters.swift) that makes `parameters` the default on
    /// devices named like `device`, as Swift source to paste into `KernelParameters.table`.
    public static func builtInTableEntry(for device: OpenCLDeviceDescription, parameters: TiledGemmParameters) -> String {
        KernelParameters.tableEntryLiteral(vendor: device.vendor, deviceName: device.name, tiledGemm: parameters)
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

import Testing
@testable import CLTrain

/// The tiled gemm kernel, compiled with explicit parameters and forced onto every whole tile,
/// against the CPU reference: full tiles, ragged edges (the direct kernel's strips), K tails and
/// K under one slab, views at aligned and unaligned offsets, unaligned row lengths (the scalar-load
/// build), beta 0 with NaN in C, alpha and beta, every transpose case.
@Suite(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty,
                "no OpenCL platform: OpenCL tiled gemm tests skipped, CPU tests still run"))
struct OpenCLTiledGemmTests {
    static let parameterSets: [TiledGemmParameters] = [
        .generic,
        // Narrow M tile, wide vectors along N, 2-wide loads of A: other index paths of the kernel.
        TiledGemmParameters(mwg: 32, nwg: 64, kwg: 8, mdimc: 8, ndimc: 16, vwm: 1, vwn: 4, vwa: 2, vwb: 4, kwi: 4),
        // Small tiles, 4-wide local reads, scalar loads of A, no unrolling.
        TiledGemmParameters(mwg: 16, nwg: 16, kwg: 16, mdimc: 4, ndimc: 4, vwm: 4, vwn: 4, vwa: 1, vwb: 2, kwi: 1),
    ]

    struct Case: CustomStringConvertible {
        var m, n, k: Int
        var alpha: Float = 1.5, beta: Float = -0.5
        /// Elements before each operand's view in its buffer.
        var offsets = (a: 0, b: 0, c: 0)
        var description: String {
            "\(m)×\(n)×\(k) α=\(alpha) β=\(beta) offsets \(offsets.a),\(offsets.b),\(offsets.c)"
        }
    }

    static func cases(_ p: TiledGemmParameters) -> [Case] {
        let (mw, nw, kw) = (p.mwg, p.nwg, p.kwg)
        return [
            Case(m: 2 * mw, n: 2 * nw, k: 4 * kw),                              // whole tiles, whole slabs
            Case(m: 2 * mw + 3, n: nw + 5, k: 3 * kw + 5),                      // ragged edges, K tail
            Case(m: mw, n: 3 * nw, k: 3),                                       // K under one slab
            Case(m: mw + 1, n: nw, k: 2 * kw, beta: 0),                         // beta 0: C holds NaN
            Case(m: 2 * mw, n: nw + 7, k: 2 * kw, offsets: (16, 8, 3)),         // aligned views
            Case(m: mw + 2, n: 2 * nw, k: 2 * kw + 1, alpha: -1, beta: 2, offsets: (1, 3, 5)),   // unaligned
        ]
    }

    @Test(arguments: parameterSets)
    func matchesTheCPUReference(parameters: TiledGemmParameters) throws {
        let context = try DeviceRegistry.shared.context(ofOpenCLDevice: 0)
        let device = try OpenCLBackend(context: context, tiledGemm: parameters, dispatch: .tiledWherePossible)
        #expect(device.tiledGemmParameters == parameters)
        let reference = CPUBackend()
        var random = SplitMix64(seed: "tiled gemm \(parameters)")
        for item in Self.cases(parameters) {
            for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
                let (m, n, k) = (item.m, item.n, item.k)
                let aShape = transposeA ? [k, m] : [m, k], bShape = transposeB ? [n, k] : [k, n]
                let aValues = random.floats(m * k), bValues = random.floats(k * n)
                let cValues = item.beta == 0 ? [Float](repeating: .nan, count: m * n) : random.floats(m * n)
                // Each operand a view at its offset into a larger buffer; the sentinel around it must survive.
                func view(_ backend: Backend, _ shape: [Int], _ offset: Int, _ values: [Float]) throws -> (Tensor, Tensor) {
                    let storage = try backend.makeTensor(shape: [offset + values.count + 2], elementType: .float32)
                    try backend.upload([Float](repeating: 77, count: offset + values.count + 2), to: storage)
                    let tensor = try storage.rows(offset..<(offset + values.count)).reshaped(shape)
                    try backend.upload(values, to: tensor)
                    return (tensor, storage)
                }
                var results: [[Float]] = []
                var storages: [[Float]] = []
                for backend in [reference as Backend, device] {
                    let (a, _) = try view(backend, aShape, item.offsets.a, aValues)
                    let (b, _) = try view(backend, bShape, item.offsets.b, bValues)
                    let (c, storageC) = try view(backend, [m, n], item.offsets.c, cValues)
                    try backend.gemm(transposeA: transposeA, transposeB: transposeB, alpha: item.alpha, a, b, beta: item.beta, c)
                    results.append(try backend.download(c))
                    storages.append(try backend.download(storageC))
                }
                let name = "\(item) \(transposeA ? "T" : "N")\(transposeB ? "T" : "N") with \(parameters)"
                let comparison = compare(results[1], to: results[0], reductionLength: k)
                #expect(comparison.passed, "\(name): \(comparison.failure ?? "")")
                let outside = Array(storages[1][..<item.offsets.c]) + Array(storages[1][(item.offsets.c + m * n)...])
                #expect(outside.allSatisfy { $0 == 77 }, "\(name): C written outside its view")
            }
        }
    }

    @Test func illegalExplicitParametersThrowNamingTheProblem() throws {
        let context = try DeviceRegistry.shared.context(ofOpenCLDevice: 0)
        var bad = TiledGemmParameters.generic
        bad.mwg = 48
        #expect {
            _ = try OpenCLBackend(context: context, tiledGemm: bad, dispatch: .automatic)
        } throws: { error in
            "\(error)".contains("MWG = 48")
        }
    }

    @Test func illegalTableOrTunedParametersFallBackWithoutFailing() throws {
        let context = try DeviceRegistry.shared.context(ofOpenCLDevice: 0)
        var parameters = KernelParameters()
        parameters.tiledGemm?.mdimc = 3   // MWG = 64 is not a multiple of MDIMC·VWM = 6: illegal everywhere
        let backend = try OpenCLBackend(context: context, parameters: parameters, source: "a test", strict: false,
                                        dispatch: .automatic)
        #expect(backend.tiledGemmParameters == .generic)
    }

    @Test func aTunedEntryForThisDeviceIsPickedAndOthersAreNot() throws {
        let device = try DeviceRegistry.shared.description(ofOpenCLDevice: 0)
        var tuned = TiledGemmParameters.generic
        tuned.kwg = 32
        var file = GemmTuningFile()
        file.record(.init(deviceName: device.name, driverVersion: device.driverVersion, platformName: device.platformName,
                          parameters: tuned, objective: "test", score: 1, shapes: [], date: ""))
        let (picked, source) = KernelParameters.forDevice(device, tuning: file)
        #expect(picked.tiledGemm == tuned && source == .tuningFile)
        file = GemmTuningFile()
        file.record(.init(deviceName: device.name, driverVersion: device.driverVersion + " other", platformName: "",
                          parameters: tuned, objective: "test", score: 1, shapes: [], date: ""))
        #expect(KernelParameters.forDevice(device, tuning: file).parameters.tiledGemm == .generic)
    }
}

extension TiledGemmParameters: CustomTestStringConvertible {
    public var testDescription: String { description }
}

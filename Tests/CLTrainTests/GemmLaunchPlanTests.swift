import Foundation
import Testing
@testable import CLTrain

/// The choice of gemm kernels and the tiled kernel's parameter checks: pure functions, no device.
struct GemmLaunchPlanTests {
    let p = TiledGemmParameters.generic   // 64 × 64 tiles, K slabs of 16
    let direct64 = (m: 64, n: 64)           // the direct kernel's default tile

    /// Every element of C is covered exactly once.
    func coverage(_ launches: [GemmLaunch], m: Int, n: Int) -> [Int] {
        var count = [Int](repeating: 0, count: m * n)
        for launch in launches {
            for i in launch.rows { for j in launch.columns { count[i * n + j] += 1 } }
        }
        return count
    }

    @Test func wholeTilesGoToTheTiledKernelAlone() {
        let launches = GemmLaunchPlan.launches(m: 256, n: 512, k: 100, tiled: p, directTile: direct64, computeUnits: 8, dispatch: .automatic)
        #expect(launches == [GemmLaunch(kernel: .tiled, rows: 0..<256, columns: 0..<512)])
    }

    @Test func raggedEdgesGoToTheDirectKernelInTwoStrips() {
        let launches = GemmLaunchPlan.launches(m: 200, n: 300, k: 100, tiled: p, directTile: direct64, computeUnits: 8, dispatch: .automatic)
        #expect(launches == [GemmLaunch(kernel: .tiled, rows: 0..<192, columns: 0..<256),
                             GemmLaunch(kernel: .direct, rows: 0..<192, columns: 256..<300),
                             GemmLaunch(kernel: .direct, rows: 192..<200, columns: 0..<300)])
        #expect(coverage(launches, m: 200, n: 300).allSatisfy { $0 == 1 })
    }

    @Test(arguments: [(1, 1), (63, 64), (64, 63), (65, 129), (128, 64), (130, 300), (1000, 77)])
    func everyShapeIsCoveredOnce(shape: (Int, Int)) {
        for dispatch in [GemmDispatch.automatic, .tiledWherePossible, .directOnly] {
            let launches = GemmLaunchPlan.launches(m: shape.0, n: shape.1, k: 40, tiled: p, directTile: direct64, computeUnits: 1, dispatch: dispatch)
            #expect(launches.count <= 3)
            #expect(coverage(launches, m: shape.0, n: shape.1).allSatisfy { $0 == 1 }, "\(shape) \(dispatch)")
            #expect(launches.filter { $0.kernel == .tiled }.allSatisfy {
                $0.rows.count % p.mwg == 0 && $0.columns.count % p.nwg == 0 && $0.rows.lowerBound == 0 && $0.columns.lowerBound == 0
            })
        }
    }

    @Test func fewTilesOrAShortKUseTheDirectKernel() {
        let direct = [GemmLaunch(kernel: .direct, rows: 0..<128, columns: 0..<4000)]
        // 2 × 62 tiles cannot fill 132 compute units; direct 32 × 32 tiles (4 × 125) can, but
        // direct tiles as large as the tiled kernel's would leave as many idle, only slower.
        #expect(GemmLaunchPlan.launches(m: 128, n: 4000, k: 2000, tiled: p, directTile: (32, 32), computeUnits: 132,
                                        dispatch: .automatic) == direct)
        #expect(GemmLaunchPlan.launches(m: 128, n: 4000, k: 2000, tiled: p, directTile: direct64, computeUnits: 132,
                                        dispatch: .automatic).first?.kernel == .tiled)
        #expect(GemmLaunchPlan.launches(m: 128, n: 4000, k: 2000, tiled: p, directTile: (32, 32), computeUnits: 124,
                                        dispatch: .automatic).first?.kernel == .tiled)
        #expect(GemmLaunchPlan.launches(m: 128, n: 4000, k: 15, tiled: p, directTile: direct64, computeUnits: 1, dispatch: .automatic) == direct)
        // Tests and the tuner can force the tiled kernel onto whatever whole tiles there are.
        #expect(GemmLaunchPlan.launches(m: 128, n: 4000, k: 15, tiled: p, directTile: direct64, computeUnits: 132, dispatch: .tiledWherePossible).first?.kernel == .tiled)
    }

    @Test func noTiledParametersOrNoWholeTileMeansOneDirectLaunch() {
        let direct = [GemmLaunch(kernel: .direct, rows: 0..<63, columns: 0..<500)]
        #expect(GemmLaunchPlan.launches(m: 63, n: 500, k: 64, tiled: p, directTile: direct64, computeUnits: 1, dispatch: .tiledWherePossible) == direct)
        #expect(GemmLaunchPlan.launches(m: 63, n: 500, k: 64, tiled: nil, directTile: direct64, computeUnits: 1, dispatch: .automatic) == direct)
        #expect(GemmLaunchPlan.launches(m: 640, n: 640, k: 64, tiled: p, directTile: direct64, computeUnits: 1, dispatch: .directOnly)
                == [GemmLaunch(kernel: .direct, rows: 0..<640, columns: 0..<640)])
        #expect(GemmLaunchPlan.launches(m: 0, n: 5, k: 5, tiled: p, directTile: direct64, computeUnits: 1, dispatch: .automatic).isEmpty)
    }

    @Test func vectorLoadsNeedAlignedOffsetsAndRowLengths() {
        #expect(p.vectorLoadsAligned(offsetA: 8, lda: 1000, offsetB: 0, ldb: 4000))
        #expect(!p.vectorLoadsAligned(offsetA: 2, lda: 1000, offsetB: 0, ldb: 4000))
        #expect(!p.vectorLoadsAligned(offsetA: 0, lda: 1001, offsetB: 0, ldb: 4000))
        #expect(!p.vectorLoadsAligned(offsetA: 0, lda: 1000, offsetB: 0, ldb: 4002))
        #expect(p.scalarLoads.vectorLoadsAligned(offsetA: 3, lda: 7, offsetB: 5, ldb: 9))
    }

    @Test func legalityNamesEachProblem() {
        #expect(p.problems(maxWorkGroupSize: 256, localMemoryBytes: 8192).isEmpty)
        #expect(p.problems(maxWorkGroupSize: 128, localMemoryBytes: 8192).contains { $0.contains("exceed the device's 128") })
        #expect(p.problems(maxWorkGroupSize: 256, localMemoryBytes: 4096).contains { $0.contains("8192 bytes of local memory") })
        var bad = p
        bad.vwm = 3
        #expect(bad.problems(maxWorkGroupSize: 1024, localMemoryBytes: 65536).contains { $0.contains("VWM = 3") })
        bad = p
        bad.mwg = 48   // not a multiple of MDIMC·VWM = 32
        #expect(bad.problems(maxWorkGroupSize: 1024, localMemoryBytes: 65536).contains { $0.contains("MWG = 48") })
        bad = p
        bad.kwg = 4    // 64·4/4 = 64 vectors of A for 256 work-items
        #expect(bad.problems(maxWorkGroupSize: 1024, localMemoryBytes: 65536).contains { $0.contains("evenly") })
        bad = p
        bad.kwi = 0
        #expect(bad.problems(maxWorkGroupSize: 1024, localMemoryBytes: 65536) == ["KWI = 0 must be at least 1"])
        #expect(p.scalarLoads.problems(maxWorkGroupSize: 256, localMemoryBytes: 8192).isEmpty)
    }

    @Test func buildOptionsAndTableRow() {
        #expect(KernelParameters().buildOptions(for: .matmulTiled)
                == "-cl-std=CL1.2 -D MWG=64 -D NWG=64 -D KWG=16 -D MDIMC=16 -D NDIMC=16 -D VWM=2 -D VWN=2 -D VWA=4 -D VWB=4 -D KWI=2")
        #expect(p.swiftLiteral.hasPrefix("TiledGemmParameters(mwg: 64, nwg: 64, kwg: 16,"))
        let (parameters, source) = KernelParameters.builtIn(vendor: "Some Vendor", name: "Some Device")
        #expect(parameters.tiledGemm == .generic && source == .genericDefault)
    }
}

/// The tuner's file in the cache folder: a round trip, lookups by device and driver, and a corrupt
/// file that is ignored with a warning.
struct GemmTuningFileTests {
    func temporaryFile() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("cltrain-tuning-\(UUID().uuidString)")
            .appendingPathComponent("gemm-tuning.json")
    }

    func entry(_ device: String, _ driver: String, mwg: Int = 64) -> GemmTuningFile.Entry {
        var parameters = TiledGemmParameters.generic
        parameters.mwg = mwg
        return GemmTuningFile.Entry(deviceName: device, driverVersion: driver, platformName: "P", parameters: parameters,
                                    objective: "geometric mean of median GFLOP/s", score: 12.5, shapes: ["128x4000x2000"],
                                    date: "2026-11-22T00:00:00Z")
    }

    @Test func roundTripAndLookup() throws {
        let url = temporaryFile()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        var file = GemmTuningFile()
        file.record(entry("NVIDIA H100", "580.1"))
        file.record(entry("NVIDIA H100", "580.2", mwg: 128))
        file.record(entry("NVIDIA H100", "580.1", mwg: 32))   // replaces the first
        try file.write(to: url)
        var warnings: [String] = []
        let read = GemmTuningFile.load(from: url) { warnings.append($0) }
        #expect(warnings.isEmpty)
        #expect(read == file)
        #expect(read.entries.count == 2)
        #expect(read.entry(deviceName: "NVIDIA H100", driverVersion: "580.1")?.parameters.mwg == 32)
        #expect(read.entry(deviceName: "NVIDIA H100", driverVersion: "580.2")?.parameters.mwg == 128)
        #expect(read.entry(deviceName: "NVIDIA H100", driverVersion: "575.0") == nil)
    }

    @Test func aMissingFileIsEmptyWithoutWarning() {
        var warnings: [String] = []
        let read = GemmTuningFile.load(from: temporaryFile()) { warnings.append($0) }
        #expect(read.entries.isEmpty && warnings.isEmpty)
    }

    @Test(arguments: ["{ not json", "{\"version\": 1, \"entries\": [{\"deviceName\": 3}]}", "{\"version\": 7, \"entries\": []}", ""])
    func aCorruptFileIsIgnoredWithAWarning(contents: String) throws {
        let url = temporaryFile()
        defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contents.utf8).write(to: url)
        var warnings: [String] = []
        let read = GemmTuningFile.load(from: url) { warnings.append($0) }
        #expect(read.entries.isEmpty)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains(url.path) == true)
    }

    @Test func theFileLivesInTheCacheFolder() {
        #expect(GemmTuningFile.defaultLocation(environment: ["CLTRAIN_CACHE_DIR": "/x"])?.path == "/x/tuning/gemm-tuning.json")
        #expect(GemmTuningFile.defaultLocation(environment: ["CLTRAIN_CACHE_DIR": "off"]) == nil)
    }
}

import Testing
@testable import CLTrain

/// The tuner's pure parts: shapes, the search space, the sample, the objective; and one quick
/// candidate verified and timed on a real device.
struct GemmTunerTests {
    @Test func shapesParse() {
        #expect(GemmTuner.Shape(parsing: "128x4000x2000") == GemmTuner.Shape(m: 128, n: 4000, k: 2000))
        #expect(GemmTuner.Shape(parsing: "128X4000x2000:nt") == GemmTuner.Shape(m: 128, n: 4000, k: 2000, transposeB: true))
        #expect(GemmTuner.Shape(parsing: "8x8x8:TN")?.description == "8x8x8:TN")
        for bad in ["", "128x4000", "0x1x1", "1x1x-1", "axbxc", "1x1x1:XY", "1x1x1:N", "1x1x1:NN:TT"] {
            #expect(GemmTuner.Shape(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func everySetOfBothSpacesIsLegal() {
        for quick in [true, false] {
            let space = GemmTuner.searchSpace(quick: quick)
            #expect(!space.isEmpty)
            #expect(Set(space).count == space.count)
            #expect(space.allSatisfy { $0.problems(maxWorkGroupSize: 1024, localMemoryBytes: 48 * 1024).isEmpty })
        }
        #expect(GemmTuner.searchSpace(quick: true).contains(.generic))
        #expect(GemmTuner.searchSpace(quick: false).contains(.generic))
    }

    @Test func geometricMean() {
        #expect(abs(GemmTuner.geometricMean([2, 8]) - 4) < 1e-12)
        #expect(GemmTuner.geometricMean([]) == 0)
        #expect(GemmTuner.geometricMean([3, 0]) == 0)
    }

    @Test(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty,
                   "no OpenCL platform: the tuner's device part skipped"))
    func aCandidateIsVerifiedAndTimedAndTheSampleIsStable() throws {
        let device = try DeviceRegistry.shared.description(ofOpenCLDevice: 0)
        let full = GemmTuner.searchSpace(quick: false)
        let sample = GemmTuner.candidates(from: full, device: device, limit: 20)
        #expect(sample.count == 20 && sample.contains(.generic))
        #expect(sample == GemmTuner.candidates(from: full, device: device, limit: 20))

        let context = try DeviceRegistry.shared.context(ofOpenCLDevice: 0)
        let p = TiledGemmParameters(mwg: 32, nwg: 32, kwg: 16, mdimc: 8, ndimc: 8, vwm: 1, vwn: 1, vwa: 4, vwb: 4, kwi: 2)
        let backend = try OpenCLBackend(context: context, tiledGemm: p, dispatch: .tiledWherePossible)
        #expect(try GemmTuner.verify(backend, reference: CPUBackend(), shape: GemmTuner.verificationShape(p)) == nil)
        let seconds = try GemmTuner.medianSeconds(backend, shape: GemmTuner.Shape(m: 64, n: 64, k: 64), warmup: 0, repeats: 2)
        #expect(seconds > 0)
    }
}

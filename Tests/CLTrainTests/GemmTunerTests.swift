import Testing
@testable import CLTrain
@testable import cltrain_bench

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

    @Test func hopperSeedsAreLegalOnHopperAndComeFirst() {
        // NVIDIA's OpenCL driver reports 1024-item work-groups and 48 KiB of local memory on Hopper.
        let seeds = GemmTuner.hopperSeeds
        #expect(seeds.allSatisfy { $0.problems(maxWorkGroupSize: 1024, localMemoryBytes: 48 * 1024).isEmpty })
        #expect(seeds.contains { $0.mwg == 128 && $0.nwg == 128 && $0.mwg / $0.mdimc == 8 && $0.nwg / $0.ndimc == 8 })
        #expect(seeds.contains { $0.mwg == 64 && $0.nwg == 128 && $0.mwg / $0.mdimc == 8 && $0.nwg / $0.ndimc == 8 })
        #expect(seeds.contains { $0.vwa == 8 && $0.vwb == 8 })
        #expect(Set(seeds).count == seeds.count)

        let full = GemmTuner.searchSpace(quick: false)
        let picked = GemmTuner.candidates(from: full, seeds: seeds, maxWorkGroupSize: 1024, localMemoryBytes: 48 * 1024, limit: 20)
        #expect(Array(picked.prefix(seeds.count)) == seeds)
        #expect(picked[seeds.count] == .generic)
        #expect(picked.count == 20 && Set(picked).count == 20)
        #expect(picked == GemmTuner.candidates(from: full, seeds: seeds, maxWorkGroupSize: 1024,
                                               localMemoryBytes: 48 * 1024, limit: 20))
        // Without a limit (a time budget stops the search): every legal set once, seeds first.
        let all = GemmTuner.candidates(from: full, seeds: seeds, maxWorkGroupSize: 1024, localMemoryBytes: 48 * 1024, limit: nil)
        #expect(Array(all.prefix(seeds.count)) == seeds)
        #expect(Set(all) == Set(full.filter { $0.problems(maxWorkGroupSize: 1024, localMemoryBytes: 48 * 1024).isEmpty } + seeds))
        #expect(all.count == Set(all).count)
        // A limit under the seeds' count keeps the first seeds only.
        #expect(GemmTuner.candidates(from: full, seeds: seeds, maxWorkGroupSize: 1024, localMemoryBytes: 48 * 1024,
                                     limit: 3) == Array(seeds.prefix(3)))
        // A small device (128-item groups, 16 KiB of local memory) drops the seeds it cannot run.
        let small = GemmTuner.candidates(from: full, seeds: seeds, maxWorkGroupSize: 128, localMemoryBytes: 16 * 1024, limit: 10)
        #expect(small.allSatisfy { $0.problems(maxWorkGroupSize: 128, localMemoryBytes: 16 * 1024).isEmpty })
        #expect(!small.contains(seeds[0]) && small.contains(seeds[3]))
    }

    /// A clock the test moves by hand, so that "time passes" only where the test says.
    final class FakeClock {
        var now = 100.0
    }

    @Test func theTimeBudgetStopsTheSearch() throws {
        let candidates = Array(GemmTuner.hopperSeeds.prefix(6))
        let clock = FakeClock()
        var evaluated: [TiledGemmParameters] = []
        let result = try GemmTuner.search(candidates, budgetSeconds: 3, clock: { clock.now }) { p in
            evaluated.append(p)
            clock.now += 1
            return GemmTuner.Outcome(parameters: p, gigaflops: [Double(evaluated.count)])
        }
        // Checked before each: started at 0, 1 and 2 s; the fourth would start at 3 s.
        #expect(evaluated == Array(candidates.prefix(3)))
        #expect(result.outcomes.count == 3 && result.untried == 3 && result.stoppedByBudget)
        #expect(result.best?.parameters == candidates[2])

        // A candidate that overruns the budget still ends; nothing after it starts.
        clock.now = 0
        let long = try GemmTuner.search(candidates, budgetSeconds: 0.5, clock: { clock.now }) { p in
            clock.now += 10
            return GemmTuner.Outcome(parameters: p, gigaflops: [1])
        }
        #expect(long.outcomes.count == 1 && long.untried == 5)

        // No budget: all of them.
        let all = try GemmTuner.search(candidates, budgetSeconds: nil, clock: { clock.now }) { p in
            clock.now += 1000
            return GemmTuner.Outcome(parameters: p, gigaflops: [1])
        }
        #expect(all.outcomes.count == 6 && !all.stoppedByBudget)
    }

    struct BuildFailure: Error, CustomStringConvertible {
        var description: String { "program build failed\nlog line 2" }
    }

    @Test func theBestVerifiedSetIsKeptAndSavedAsItComes() throws {
        let c = Array(GemmTuner.hopperSeeds.prefix(5))
        // c0: 10 GFLOP/s; c1: wrong result (it would have been fastest); c2: build failure;
        // c3: 20 GFLOP/s; c4: 15 GFLOP/s; the budget ends after c4.
        let clock = FakeClock()
        var newBests: [TiledGemmParameters] = []
        let result = try GemmTuner.search(c, budgetSeconds: 100, clock: { clock.now }, evaluate: { p in
            clock.now += 1
            switch p {
            case c[0]: return GemmTuner.Outcome(parameters: p, gigaflops: [10, 10])
            case c[1]: return GemmTuner.Outcome(parameters: p, gigaflops: [1000, 1000], rejection: "wrong result")
            case c[2]: throw BuildFailure()
            case c[3]: return GemmTuner.Outcome(parameters: p, gigaflops: [20, 20])
            default: return GemmTuner.Outcome(parameters: p, gigaflops: [15, 15])
            }
        }, onOutcome: { outcome, isNewBest in
            if isNewBest { newBests.append(outcome.parameters) }
        })
        #expect(result.best?.parameters == c[3])
        #expect(abs((result.best?.score ?? 0) - 20) < 1e-9)
        #expect(newBests == [c[0], c[3]])
        #expect(result.outcomes[1].score == 0)
        #expect(result.outcomes[2].rejection == "program build failed")
        #expect(!result.stoppedByBudget)

        // Nothing verified: no best.
        let none = try GemmTuner.search(c, budgetSeconds: nil, evaluate: { p in
            GemmTuner.Outcome(parameters: p, rejection: "wrong result")
        })
        #expect(none.best == nil && none.outcomes.count == 5)
        // An outcome with nothing timed is not a verified one.
        let empty = try GemmTuner.search(c, budgetSeconds: nil, evaluate: { GemmTuner.Outcome(parameters: $0) })
        #expect(empty.best == nil && empty.outcomes.allSatisfy { $0.rejection != nil })
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

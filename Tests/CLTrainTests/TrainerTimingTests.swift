import Foundation
import Testing
@testable import CLTrain

/// The trainer's step times: measured by `WallClock` (monotonic), reported with each step, and
/// the figures derived from them consistent with it.
@Suite("Trainer timing")
struct TrainerTimingTests {
    @Test func eachStepReportsItsWallTimeAndTheRateAndETAFollowFromIt() throws {
        let run = try SmallRun(batch: 4, bptt: 8, hidden: 8, layers: 1)
        let trainer = try run.trainer(run.options(epochs: 2, steps: 3))
        var reports: [StepReport] = []
        trainer.onStep = { reports.append($0) }
        let start = WallClock.now
        try trainer.run()
        let elapsed = WallClock.seconds(since: start)
        #expect(reports.count == 6)
        let tokens = Double(4 * 8)
        for report in reports {
            #expect(report.seconds > 0 && report.seconds <= elapsed, "\(report.seconds) s of \(elapsed) s")
            #expect(abs(report.tokensPerSecond * report.seconds - tokens) <= 1e-9 * tokens)
        }
        // The steps fit inside the run, and the last one has nothing left to wait for.
        #expect(reports.map(\.seconds).reduce(0, +) <= elapsed)
        #expect(reports.last?.secondsRemaining == 0)
        // After the first step: the mean step time so far × the steps still to go.
        let first = try #require(reports.first)
        #expect(abs(first.secondsRemaining - first.seconds * 5) <= 1e-9 * max(first.secondsRemaining, 1))
    }
}

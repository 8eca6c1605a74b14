import Testing
@testable import CLTrain

@Suite("Benchmark statistics")
struct BenchmarkStatisticsTests {
    @Test func percentilesInterpolateBetweenOrderStatistics() throws {
        // Given out of order: the summary sorts, and keeps the samples in run order.
        let samples: [Double] = [10, 3, 1, 8, 2, 7, 5, 4, 9, 6]
        let summary = try TimingSummary(samples: samples)
        #expect(summary.samples == samples)
        #expect(summary.median == 5.5)                         // mean of the middle two
        #expect(abs(summary.p10 - 1.9) < 1e-12)                // position 0.9: 1 + 0.9·(2 − 1)
        #expect(abs(summary.p90 - 9.1) < 1e-12)                // position 8.1: 9 + 0.1·(10 − 9)
        #expect(TimingSummary.percentile(0, ofSorted: [1, 2, 3]) == 1)
        #expect(TimingSummary.percentile(1, ofSorted: [1, 2, 3]) == 3)
        #expect(TimingSummary.percentile(0.5, ofSorted: [1, 2, 3]) == 2)
    }

    @Test func oneSampleIsEveryPercentile() throws {
        let summary = try TimingSummary(samples: [0.25])
        #expect(summary.median == 0.25 && summary.p10 == 0.25 && summary.p90 == 0.25)
    }

    @Test func noSamplesOrNonFiniteSamplesAreRefused() {
        #expect(throws: CLTrainError.self) { try TimingSummary(samples: []) }
        #expect(throws: CLTrainError.self) { try TimingSummary(samples: [1, .nan]) }
        #expect(throws: CLTrainError.self) { try TimingSummary(samples: [.infinity]) }
    }

}

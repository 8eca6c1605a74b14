import Foundation
import Testing
@testable import CLTrain

/// The wavefront's worker threads live for the executor's life, not for one step.
struct WorkerPoolTests {
    /// Which thread ran each body, as a number unique to the thread.
    final class ThreadLog: @unchecked Sendable {
        private let lock = NSLock()
        private var seen: [Int: ObjectIdentifier] = [:]
        func record(_ w: Int) { lock.withLock { seen[w] = ObjectIdentifier(Thread.current) } }
        var threads: [Int: ObjectIdentifier] { lock.withLock { seen } }
    }

    @Test func everyRunUsesTheSameThreads() throws {
        let pool = WorkerPool(names: ["a", "b", "c"])
        defer { pool.stop() }
        let first = ThreadLog(), second = ThreadLog()
        try pool.run((0..<3).map { w in { first.record(w) } })
        try pool.run((0..<3).map { w in { second.record(w) } })
        #expect(first.threads.count == 3)
        #expect(Set(first.threads.values).count == 3, "three workers, three threads")
        #expect(first.threads == second.threads, "a second run started new threads")
        #expect(!first.threads.values.contains(ObjectIdentifier(Thread.current)))
    }

    @Test func aFailingBodyIsRethrownAndTheOthersSeeIt() throws {
        let pool = WorkerPool(names: ["fails", "waits"])
        defer { pool.stop() }
        let signal = Signal()
        #expect(throws: CLTrainError.invalidArgument("boom")) {
            try pool.run([{ throw CLTrainError.invalidArgument("boom") }, { try signal.wait(unless: pool) }])
        }
        // The pool is usable again, with the failure cleared.
        try pool.run([{}, {}])
        #expect(!pool.failed)
    }

    @Test func aStoppedPoolRunsNothing() throws {
        let pool = WorkerPool(names: ["a"])
        pool.stop()
        #expect(throws: PipelineError.self) { try pool.run([{}]) }
    }

    /// The executor keeps its pool from one training step to the next.
    @Test func theWavefrontExecutorStartsItsThreadsOnce() throws {
        let run = try SmallRun(batch: 2, bptt: 4, hidden: 8, layers: 2)
        let model = try LanguageModel(configuration: run.configuration,
                                      devices: MultiDeviceTrainingTests.devices(([0, 1], [1]), [CPUBackend(), CPUBackend()],
                                                                                vocabularySize: run.vocabulary.count))
        let executor = WavefrontExecutor(model: model, stepsPerRun: 2)
        _ = try executor.trainingStep(run.train.window(0))
        let pool = try #require(executor.workerPool)
        _ = try executor.trainingStep(run.train.window(1))
        #expect(executor.workerPool === pool)
        executor.close()
        #expect(throws: PipelineError.self) { try executor.trainingStep(run.train.window(0)) }
    }
}

import Foundation
import Testing
@testable import CLTrain

/// N ranks as N threads of this process, each a `Trainer` over a `DataParallelExecutor` with a
/// `Collective` that meets the others in memory: the library's data parallelism without MPI, so it
/// is tested where `mpirun` is missing too. N replicas at global batch B must give the losses and
/// weights of one trainer at batch B within `Tolerance.relative(reductionLength: T·B)`.
struct DataParallelExecutorTests {
    /// The ranks' meeting point: each contribution waits until all N have arrived; the sum is
    /// taken in rank order (as a ring's chunks are, on every rank alike).
    final class Meeting: @unchecked Sendable {
        let size: Int
        private let condition = NSCondition()
        private var contributions: [[Double]?]
        private var result: [Double] = []
        private var generation = 0, taken = 0

        init(size: Int) {
            self.size = size
            contributions = Array(repeating: nil, count: size)
        }

        /// Rank `rank`'s values; returns the sum over ranks once everyone contributed (`combine`
        /// folds the contributions in rank order).
        func meet(rank: Int, _ values: [Double], combine: ([[Double]]) -> [Double]) -> [Double] {
            condition.lock(); defer { condition.unlock() }
            while taken > 0 { condition.wait() }   // the previous meeting is still being read
            let mine = generation
            contributions[rank] = values
            if contributions.allSatisfy({ $0 != nil }) {
                result = combine(contributions.compactMap { $0 })
                generation += 1
                taken = size
                condition.broadcast()
            }
            while generation == mine { condition.wait() }
            let sum = result
            taken -= 1
            if taken == 0 {
                contributions = Array(repeating: nil, count: size)
                condition.broadcast()
            }
            return sum
        }
    }

    final class ThreadCollective: Collective {
        let rank: Int
        let meeting: Meeting
        var size: Int { meeting.size }
        init(rank: Int, meeting: Meeting) { self.rank = rank; self.meeting = meeting }

        final class Done: PendingCollective {
            func wait() throws {}
            func test() throws -> Bool { true }
        }

        /// Blocking, float32 sums in rank order, as the ranks of MPI_Iallreduce would see them.
        func startSum(_ buffer: CollectiveBuffer) throws -> PendingCollective {
            let sum = meeting.meet(rank: rank, buffer.pointer.map(Double.init)) { parts in
                (0..<parts[0].count).map { i in Double(parts.dropFirst().reduce(Float(parts[0][i])) { $0 + Float($1[i]) }) }
            }
            for i in sum.indices { buffer.pointer[i] = Float(sum[i]) }
            return Done()
        }

        func sum(_ values: inout [Double]) throws {
            values = meeting.meet(rank: rank, values) { parts in
                (0..<parts[0].count).map { i in parts.reduce(0) { $0 + $1[i] } }
            }
        }

        func broadcast(_ values: inout [Float], from root: Int) throws {
            let mine = values.map(Double.init), rank = self.rank
            let rootValues = meeting.meet(rank: rank, rank == root ? mine : []) { parts in parts[root] }
            values = rootValues.map(Float.init)
        }

        func range(of value: UInt64) throws -> (minimum: UInt64, maximum: UInt64) {
            let all = meeting.meet(rank: rank, [Double(bitPattern: value)]) { parts in parts.map { $0[0] } }
            let values = all.map { $0.bitPattern }
            return (values.min() ?? value, values.max() ?? value)
        }
    }

    /// Each rank thread's outcome, by rank.
    final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [Int: Result<Outcome, any Error>] = [:]
        func set(_ rank: Int, _ result: Result<Outcome, any Error>) { lock.withLock { results[rank] = result } }
        func get(_ rank: Int) -> Result<Outcome, any Error>? { lock.withLock { results[rank] } }
        var count: Int { lock.withLock { results.count } }
    }

    struct Outcome {
        var losses: [Double] = []
        var validation: [Double] = []
        var weights: [[Float]] = []
        /// Buckets started during the backward, per training step (data-parallel runs).
        var bucketsStartedEarly: [Int] = []
    }

    /// The windows each rank's inner executor ran: (training, batch, first sequence), by rank.
    final class WindowLog: @unchecked Sendable {
        private let lock = NSLock()
        private var windows: [Int: [(training: Bool, batch: Int, firstSequence: Int)]] = [:]
        func add(_ rank: Int, _ window: TokenWindow, training: Bool) {
            lock.withLock { windows[rank, default: []].append((training, window.batch, window.firstSequence)) }
        }
        func windows(of rank: Int) -> [(training: Bool, batch: Int, firstSequence: Int)] { lock.withLock { windows[rank] ?? [] } }
    }

    /// An inner executor that logs the windows it is given, then runs them.
    final class LoggingExecutor: Executor {
        let inner: Executor, rank: Int, log: WindowLog
        init(_ inner: Executor, rank: Int, log: WindowLog) { self.inner = inner; self.rank = rank; self.log = log }
        var model: LanguageModel { inner.model }
        var utilization: PipelineUtilization { inner.utilization }
        func trace(into recorder: TraceRecorder?) throws { try inner.trace(into: recorder) }
        func run(_ window: TokenWindow, training: Bool) throws -> Double {
            log.add(rank, window, training: training)
            return try inner.run(window, training: training)
        }
    }

    static func train(_ run: SmallRun, _ options: TrainingOptions, executor: (LanguageModel) throws -> Executor) throws -> Outcome {
        // A backend per layer and one for the softmax: the wavefront needs them, the sequential runs on them alike.
        let c = run.configuration
        let devices = ModelDevices(layers: (0..<c.layers).map { _ in CPUBackend() },
                                   softmaxShards: [(CPUBackend(), 0..<c.vocabularySize)])
        let model = try LanguageModel(configuration: c, devices: devices, seed: options.seed)
        let running = try executor(model)
        let trainer = try Trainer(model: model, executor: running, vocabulary: run.vocabulary, options: options,
                                  train: run.train, validation: run.validation, checkpointDirectory: nil)
        var outcome = Outcome()
        trainer.onStep = {
            outcome.losses.append($0.loss)
            if let replica = running as? DataParallelExecutor { outcome.bucketsStartedEarly.append(replica.lastAllreduce.bucketsStartedEarly) }
        }
        trainer.onValidation = { outcome.validation.append($0.loss) }
        try trainer.run()
        outcome.weights = try model.parameters.logicalTensors.map { try $0.gather(\.value) }
        return outcome
    }

    /// Each of `ranks` threads trains its replica; returns every rank's outcome.
    static func trainReplicas(_ run: SmallRun, _ options: TrainingOptions, ranks: Int,
                              schedule: ExecutionSchedule = .sequential, log: WindowLog? = nil) throws -> [Outcome] {
        let meeting = Meeting(size: ranks)
        let results = Results()
        let threads = (0..<ranks).map { rank in
            Thread {
                let result = Result {
                    try train(run, options) { model in
                        let inner = schedule.makeExecutor(for: model)
                        return try DataParallelExecutor(inner: log.map { LoggingExecutor(inner, rank: rank, log: $0) } ?? inner,
                                                 collective: ThreadCollective(rank: rank, meeting: meeting), bucketFloats: 700)
                    }
                }
                results.set(rank, result)
            }
        }
        threads.forEach { $0.stackSize = 8 << 20; $0.start() }
        while results.count < ranks { usleep(1000) }
        return try (0..<ranks).map { rank in
            guard let result = results.get(rank) else { throw CLTrainError.invalidArgument("rank \(rank) left no result") }
            return try result.get()
        }
    }

    static func expectEqual(_ replica: Outcome, _ one: Outcome, reductionLength n: Int,
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let bound = Tolerance.relative(reductionLength: n)
        #expect(replica.losses.count == one.losses.count && replica.validation.count == one.validation.count,
                sourceLocation: sourceLocation)
        for (a, b) in zip(replica.losses + replica.validation, one.losses + one.validation) {
            #expect(abs(a - b) <= bound * abs(b), "loss \(a) on a replica, \(b) in one trainer", sourceLocation: sourceLocation)
        }
        for (a, b) in zip(replica.weights, one.weights) {
            let scale = b.reduce(0) { $0 + Double(abs($1)) } / Double(max(b.count, 1))
            let worst = zip(a, b).map { abs(Double($0) - Double($1)) - bound * (Double(abs($1)) + scale) }.max() ?? 0
            #expect(worst <= 0, "a weight differs by more than the tolerance allows", sourceLocation: sourceLocation)
        }
    }

    @Test("N replicas at global batch B train as one trainer at B (dropout drawn by global row)", arguments: [2, 3])
    func replicasEqualOneTrainer(ranks: Int) throws {
        let run = try SmallRun(batch: 6, bptt: 5, hidden: 12, layers: 2, dropout: 0.3)
        let options = run.options(epochs: 1, optimizer: .sgd, steps: 5)
        let one = try Self.train(run, options) { SequentialExecutor(model: $0) }
        let replicas = try Self.trainReplicas(run, options, ranks: ranks)
        for replica in replicas { Self.expectEqual(replica, one, reductionLength: 5 * 6) }
        // The replicas hold identical weights (each sums the same buckets in the same order).
        for replica in replicas.dropFirst() { #expect(replica.weights == replicas[0].weights) }
    }

    @Test("replicas over the wavefront executor (with micro-batches) train as one sequential trainer")
    func wavefrontReplicas() throws {
        let run = try SmallRun(batch: 8, bptt: 5, hidden: 12, layers: 2, dropout: 0.3)
        let options = run.options(epochs: 1, optimizer: .adam, steps: 4)
        let one = try Self.train(run, options) { SequentialExecutor(model: $0) }
        let replicas = try Self.trainReplicas(run, options, ranks: 2, schedule: .wavefront(stepsPerRun: 1, microBatches: 2))
        for replica in replicas { Self.expectEqual(replica, one, reductionLength: 5 * 8) }
        // The workers' buckets started as each worker finished, during the backward (the
        // embedding's bucket, last, after it): overlap under --pipeline.
        for replica in replicas {
            #expect(replica.bucketsStartedEarly.count == 4 && replica.bucketsStartedEarly.allSatisfy { $0 > 0 },
                    "\(replica.bucketsStartedEarly)")
        }
    }

    @Test("validation is sharded like training: each rank scores its B/N sequences, and the perplexity is one trainer's")
    func shardedValidation() throws {
        let run = try SmallRun(batch: 6, bptt: 5, hidden: 12, layers: 2)
        let options = run.options(epochs: 1, optimizer: .sgd, steps: 2)
        let one = try Self.train(run, options) { SequentialExecutor(model: $0) }
        let log = WindowLog()
        let replicas = try Self.trainReplicas(run, options, ranks: 3, log: log)
        for replica in replicas { Self.expectEqual(replica, one, reductionLength: 5 * 6) }
        #expect(one.validation.count == 1 && replicas.allSatisfy { $0.validation == replicas[0].validation })
        for rank in 0..<3 {
            let scored = log.windows(of: rank).filter { !$0.training }
            #expect(scored.count == run.validation.windowCount, "rank \(rank) scored \(scored.count) validation windows")
            #expect(scored.allSatisfy { $0.batch == 2 && $0.firstSequence == 2 * rank }, "rank \(rank): \(scored)")
        }
    }

    @Test("a global batch that the ranks do not divide is refused, naming --batch")
    func indivisibleBatch() throws {
        #expect(throws: CLTrainError.self) { try BatchShard(globalBatch: 5, ranks: 2, rank: 0) }
        let shard = try BatchShard(globalBatch: 6, ranks: 3, rank: 2)
        #expect(shard.sequences == 4..<6 && shard.localBatch == 2)
    }

    @Test("a window's sequences keep their place in the global batch")
    func windowSequences() throws {
        let window = try TokenWindow(inputs: (0..<12).map(Int32.init), targets: (1..<13).map(Int32.init), steps: 3, batch: 4)
        let shard = try window.sequences(2..<4)
        #expect(shard.inputs == [2, 3, 6, 7, 10, 11] && shard.targets == [3, 4, 7, 8, 11, 12])
        #expect(shard.batch == 2 && shard.globalBatch == 4 && shard.firstSequence == 2)
        let inner = try shard.sequences(1..<2)
        #expect(inner.inputs == [3, 7, 11] && inner.firstSequence == 3 && inner.globalBatch == 4)
        #expect(throws: CLTrainError.self) { try window.sequences(3..<5) }
    }

    @Test("buckets: consecutive runs of at most the capacity, a larger count alone")
    func bucketRanges() {
        #expect(GradientBuckets.ranges(counts: [3, 3, 3, 10, 1, 1], capacity: 6) == [0..<2, 2..<3, 3..<4, 4..<6])
        #expect(GradientBuckets.ranges(counts: [], capacity: 6) == [])
    }
}

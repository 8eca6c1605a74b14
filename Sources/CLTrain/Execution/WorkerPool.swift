import Foundation

/// Host threads that live as long as their owner (a `WavefrontExecutor`): started once, each
/// runs its body of every `run` call, then waits for the next; `stop()` (the owner's `deinit` or
/// `close()`) ends them. No thread is created per training step.
///
/// `run` hands body w to thread w and waits for all of them. The first error any body throws is
/// rethrown; the others see `failed` turn true so that none waits forever on work that will not come.
final class WorkerPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [(() throws -> Void)?]
    private var running = 0
    private var stopping = false
    private var firstError: Error?
    /// Workers whose body has returned without error since the caller last looked (`run`).
    private var finished: [Int] = []

    /// Starts `count` threads, named for the debugger by `names`.
    init(names: [String]) {
        jobs = Array(repeating: nil, count: names.count)
        for (w, name) in names.enumerated() {
            let thread = Thread { [self] in work(w) }
            thread.name = "cltrain worker \(w): \(name)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    var count: Int { jobs.count }

    /// True once any body of the current `run` has failed.
    var failed: Bool { condition.withLock { firstError != nil } }

    /// Runs `bodies[w]` on thread w (one body per thread) and waits until every one has returned.
    ///
    /// `onFinished(w)` runs on the calling thread, outside the pool's lock, as soon as body w has
    /// returned without error while no body has failed — so the caller can act on what worker w
    /// finished (its backend is idle) while the others go on: the data-parallel allreduce starts a
    /// bucket there, on the one thread that may call MPI. An error it throws is rethrown once every
    /// body has returned (a body's own error first).
    func run(_ bodies: [() throws -> Void], onFinished: ((Int) throws -> Void)? = nil) throws {
        try condition.withLock {
            guard !stopping else { throw PipelineError.unsupported("the executor's workers were stopped (close())") }
            guard bodies.count == jobs.count, running == 0 else {
                throw PipelineError.unsupported("\(bodies.count) tasks for a pool of \(jobs.count) workers")
            }
            firstError = nil
            finished = []
            for w in bodies.indices { jobs[w] = bodies[w] }
            running = bodies.count
            condition.broadcast()
        }
        var hookError: Error?
        while true {
            let (done, remaining, failed) = condition.withLock { () -> ([Int], Int, Bool) in
                while running > 0 && finished.isEmpty { condition.wait() }
                defer { finished = [] }
                return (finished, running, firstError != nil)
            }
            if let onFinished, hookError == nil, !failed {
                do { for w in done { try onFinished(w) } } catch { hookError = error }
            }
            if remaining == 0 { break }
        }
        if let firstError = condition.withLock({ firstError }) { throw firstError }
        if let hookError { throw hookError }
    }

    /// Ends every thread once it is idle; a later `run` throws.
    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    private func work(_ w: Int) {
        while true {
            let job: (() throws -> Void)? = condition.withLock {
                while jobs[w] == nil && !stopping { condition.wait() }
                defer { jobs[w] = nil }
                return jobs[w]
            }
            guard let job else { return }   // stopped, and nothing left to run
            var thrown: Error?
            do { try job() } catch { thrown = error }
            condition.withLock {
                if let thrown, firstError == nil { firstError = thrown }
                if thrown == nil { finished.append(w) }
                running -= 1
                condition.broadcast()
            }
        }
    }
}

/// A one-shot signal from a producer worker to its consumers ("run r of layer l is ready"). Once
/// fired it stays fired, so every consumer that waits on it goes on (the top layer's runs feed
/// every decoder shard).
final class Signal: @unchecked Sendable {
    private let condition = NSCondition()
    private var fired = false

    func fire() {
        condition.withLock {
            fired = true
            condition.broadcast()
        }
    }

    /// Waits for `fire()`, giving up (with `PipelineError.abandoned`) once `workers` has failed.
    func wait(unless workers: WorkerPool) throws {
        try condition.withLock {
            while !fired {
                if workers.failed { throw PipelineError.abandoned }
                _ = condition.wait(until: Date(timeIntervalSinceNow: 0.02))
            }
        }
    }
}

/// Seconds each worker spent on its tasks, added to from the workers' threads; with a trace,
/// each task is also a span on its worker's track, from the same two clock readings, so the
/// trace's busy time per worker is the utilization's.
final class BusyTime: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Double]
    private let trace: (recorder: TraceRecorder, tracks: [TraceTrack])?

    init(workers: Int, trace: (recorder: TraceRecorder, tracks: [TraceTrack])? = nil) {
        values = Array(repeating: 0, count: workers)
        self.trace = trace
    }

    /// Runs `body`, adding its duration to `worker`'s (also when it throws); traced as `task`.
    func time(_ worker: Int, _ task: @autoclosure () -> String, arguments: @autoclosure () -> [String: TraceArgument] = [:],
              _ body: () throws -> Void) rethrows {
        let start = WallClock.now
        defer {
            let end = WallClock.now
            lock.withLock { values[worker] += Double(end - start) * 1e-9 }
            if let trace { trace.recorder.record(task(), category: TraceCategory.task, on: trace.tracks[worker], from: start, to: end,
                                                 arguments: arguments()) }
        }
        try body()
    }

    var seconds: [Double] { lock.withLock { values } }
}

/// Where a producer worker leaves what it sent (`Transport.send`) for its consumers: written
/// before the producer fires its `Signal`, read after the consumer's wait, so the signal's lock
/// orders the two.
final class ShipmentSlot: @unchecked Sendable {
    var shipment: Shipment?

    /// The shipment, which the producer left before signalling.
    func required() throws -> Shipment {
        guard let shipment else { throw CLTrainError.invalidArgument("a pipeline worker read a hand-off that was never sent") }
        return shipment
    }
}

/// Carries a value the compiler cannot prove sendable into a worker thread. Each layer's backend
/// is driven by its own worker (see `WavefrontExecutor`).
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

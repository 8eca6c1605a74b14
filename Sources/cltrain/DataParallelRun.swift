import CLTrain
import CLTrainMPI
import Foundation
import Logging

/// `cltrain train --data-parallel` as one rank of an MPI job: MPI set up and ended, rank 0 as the
/// one that prints, and every failure turned into a stop of the whole job.
///
/// Failures: a refusal every rank reaches alike (the ranks disagree on their options) ends each
/// rank with the message, cleanly; any other error — one rank's device, file or collective —
/// calls MPI_Abort with the reason, naming the rank, so the other ranks cannot hang in a
/// collective this one will never join. A rank killed outright is noticed by `mpirun`, which ends
/// the others and names it; a collective that fails on a survivor (its peer's socket closed)
/// throws and aborts the same way.
struct DataParallelRun {
    let world: MPIWorld
    /// Rank 0: prints progress, validation and the sample, writes metrics and checkpoints.
    var leads: Bool { world.rank == 0 }

    /// Ends this rank when no window has finished for `timeout` seconds: a rank that hangs without
    /// dying (a stuck driver, a stopped process) leaves the others waiting in a collective, which
    /// no MPI error ends. `_exit` from the watchdog's own thread (MPI calls belong to the training
    /// thread); `mpirun` then ends the other ranks.
    final class Watchdog: @unchecked Sendable {
        private let lock = NSLock()
        private var last = WallClock.now
        private var what = "the start"
        private var stopped = false

        init(timeout: Double, rank: Int, size: Int) {
            guard timeout > 0 else { return }
            let thread = Thread { [self] in
                while true {
                    Thread.sleep(forTimeInterval: min(1, timeout / 4))
                    let (since, what, stopped) = lock.withLock { (WallClock.seconds(since: last), self.what, self.stopped) }
                    if stopped { return }
                    guard since > timeout else { continue }
                    FileHandle.standardError.write(Data(
                        "cltrain: rank \(rank) of \(size): no window finished for \(String(format: "%.0f", since)) s since \(what) (--hang-timeout \(String(format: "%g", timeout))): a rank hangs or died; stopping the job\n".utf8))
                    _exit(70)
                }
            }
            thread.start()
        }

        func beat(_ what: String) { lock.withLock { last = WallClock.now; self.what = what } }

        func stop() { lock.withLock { stopped = true } }
    }

    static func main(batch: Int, _ body: (DataParallelRun) throws -> Void) throws {
        let world = try MPIWorld.initialize()
        guard world.size >= 2 else {
            try? world.finalize()
            throw CLTrainError.invalidArgument(
                "--data-parallel needs at least 2 ranks: start it as `mpirun -np N cltrain train … --data-parallel` with N ≥ 2 (this process is a world of \(world.size))")
        }
        // Every rank knows this alike, before any collective: a clean stop on each.
        do { _ = try BatchShard(globalBatch: batch, ranks: world.size, rank: world.rank) } catch {
            try? world.finalize()
            throw error
        }
        // Only rank 0 prints: the others keep to notices, warnings and errors.
        if world.rank != 0, CommandLineLogging.level < .notice { CommandLineLogging.level = .notice }
        Logger(label: "cltrain.train").notice(
            "data-parallel rank \(world.rank) of \(world.size) on \(world.processorName) (local rank \(world.localRank)), pid \(getpid())")
        do {
            try body(DataParallelRun(world: world))
        } catch let error as RanksDisagree {
            try? world.finalize()   // every rank found the same: none waits in a collective
            throw error
        } catch {
            world.abort(reason: "\(error)")
        }
        try world.finalize()
    }

    /// Refuses ranks whose model, options or data differ, naming what differs (a hash of each,
    /// compared over the ranks).
    func requireAgreement(configuration: ModelConfiguration, options: TrainingOptions, data: Dataset, resume: Bool,
                          collective: Collective) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        let identity = DataIdentity(source: data.source, train: data.train, vocabularySize: data.vocabulary.count)
        try collective.requireAgreement(on: [
            ("the model's shape (--layers, --hidden, --embedding, --dropout, vocabulary)", try json(configuration)),
            ("the training options (--batch, --bptt, --lr, --seed, …)", try json(options)),
            ("the data (--data, --level, --vocab: the training split's tokens)", try json(identity)),
            ("--resume", "\(resume)"),
        ])
    }
}

/// The allreduce's figures over the steps since the last logged one: "allreduce 12 ms/step
/// (8% of the step), 63% overlapped".
struct AllreduceAverage {
    private var steps = 0, wait = 0.0, overlapped = 0.0, stepSeconds = 0.0

    mutating func record(_ timing: AllreduceTiming, stepSeconds: Double) {
        steps += 1
        wait += timing.waitSeconds
        overlapped += timing.overlappedSeconds
        self.stepSeconds += stepSeconds
    }

    var summary: String {
        guard steps > 0 else { return "allreduce -" }
        let span = wait + overlapped
        return String(format: "allreduce wait %.1f ms/step (%.0f%% of the step), %.0f%% overlapped",
                      1e3 * wait / Double(steps), stepSeconds > 0 ? 100 * wait / stepSeconds : 0,
                      span > 0 ? 100 * overlapped / span : 0)
    }
}

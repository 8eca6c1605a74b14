import ArgumentParser
import CLTrain
import CLTrainMPI
import Foundation

/// `mpirun -np N cltrain mpi-check`: is MPI set up for data-parallel training? Every rank reports
/// where it runs; then a blocking and a non-blocking allreduce are checked against their known sums
/// and timed, and the ranks' options are compared, as `train --data-parallel` compares its own.
struct MPICheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mpi-check",
        abstract: "Check an MPI job (run it under mpirun): ranks, hosts, local ranks, allreduce results and speed.",
        discussion: """
            Run as `mpirun -np 2 cltrain mpi-check`. Without mpirun it runs as a world of one rank. \
            Every rank prints one line; rank 0 prints the allreduce results. A rank whose --floats \
            differs from the others' is refused, as training refuses mismatched options.
            """
    )

    @Option(help: "Floats in each allreduce (the gradient size to time), at least 1.")
    var floats: Int = 1 << 22

    @Option(help: "Timed repetitions of each allreduce (median reported), at least 1.")
    var repeats: Int = 5

    func validate() throws {
        guard floats >= 1, floats <= Int(Int32.max) else {
            throw ValidationError("--floats must be between 1 and \(Int32.max) (one MPI call's count), not \(floats)")
        }
        guard (1...1000).contains(repeats) else { throw ValidationError("--repeats must be between 1 and 1000, not \(repeats)") }
    }

    func run() throws {
        let world = try MPIWorld.initialize()
        defer { try? world.finalize() }
        print("rank \(world.rank) of \(world.size) on \(world.processorName) (local rank \(world.localRank) of \(world.localSize))")
        fflush(nil)   // each rank's line out before the collectives (`stdout` itself is not concurrency-safe to name)

        // The options every rank must agree on, before any collective that depends on them.
        let (minimum, maximum) = try world.range(of: UInt64(floats))
        guard minimum == maximum else {
            // Every rank sees the same range, so all of them stop here together (no rank is left in a collective).
            throw MPICheckFailure("the ranks disagree on --floats (from \(minimum) to \(maximum)); every rank must run the same command")
        }
        try world.barrier()
        do {
            try checkAllreduce(world)
        } catch {
            // The other ranks may be waiting in a collective this rank will never join: end the job.
            if world.size > 1 { world.abort(reason: "\(error)") }
            throw error
        }
    }

    private func checkAllreduce(_ world: MPIWorld) throws {
        // Rank r contributes (r + 1)·w(i) with w(i) = i mod 7 + 1: every sum is exact in float32.
        let n = Float(world.size)
        let expectedScale = n * (n + 1) / 2
        func weight(_ i: Int) -> Float { Float(i % 7 + 1) }
        func fill(_ values: UnsafeMutableBufferPointer<Float>) {
            for i in values.indices { values[i] = Float(world.rank + 1) * weight(i) }
        }
        func mismatch(in values: UnsafeMutableBufferPointer<Float>) -> Int? {
            values.indices.first { values[$0] != expectedScale * weight($0) }
        }

        let buffer = CollectiveBuffer(count: floats)
        var blockingSeconds: [Double] = [], nonBlockingSeconds: [Double] = []
        for _ in 0..<repeats {
            fill(buffer.pointer)
            try world.barrier()
            let start = WallClock.now
            try world.allreduceSum(buffer.pointer)
            blockingSeconds.append(WallClock.seconds(since: start))
            if let i = mismatch(in: buffer.pointer) {
                throw MPICheckFailure("MPI_Allreduce gave \(buffer.pointer[i]) at element \(i) on rank \(world.rank), expected \(expectedScale * weight(i))")
            }

            fill(buffer.pointer)
            try world.barrier()
            let started = WallClock.now
            let request = try world.startAllreduceSum(buffer)
            try request.wait()
            nonBlockingSeconds.append(WallClock.seconds(since: started))
            if let i = mismatch(in: buffer.pointer) {
                throw MPICheckFailure("MPI_Iallreduce gave \(buffer.pointer[i]) at element \(i) on rank \(world.rank), expected \(expectedScale * weight(i))")
            }
        }
        try world.barrier()
        guard world.rank == 0 else { return }
        let bytes = Double(floats) * Double(MemoryLayout<Float>.stride)
        for (name, seconds) in [("MPI_Allreduce", blockingSeconds), ("MPI_Iallreduce + MPI_Wait", nonBlockingSeconds)] {
            let median = seconds.sorted()[seconds.count / 2]
            // nccl-tests' bus bandwidth: what each link carries in a ring allreduce, 2(N−1)/N of the data.
            let bus = world.size > 1 ? bytes * 2 * Double(world.size - 1) / Double(world.size) / median / 1e9 : 0
            print(String(format: "%@ of %d floats over %d rank%@: correct; median %.3f ms, bus bandwidth %.2f GB/s",
                         name, floats, world.size, world.size == 1 ? "" : "s", median * 1e3, bus))
        }
    }
}

/// A collective that returned a wrong sum: MPI is misconfigured (or broken) on this job.
struct MPICheckFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

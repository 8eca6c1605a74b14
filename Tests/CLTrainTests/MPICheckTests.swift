import Foundation
import Testing

/// Open MPI through CLTrainMPI, under a real `mpirun` on loopback: `cltrain mpi-check` checks its
/// collectives' sums itself and exits non-zero on a wrong one.
@Suite("MPI collectives under mpirun", .enabled(if: MPIRun.isAvailable, MPIRun.skipReason))
struct MPICheckTests {
    @Test("two ranks: each reports itself, both allreduces are exact")
    func twoRanks() throws {
        let result = try MPIRun.run(ranks: 2, ["mpi-check", "--floats", "10007", "--repeats", "2"])
        #expect(result.status == 0 && !result.crashed, "\(result)")
        #expect(result.standardOutput.contains("rank 0 of 2"), "\(result)")
        #expect(result.standardOutput.contains("rank 1 of 2"), "\(result)")
        #expect(result.standardOutput.contains("MPI_Allreduce of 10007 floats over 2 ranks: correct"), "\(result)")
        #expect(result.standardOutput.contains("MPI_Iallreduce + MPI_Wait of 10007 floats over 2 ranks: correct"), "\(result)")
    }

    @Test("without mpirun: a world of one rank")
    func singleton() throws {
        let result = try CLI.run(["mpi-check", "--floats", "64", "--repeats", "1"], timeout: 60)
        #expect(result.status == 0 && !result.crashed, "\(result)")
        #expect(result.standardOutput.contains("rank 0 of 1"), "\(result)")
    }

    @Test("ranks started with different options are refused, naming the option, without a hang")
    func mismatchedOptions() throws {
        let result = try MPIRun.run(perRank: [["mpi-check", "--floats", "10"], ["mpi-check", "--floats", "20"]])
        expectCleanFailure(result, mentioning: ["disagree on --floats", "10", "20"])
    }

    @Test("a count one MPI call cannot take is refused before MPI starts")
    func countOutOfRange() throws {
        let result = try CLI.run(["mpi-check", "--floats", "4294967296"], timeout: 60)
        expectCleanFailure(result, mentioning: ["--floats", "4294967296"])
    }
}

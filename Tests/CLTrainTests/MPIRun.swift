import Foundation
import Testing

/// How the tests start an MPI job: Open MPI's `mpirun`, over loopback, as CI runs it.
enum MPIRun {
    /// `mpirun` from PATH, or nil where Open MPI is not installed (the MPI tests then skip, saying so).
    static let path: String? = {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        return folders.map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var isAvailable: Bool { path != nil }
    static let skipReason: Comment = "mpirun not found on PATH: the MPI tests need Open MPI (openmpi-bin; scripts/install-deps.sh installs it)"

    /// TCP on `lo` between the ranks (and `self` within one), so the job needs no network and no
    /// shared-memory support from the container; as root (CI) Open MPI must be told that is meant;
    /// `--oversubscribe` lets the ranks outnumber the cores.
    static let options = ["--allow-run-as-root", "--oversubscribe",
                          "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo"]

    /// `mpirun -np N cltrain arguments…`.
    /// `environment` is added to every rank's (mpirun passes its own on to the ranks it starts).
    static func run(ranks: Int, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> CLIResult {
        guard let path else { throw CLIRunnerError("mpirun not found on PATH") }
        return try CLI.run(arguments, environment: environment, timeout: timeout) { cltrain in [path] + options + ["-np", "\(ranks)", cltrain] }
    }

    /// One rank per argument list (MPMD): `mpirun … -np 1 cltrain A : -np 1 cltrain B`.
    static func run(perRank arguments: [[String]], timeout: TimeInterval = 120) throws -> CLIResult {
        guard let path else { throw CLIRunnerError("mpirun not found on PATH") }
        return try CLI.run([], timeout: timeout) { cltrain in
            [path] + options + arguments.enumerated().flatMap { index, rank in
                (index > 0 ? [":"] : []) + ["-np", "1", cltrain] + rank
            }
        }
    }
}

import CMPI
import Foundation

/// This process's place in an MPI job (MPI_COMM_WORLD), initialised once and finalised once.
///
/// Started by `mpirun -np N`, each of the N processes is a rank; started without `mpirun`, Open MPI
/// makes a world of one (a singleton), so the same binary runs either way.
///
/// Threads: initialised at MPI_THREAD_FUNNELED, which every Open MPI build provides — only the
/// thread that called `initialize` may make MPI calls. CLTrain's pipeline workers never call MPI; the
/// training thread does, between (or, with non-blocking requests, around) their work.
public final class MPIWorld {
    public let rank: Int
    public let size: Int
    /// The rank's index among the ranks on its own node (0 ..< localSize): the rule for choosing a
    /// device per rank (see README, "Data parallelism over MPI").
    public let localRank: Int
    public let localSize: Int
    /// MPI_Get_processor_name: the host this rank runs on.
    public let processorName: String
    let communicator: MPI_Comm

    private static let lock = NSLock()
    nonisolated(unsafe) private static var current: MPIWorld?
    private var finalized = false

    /// MPI_Init_thread, once per process; later calls return the same world.
    public static func initialize() throws -> MPIWorld {
        lock.lock(); defer { lock.unlock() }
        if let current { return current }
        var already: Int32 = 0
        try check(MPI_Initialized(&already), "MPI_Initialized")
        if already == 0 {
            var provided: Int32 = 0
            try check(MPI_Init_thread(nil, nil, cltrain_MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread")
            guard provided >= cltrain_MPI_THREAD_FUNNELED else {
                throw MPIError(call: "MPI_Init_thread", message: "the MPI library provides thread level \(provided), below MPI_THREAD_FUNNELED")
            }
        }
        guard let world = cltrain_MPI_COMM_WORLD() else {
            throw MPIError(call: "MPI_COMM_WORLD", message: "the MPI library returned no world communicator")
        }
        // Errors come back as codes (thrown as MPIError) instead of aborting the whole job unexplained.
        try check(MPI_Comm_set_errhandler(world, cltrain_MPI_ERRORS_RETURN()), "MPI_Comm_set_errhandler")
        var rank: Int32 = 0, size: Int32 = 0
        try check(MPI_Comm_rank(world, &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(world, &size), "MPI_Comm_size")
        // The ranks that share memory with this one: the ranks of this node.
        var node: MPI_Comm?
        try check(MPI_Comm_split_type(world, Int32(MPI_COMM_TYPE_SHARED), rank, cltrain_MPI_INFO_NULL(), &node),
                  "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)")
        var localRank: Int32 = 0, localSize: Int32 = 1
        try check(MPI_Comm_rank(node, &localRank), "MPI_Comm_rank(node)")
        try check(MPI_Comm_size(node, &localSize), "MPI_Comm_size(node)")
        try check(MPI_Comm_free(&node), "MPI_Comm_free(node)")
        var name = [CChar](repeating: 0, count: Int(cltrain_MPI_MAX_PROCESSOR_NAME) + 1)
        var nameLength: Int32 = 0
        try check(MPI_Get_processor_name(&name, &nameLength), "MPI_Get_processor_name")
        let processorName = String(decoding: name.prefix(Int(max(0, nameLength))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let created = MPIWorld(communicator: world, rank: Int(rank), size: Int(size), localRank: Int(localRank),
                               localSize: Int(localSize), processorName: processorName)
        current = created
        return created
    }

    private init(communicator: MPI_Comm, rank: Int, size: Int, localRank: Int, localSize: Int, processorName: String) {
        self.communicator = communicator
        self.rank = rank
        self.size = size
        self.localRank = localRank
        self.localSize = localSize
        self.processorName = processorName
    }

    /// MPI_Finalize: after the last MPI call of the process (a second call does nothing).
    public func finalize() throws {
        guard !finalized else { return }
        finalized = true
        try check(MPI_Finalize(), "MPI_Finalize")
    }

    /// Ends every rank of the job (MPI_Abort), for a rank that cannot go on while the others wait in a
    /// collective: without it they would hang. `reason` goes to standard error first, naming the rank.
    public func abort(reason: String, code: Int32 = 1) -> Never {
        FileHandle.standardError.write(Data("cltrain: rank \(rank) of \(size) on \(processorName): \(reason); aborting the MPI job\n".utf8))
        MPI_Abort(communicator, code)
        exit(code)   // MPI_Abort does not return; this only satisfies the compiler.
    }
}

/// The collectives a data-parallel run needs across its replicas (one process each), so that
/// CLTrain itself links no MPI: `CLTrainMPI.MPICollective` implements them over Open MPI, and
/// `SingleProcessCollective` is the world of one.
///
/// Every rank must make the same calls in the same order (they are collectives); a call that
/// fails throws, and the caller ends the job (`cltrain train --data-parallel` calls MPI_Abort with
/// the reason), since the other ranks may be waiting in a call this one will never make.
public protocol Collective: AnyObject {
    /// This process's index, 0 ..< size; rank 0 prints and writes checkpoints.
    var rank: Int { get }
    var size: Int { get }
    /// Starts buffer ← Σ over ranks of buffer (non-blocking: MPI_Iallreduce); `wait` on the result
    /// before the buffer is read or written again.
    func startSum(_ buffer: CollectiveBuffer) throws -> PendingCollective
    /// values ← Σ over ranks of values, blocking (the window's loss, in double precision).
    func sum(_ values: inout [Double]) throws
    /// values on every rank ← values on rank `root` (how the weights start equal).
    func broadcast(_ values: inout [Float], from root: Int) throws
    /// The smallest and largest of `value` over the ranks: equal exactly when all ranks hold it.
    func range(of value: UInt64) throws -> (minimum: UInt64, maximum: UInt64)
}

/// A started non-blocking collective.
public protocol PendingCollective: AnyObject {
    /// Blocks until it has finished.
    func wait() throws
    /// Whether it has finished, without blocking (and lets the library make progress on it).
    func test() throws -> Bool
}

/// The world of one process: every sum is the value itself.
public final class SingleProcessCollective: Collective {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func startSum(_ buffer: CollectiveBuffer) throws -> PendingCollective { Finished() }
    public func sum(_ values: inout [Double]) throws {}
    public func broadcast(_ values: inout [Float], from root: Int) throws {}
    public func range(of value: UInt64) throws -> (minimum: UInt64, maximum: UInt64) { (value, value) }

    private final class Finished: PendingCollective {
        func wait() throws {}
        func test() throws -> Bool { true }
    }
}

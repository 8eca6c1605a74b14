import CLTrain

/// CLTrain's `Collective` over an MPI world: what `cltrain train --data-parallel` gives its
/// `DataParallelExecutor`. Only the thread that initialised MPI may call it (MPI_THREAD_FUNNELED):
/// the training thread does; pipeline workers never do.
public final class MPICollective: Collective {
    public let world: MPIWorld

    public init(world: MPIWorld) { self.world = world }

    public var rank: Int { world.rank }
    public var size: Int { world.size }

    public func startSum(_ buffer: CollectiveBuffer) throws -> PendingCollective {
        Request(try world.startAllreduceSum(buffer.pointer, keepingAlive: buffer))
    }

    public func sum(_ values: inout [Double]) throws { try world.allreduceSum(&values) }

    public func broadcast(_ values: inout [Float], from root: Int) throws { try world.broadcast(&values, from: root) }

    public func range(of value: UInt64) throws -> (minimum: UInt64, maximum: UInt64) { try world.range(of: value) }

    private final class Request: PendingCollective {
        let request: MPIRequest
        init(_ request: MPIRequest) { self.request = request }
        func wait() throws { try request.wait() }
        func test() throws -> Bool { try request.test() }
    }
}

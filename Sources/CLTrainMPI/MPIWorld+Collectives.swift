import CLTrain
import CMPI

/// A started non-blocking collective (MPI_Iallreduce): `wait` before reading its buffer.
public final class MPIRequest {
    private var request: MPI_Request?
    /// Kept alive for as long as MPI may touch it (a `CollectiveBuffer`, or any owner of the memory).
    private let buffer: AnyObject
    private let call: String

    init(request: MPI_Request?, buffer: AnyObject, call: String) {
        self.request = request
        self.buffer = buffer
        self.call = call
    }

    public var isPending: Bool { request != cltrain_MPI_REQUEST_NULL() }

    /// Blocks until the collective has finished (MPI_Wait).
    public func wait() throws {
        guard isPending else { return }
        try check(MPI_Wait(&request, cltrain_MPI_STATUS_IGNORE()), "MPI_Wait(\(call))")
    }

    /// Whether it has finished, without blocking (MPI_Test); also drives its progress.
    public func test() throws -> Bool {
        guard isPending else { return true }
        var done: Int32 = 0
        try check(MPI_Test(&request, &done, cltrain_MPI_STATUS_IGNORE()), "MPI_Test(\(call))")
        return done != 0
    }

    deinit {
        // A request dropped while pending still completes before its buffer goes: waiting here is
        // the only safe choice (MPI_Request_free would let MPI write into freed memory).
        if isPending { _ = MPI_Wait(&request, cltrain_MPI_STATUS_IGNORE()) }
    }
}

extension MPIWorld {
    /// `count` as MPI's Int32 count, or a thrown error naming the call (MPI-3 counts are 32-bit).
    private func mpiCount(_ count: Int, _ call: String) throws -> Int32 {
        guard let value = Int32(exactly: count), value >= 0 else {
            throw MPIError(call: call, message: "\(count) elements is more than one MPI call takes (\(Int32.max)); split it into buckets")
        }
        return value
    }

    /// values ← Σ over ranks of values, in place, on every rank (MPI_Allreduce, MPI_SUM).
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        let count = try mpiCount(values.count, "MPI_Allreduce")
        try check(MPI_Allreduce(cltrain_MPI_IN_PLACE(), values.baseAddress, count, cltrain_MPI_FLOAT(), cltrain_MPI_SUM(),
                                communicator), "MPI_Allreduce(\(values.count) floats)")
    }

    /// values ← Σ over ranks of values, for [Float].
    public func allreduceSum(_ values: inout [Float]) throws {
        try values.withUnsafeMutableBufferPointer { try allreduceSum($0) }
    }

    /// Starts buffer ← Σ over ranks of buffer (MPI_Iallreduce): the caller goes on working and waits
    /// on the request before it reads the buffer. Every rank must start the same reductions in the
    /// same order.
    public func startAllreduceSum(_ buffer: CollectiveBuffer) throws -> MPIRequest {
        try startAllreduceSum(buffer.pointer, keepingAlive: buffer)
    }

    /// Starts values ← Σ over ranks of values (MPI_Iallreduce) on memory that `owner` keeps
    /// alive; the request holds `owner` until the reduction is done.
    public func startAllreduceSum(_ values: UnsafeMutableBufferPointer<Float>, keepingAlive owner: AnyObject) throws -> MPIRequest {
        let count = try mpiCount(values.count, "MPI_Iallreduce")
        var request: MPI_Request? = cltrain_MPI_REQUEST_NULL()
        try check(MPI_Iallreduce(cltrain_MPI_IN_PLACE(), values.baseAddress, count, cltrain_MPI_FLOAT(),
                                 cltrain_MPI_SUM(), communicator, &request), "MPI_Iallreduce(\(values.count) floats)")
        return MPIRequest(request: request, buffer: owner, call: "MPI_Iallreduce(\(values.count) floats)")
    }

    /// values ← Σ over ranks of values, in double precision (MPI_Allreduce, MPI_SUM).
    public func allreduceSum(_ values: inout [Double]) throws {
        let count = try mpiCount(values.count, "MPI_Allreduce")
        try values.withUnsafeMutableBufferPointer { pointer in
            try check(MPI_Allreduce(cltrain_MPI_IN_PLACE(), pointer.baseAddress, count, cltrain_MPI_DOUBLE(), cltrain_MPI_SUM(),
                                    communicator), "MPI_Allreduce(\(count) doubles)")
        }
    }

    /// values on every rank ← values on `root` (MPI_Bcast): how the weights start equal.
    public func broadcast(_ values: inout [Float], from root: Int = 0) throws {
        let count = try mpiCount(values.count, "MPI_Bcast")
        guard let rootRank = Int32(exactly: root), root >= 0, root < size else {
            throw MPIError(call: "MPI_Bcast", message: "root rank \(root) is not in 0..<\(size)")
        }
        try values.withUnsafeMutableBufferPointer { pointer in
            try check(MPI_Bcast(pointer.baseAddress, count, cltrain_MPI_FLOAT(), rootRank, communicator),
                      "MPI_Bcast(\(count) floats)")
        }
    }

    /// The smallest and largest of `value` over all ranks: equal exactly when every rank holds the same
    /// value, which is how mismatched options (a hash of them) are found at start.
    public func range(of value: UInt64) throws -> (minimum: UInt64, maximum: UInt64) {
        var minimum = value, maximum = value
        var input = value
        try check(MPI_Allreduce(&input, &minimum, 1, cltrain_MPI_UINT64_T(), cltrain_MPI_MIN(), communicator), "MPI_Allreduce(MIN)")
        try check(MPI_Allreduce(&input, &maximum, 1, cltrain_MPI_UINT64_T(), cltrain_MPI_MAX(), communicator), "MPI_Allreduce(MAX)")
        return (minimum, maximum)
    }

    /// Waits until every rank has reached this call (MPI_Barrier).
    public func barrier() throws {
        try check(MPI_Barrier(communicator), "MPI_Barrier")
    }
}

/// Host memory that a collective sums in place (`Collective.startSum`: MPI_Iallreduce takes
/// `pointer`) and that backends read tensors into and write them back from
/// (`Backend.read(_:into:at:)`, `Backend.write(_:at:to:)`). Shape: [count] float32.
///
/// Two kinds (`memory`), made by `Backend.makeCollectiveBuffer`:
/// - `.pinned` on OpenCL: a `PinnedHostBuffer` (CL_MEM_ALLOC_HOST_PTR, page-locked on GPU drivers)
///   held from the backend's `HostStagingPool`, so the device reads gradients straight into the
///   memory MPI reduces, and writes the sums straight from it: no pageable copy in between.
/// - `.pageable` elsewhere (the CPU backend copies its own memory in and out; nothing to pin).
///
/// Ownership, one rule: this object owns its memory for its whole life, and the memory stays
/// valid (and, pinned, mapped: the pool's buffer was mapped when made and is unmapped only when it
/// goes, never by this object) until `deinit`, which first waits for every device copy still
/// using it. A pending collective holds this object until its wait returns (`MPIRequest` keeps it),
/// so neither MPI nor a device ever sees memory that is freed or unmapped under it.
public final class CollectiveBuffer {
    public enum Memory: String, Sendable {
        case pageable
        /// Mapped OpenCL host memory (CL_MEM_ALLOC_HOST_PTR).
        case pinned
    }

    public let count: Int
    public let pointer: UnsafeMutableBufferPointer<Float>
    public let memory: Memory
    /// The pinned buffer this memory is, and the pool it goes back to; nil: allocated here.
    private let pinned: (buffer: PinnedHostBuffer, pool: HostStagingPool)?
    /// Device copies that may still read this memory (non-blocking writes from it).
    private var copies: [OpenCLEvent] = []

    /// Pageable memory of `count` zeros.
    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: count)
        pointer.initialize(repeating: 0)
        memory = .pageable
        pinned = nil
    }

    /// `count` zeros in `buffer` (at least 4·count bytes), held until this object goes.
    init(count: Int, pinned buffer: PinnedHostBuffer, from pool: HostStagingPool) {
        self.count = count
        pointer = UnsafeMutableBufferPointer(start: buffer.pointer.bindMemory(to: Float.self, capacity: count), count: count)
        pointer.initialize(repeating: 0)
        memory = .pinned
        pinned = (buffer, pool)
    }

    /// `count` floats from `offset`, or a thrown error naming `operation` if they do not fit.
    func floats(at offset: Int, _ count: Int, _ operation: String) throws -> UnsafeMutableBufferPointer<Float> {
        guard offset >= 0, count >= 0, offset <= self.count, count <= self.count - offset else {
            throw CLTrainError.shapeMismatch(operation: operation,
                                             detail: "\(count) floats at offset \(offset) of a collective buffer of \(self.count)")
        }
        return UnsafeMutableBufferPointer(rebasing: pointer[offset..<offset + count])
    }

    /// Keeps `event` (a device copy reading this memory) until it has ended.
    func track(_ event: OpenCLEvent) { copies.append(event) }

    /// Waits for the device copies still reading this memory, before anything writes it again.
    func waitForCopies() throws {
        for event in copies { try event.wait() }
        copies.removeAll()
    }

    deinit {
        for event in copies { try? event.wait() }
        if let pinned { pinned.pool.release(pinned.buffer) } else { pointer.deallocate() }
    }
}

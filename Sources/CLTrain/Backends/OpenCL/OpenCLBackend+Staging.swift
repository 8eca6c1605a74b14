import COpenCL

/// Host staging on OpenCL, for a tensor bound for another context or the CPU (`Transport`):
///
/// - `stage` enqueues a non-blocking read of the tensor into a pinned buffer of this backend's
///   `HostStagingPool` (mapped once, reused per size) and returns at once: the producer's thread
///   goes on enqueuing its next work, which its in-order queue runs after the read.
/// - `uploadStaged` on the consumer waits on the host for that read's event — an event of
///   another context cannot be waited for by this queue (OpenCL 1.2, 5.10: a wait list's events
///   share the queue's context), and a host wait is simpler to reason about than
///   `clSetEventCallback` — then enqueues a non-blocking write from the pinned memory, whose
///   event the pinned buffer keeps, and returns: the consumer's queue runs its next work after it.
///
/// So neither thread blocks on its own queue for a hand-off; the consumer's thread waits only
/// until the rows exist. What does not overlap: each queue is in order, so a read or write runs
/// between its queue's kernels, not beside them (no separate copy queue).
final class OpenCLStagedTensor: HostStagedTensor, @unchecked Sendable {
    let count: Int
    let buffer: PinnedHostBuffer
    let read: OpenCLEvent?
    private let pool: HostStagingPool

    init(count: Int, buffer: PinnedHostBuffer, read: OpenCLEvent?, pool: HostStagingPool) {
        self.count = count
        self.buffer = buffer
        self.read = read
        self.pool = pool
    }

    /// Waits for the read (on the host: from any thread, whatever the context).
    func waitForRead() throws { try read?.wait() }

    func values() throws -> [Float] {
        try waitForRead()
        return [Float](UnsafeBufferPointer(start: buffer.pointer.assumingMemoryBound(to: Float.self), count: count))
    }

    deinit { pool.release(buffer) }
}

extension OpenCLBackend {
    public func stageKernel(_ tensor: Tensor) throws -> HostStagedTensor {
        let source = try buffer(tensor, "stage")
        let pinned = try staging.acquire(byteCount: tensor.count * 4, queue: queue)
        let read = try queue.readAsync(source, byteOffset: tensor.offset * 4, into: pinned.pointer, byteCount: tensor.count * 4)
        if let read { pinned.track(read) }
        try queue.flush()   // so that a consumer's host wait sees the read start
        return OpenCLStagedTensor(count: tensor.count, buffer: pinned, read: read, pool: staging)
    }

    public func uploadStagedKernel(_ staged: HostStagedTensor, to tensor: Tensor) throws {
        guard let staged = staged as? OpenCLStagedTensor else { return try uploadKernel(staged.values(), to: tensor) }
        try staged.waitForRead()
        let destination = try buffer(tensor, "uploadStaged")
        if let write = try queue.writeAsync(from: staged.buffer.pointer, byteCount: tensor.count * 4, to: destination,
                                            byteOffset: tensor.offset * 4) {
            staged.buffer.track(write)
        }
        try queue.flush()
    }
}

/// Collective buffers on OpenCL: pinned memory from this backend's `HostStagingPool`, held for the
/// buffer's life, which the device reads gradients into and writes the sums from directly, and
/// which MPI reduces in place. The read blocks (the allreduce needs the values); the write does
/// not, its event kept by the buffer, and this queue's later work runs after it.
extension OpenCLBackend {
    public func makeCollectiveBufferKernel(count: Int) throws -> CollectiveBuffer {
        CollectiveBuffer(count: count, pinned: try staging.acquire(byteCount: count * 4, queue: queue), from: staging)
    }

    public func readKernel(_ tensor: Tensor, into destination: UnsafeMutableBufferPointer<Float>) throws {
        try queue.read(buffer(tensor, "read"), byteOffset: tensor.offset * 4, into: UnsafeMutableRawBufferPointer(destination))
    }

    public func writeKernel(_ source: UnsafeMutableBufferPointer<Float>, of collective: CollectiveBuffer, to tensor: Tensor) throws {
        guard let start = source.baseAddress else { return }
        if let write = try queue.writeAsync(from: start, byteCount: tensor.count * 4, to: buffer(tensor, "write"),
                                            byteOffset: tensor.offset * 4) {
            collective.track(write)
        }
        try queue.flush()
    }
}

import COpenCL
import Foundation

/// Host memory that the device reaches by DMA without a bounce copy: a `CL_MEM_ALLOC_HOST_PTR`
/// buffer (page-locked on GPU drivers), mapped once when it is made and kept mapped for its life,
/// so `pointer` is a host address that reads into and writes from it go through at full speed.
///
/// Reads and writes that use it are asynchronous: each one's event is kept (`track`) until the
/// next user takes the buffer (`HostStagingPool` hands it out only once every one has ended), and
/// the buffer is unmapped and released only after they end.
package final class PinnedHostBuffer: @unchecked Sendable {
    let byteCount: Int
    let pointer: UnsafeMutableRawPointer
    private let handle: cl_mem
    private let queue: OpenCLQueue   // the queue that mapped it, which unmaps it
    private let lock = NSLock()
    private var pending: [OpenCLEvent] = []

    init(queue: OpenCLQueue, byteCount: Int) throws(OpenCLError) {
        self.queue = queue
        self.byteCount = max(byteCount, 4)
        var status: cl_int = CL_SUCCESS
        let flags = cl_mem_flags(CL_MEM_READ_WRITE) | cl_mem_flags(CL_MEM_ALLOC_HOST_PTR)
        guard let mem = clCreateBuffer(queue.context.handle, flags, self.byteCount, nil, &status), status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateBuffer(CL_MEM_ALLOC_HOST_PTR, \(byteCount) bytes)", code: status)
        }
        let mapping = cl_map_flags(CL_MAP_READ) | cl_map_flags(CL_MAP_WRITE)
        guard let mapped = clEnqueueMapBuffer(queue.handle, mem, cl_bool(CL_TRUE), mapping, 0, self.byteCount, 0, nil, nil, &status),
              status == CL_SUCCESS else {
            clReleaseMemObject(mem)
            throw OpenCLError(call: "clEnqueueMapBuffer(\(byteCount) bytes)", code: status)
        }
        handle = mem
        pointer = mapped
    }

    /// Keeps `event` (a read into or a write from this memory) until it has ended.
    func track(_ event: OpenCLEvent) {
        lock.withLock { pending.append(event) }
    }

    /// Whether every tracked read and write has ended (asked without waiting); forgets those.
    func isIdle() throws(OpenCLError) -> Bool {
        let events = lock.withLock { pending }
        for event in events where !(try event.isComplete()) { return false }
        lock.withLock { pending.removeAll { event in events.contains { $0 === event } } }
        return true
    }

    deinit {
        // A copy still reading or writing this memory must end before it goes.
        for event in pending { try? event.wait() }
        clEnqueueUnmapMemObject(queue.handle, handle, pointer, 0, nil, nil)
        clFinish(queue.handle)
        clReleaseMemObject(handle)
    }
}

/// One backend's pinned staging buffers, reused transfer after transfer: `acquire` hands out a
/// buffer of exactly the size asked for that nobody holds and whose copies have all ended, and
/// makes a new one only when there is none, so a training loop allocates its staging buffers in
/// its first window (as many as are in flight at once) and reuses them afterwards.
final class HostStagingPool: @unchecked Sendable {
    private let lock = NSLock()
    private var buffers: [(buffer: PinnedHostBuffer, held: Bool)] = []

    /// A buffer of `byteCount` bytes, held until `release`.
    func acquire(byteCount: Int, queue: OpenCLQueue) throws -> PinnedHostBuffer {
        let size = max(byteCount, 4)
        let free = lock.withLock { buffers.indices.filter { !buffers[$0].held && buffers[$0].buffer.byteCount == size } }
        for index in free {
            let candidate = lock.withLock { buffers[index].buffer }
            if try candidate.isIdle() {
                let taken = lock.withLock { () -> Bool in
                    guard !buffers[index].held else { return false }
                    buffers[index].held = true
                    return true
                }
                if taken { return candidate }
            }
        }
        let buffer = try PinnedHostBuffer(queue: queue, byteCount: size)
        lock.withLock { buffers.append((buffer, true)) }
        return buffer
    }

    /// Gives `buffer` back; it is handed out again once its copies have ended.
    func release(_ buffer: PinnedHostBuffer) {
        lock.withLock {
            if let index = buffers.firstIndex(where: { $0.buffer === buffer }) { buffers[index].held = false }
        }
    }

    /// Buffers made so far (for tests: reuse keeps this constant).
    var count: Int { lock.withLock { buffers.count } }
}

import COpenCL

// Ordering between two queues of one context without blocking the host: the producer's queue
// enqueues a marker (`OpenCLQueue.marker()`), the consumer's queue a barrier that waits for it.

extension OpenCLQueue {
    /// Enqueues a barrier (`clEnqueueBarrierWithWaitList`, OpenCL 1.2): commands enqueued after it
    /// on this queue start only once every event in `events` (of this context) has completed.
    func waitOnDevice(for events: [OpenCLEvent]) throws(OpenCLError) {
        guard !events.isEmpty else { return }
        let handles: [cl_event?] = events.map(\.handle)
        let status = handles.withUnsafeBufferPointer { clEnqueueBarrierWithWaitList(handle, cl_uint($0.count), $0.baseAddress, nil) }
        try checkCL(status, "clEnqueueBarrierWithWaitList(\(context.device.name))")
    }
}

import COpenCL

// Ordering between two queues of one context without blocking the host: the producer's queue
// enqueues a marker (`OpenCLQueue.marker()`) and is flushed, the consumer's queue a barrier that
// waits for it. The flush matters: OpenCL 1.2 (5.13) guarantees that another queue can wait for an
// event only once the queue holding its command has been flushed (or has run a blocking call).

extension OpenCLQueue {
    /// Enqueues a barrier (`clEnqueueBarrierWithWaitList`, OpenCL 1.2): commands enqueued after it
    /// on this queue start only once every event in `events` (of this context) has completed.
    func waitOnDevice(for events: [OpenCLEvent]) throws(OpenCLError) {
        guard !events.isEmpty else { return }
        let handles: [cl_event?] = events.map(\.handle)
        let status = handles.withUnsafeBufferPointer { clEnqueueBarrierWithWaitList(handle, cl_uint($0.count), $0.baseAddress, nil) }
        try checkCL(status, "clEnqueueBarrierWithWaitList(\(context.device.name))")
    }

    /// Submits everything enqueued so far to the device (`clFlush`) without waiting for it.
    func flush() throws(OpenCLError) {
        try checkCL(clFlush(handle), "clFlush(\(context.device.name))")
    }
}

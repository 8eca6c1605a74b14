/// A point in one backend's queue (everything enqueued before it) that another backend of the
/// same `MemoryDomain` can wait for on the device, and any thread on the host: on OpenCL, a
/// marker event.
public protocol QueueMarker: AnyObject {
    /// Blocks until the queue has reached the marker.
    func waitOnHost() throws
}

extension OpenCLEvent: QueueMarker {
    public func waitOnHost() throws { try wait() }
}

extension Backend {
    /// No markers (the CPU backend, which runs each operation before returning, and wrappers):
    /// a transport drains the producer's queue instead.
    public func enqueueMarker() throws -> QueueMarker? { nil }
    public func enqueueWait(for marker: QueueMarker) throws {}
}

extension OpenCLBackend {
    /// A marker event, its queue flushed so that another queue may wait for it (OpenCL 1.2, 5.13).
    public func enqueueMarker() throws -> QueueMarker? {
        let marker = try queue.marker()
        try queue.flush()
        return marker
    }

    public func enqueueWait(for marker: QueueMarker) throws {
        guard let event = marker as? OpenCLEvent else {
            throw CLTrainError.invalidArgument("\(name) cannot wait for a marker of another kind of backend")
        }
        try queue.waitOnDevice(for: [event])
    }
}

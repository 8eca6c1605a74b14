/// Host staging on a timing device, as on OpenCL (`OpenCLBackend+Staging`): `stage` enqueues the
/// read's time on the producer's device and returns at once; `uploadStaged` sleeps on the
/// consumer's thread until that read is due, then enqueues the write's time on the consumer's
/// device and returns. Neither waits for its own queue.
final class TimingStagedTensor: HostStagedTensor, @unchecked Sendable {
    let count: Int
    /// When the read is done, on the monotonic clock (ns).
    let due: UInt64

    init(count: Int, due: UInt64) {
        self.count = count
        self.due = due
    }

    func values() throws -> [Float] {
        TimingDevice.sleep(until: due)
        return [Float](repeating: 0, count: count)
    }
}

extension TimingBackend {
    public func stageKernel(_ tensor: Tensor) throws -> HostStagedTensor {
        TimingStagedTensor(count: tensor.count, due: device.enqueue(device.costs.hostTransfer(bytes: 4 * tensor.count),
                                                                              "staged read \(4 * tensor.count) bytes"))
    }

    public func uploadStagedKernel(_ staged: HostStagedTensor, to tensor: Tensor) throws {
        guard let staged = staged as? TimingStagedTensor else {
            _ = try staged.values()
            return device.blocking(device.costs.hostTransfer(bytes: 4 * tensor.count), "upload \(4 * tensor.count) bytes")
        }
        device.wait(until: staged.due)
        device.enqueue(device.costs.hostTransfer(bytes: 4 * tensor.count), "staged write \(4 * tensor.count) bytes")
    }
}

/// A point in a timing device's queue: when the work enqueued before it is done.
final class TimingMarker: QueueMarker {
    let due: UInt64
    init(due: UInt64) { self.due = due }
    func waitOnHost() throws { TimingDevice.sleep(until: due) }
}

extension TimingBackend {
    /// A marker, as OpenCL's: the wavefront bounds how far a worker runs ahead of its queue with
    /// them. Timing backends share no memory domain, so no other queue waits for one.
    public func enqueueMarker() throws -> QueueMarker? { TimingMarker(due: device.enqueue(0)) }

    public func enqueueWait(for marker: QueueMarker) throws {
        guard let marker = marker as? TimingMarker else {
            throw CLTrainError.invalidArgument("\(name) cannot wait for a marker of another kind of backend")
        }
        device.delay(until: marker.due)
    }
}

/// Every movement of a tensor between two backends goes through a transport: an executor never
/// copies between devices itself, and nothing above the backends asks what a backend is made of.
///
/// A move has two halves, so that a pipeline can run them on different threads:
/// - `send`, by the producer once its work on `source` is enqueued: afterwards `source` is complete
///   for every consumer named, whatever the producer enqueues next;
/// - `receive`, by a consumer: the rows land in its `destination`.
/// One thread runs both at once (`move`).
///
/// A later data-parallel executor adds a gradient allreduce as one more kind of movement here
/// (every replica's gradients summed into each), without touching the model.
protocol Transport: AnyObject, Sendable {
    /// Makes `source` (on `from`) readable by each of `consumers`.
    func send(_ source: Tensor, from: Backend, to consumers: [Backend]) throws -> Shipment
    /// Copies a sent tensor into `destination` (same element count) on `to`, one of its consumers.
    func receive(_ shipment: Shipment, into destination: Tensor, on to: Backend) throws
}

extension Transport {
    /// `source` (on `from`) into `destination` on `to`, from one thread.
    func move(_ source: Tensor, from: Backend, into destination: Tensor, on to: Backend) throws {
        try receive(send(source, from: from, to: [to]), into: destination, on: to)
    }
}

/// A tensor on its way from a producer to its consumers: the producer's view of it, a marker in
/// the producer's queue for consumers that copy on the device, and, where a consumer lives in
/// another memory domain, a host copy taken when it was sent.
final class Shipment: @unchecked Sendable {
    let source: Tensor
    let from: Backend
    /// The producer's queue after the work that wrote `source` (nil: no consumer copies on the
    /// device from another queue, or the producer has no markers and was drained instead).
    let marker: QueueMarker?
    /// `source` on its way through host memory (`Backend.stage`), read once for every consumer
    /// that cannot copy on the device; the read may still be running.
    let staged: HostStagedTensor?

    init(source: Tensor, from: Backend, marker: QueueMarker?, staged: HostStagedTensor?) {
        self.source = source
        self.from = from
        self.marker = marker
        self.staged = staged
    }
}

/// The cheapest path the two ends allow (`MemoryDomain`):
/// - one backend object: a copy in its own queue, nothing waited for;
/// - two queues of one OpenCL context: the producer's queue gets a marker, the consumer's queue a
///   barrier on it, then the device copy — the host waits for neither (a backend without
///   markers is drained, `synchronize`, instead);
/// - different contexts or a CPU backend: the rows are staged in host memory once, however many
///   consumers need them (`Backend.stage`: on OpenCL a non-blocking read into a pinned buffer,
///   which the in-order queue runs after the work that wrote them); each consumer writes them
///   into its tensor (`Backend.uploadStaged`: a host wait for the read's event — another
///   context's queue cannot wait for it — then a non-blocking write).
///
/// Whoever reuses a source's buffer for the next window must know the consumers' copies are done:
/// `SequentialExecutor` drains every queue at the end of a window, and `WavefrontExecutor`'s
/// workers drain theirs at the end of the window's work.
///
/// What overlaps: no thread waits for its own queue for a hand-off. A producer enqueues its work
/// and the staged read and goes on; a consumer waits on the host only until the rows are read,
/// enqueues their write and goes on; devices compute while other devices' reads and writes run;
/// two queues of one context meet on the device, with no host round trip. What does not: each
/// queue is in order, so a device's own reads and writes run between its kernels, not beside them
/// (there is no separate copy queue).
final class DeviceTransport: Transport {
    func send(_ source: Tensor, from: Backend, to consumers: [Backend]) throws -> Shipment {
        var marker: QueueMarker?
        if consumers.contains(where: { $0 !== from && from.canCopyDirectly(to: $0) }) {
            marker = try from.enqueueMarker()
            if marker == nil { try from.synchronize() }
        }
        let staged = consumers.contains { !from.canCopyDirectly(to: $0) } ? try from.stage(source) : nil
        return Shipment(source: source, from: from, marker: marker, staged: staged)
    }

    func receive(_ shipment: Shipment, into destination: Tensor, on to: Backend) throws {
        if shipment.from.canCopyDirectly(to: to) {
            if to !== shipment.from, let marker = shipment.marker { try to.enqueueWait(for: marker) }
            try to.copy(shipment.source, to: destination)
        } else if let staged = shipment.staged {
            try to.uploadStaged(staged, to: destination)
        } else {
            throw CLTrainError.invalidArgument("a tensor sent from \(shipment.from.name) was received on \(to.name), which was not named as a consumer")
        }
    }
}

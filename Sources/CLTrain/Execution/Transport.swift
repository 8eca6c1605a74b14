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

/// A tensor on its way from a producer to its consumers: the producer's view of it and, where a
/// consumer lives in another memory domain, a host copy taken when it was sent.
final class Shipment: @unchecked Sendable {
    let source: Tensor
    let from: Backend
    /// Row-major values of `source`, read once for every consumer that cannot copy on the device.
    let staged: [Float]?

    init(source: Tensor, from: Backend, staged: [Float]?) {
        self.source = source
        self.from = from
        self.staged = staged
    }
}

/// The cheapest path the two ends allow (`MemoryDomain`):
/// - one backend object: a copy in its own queue, nothing waited for;
/// - two queues of one OpenCL context: the producer's queue drains (`synchronize`, a clFinish),
///   then the consumer copies on the device;
/// - different contexts or a CPU backend: the producer's queue drains and the rows are read into
///   host memory once, however many consumers need them; each consumer uploads them.
///
/// What overlaps today: in the wavefront, a producer stages a run and signals, and goes on with
/// its next run while consumers upload; devices compute while other workers' transfers run. What
/// does not: the read itself waits for the producer's queue (blocking clEnqueueReadBuffer into
/// pageable memory, no pinned CL_MEM_ALLOC_HOST_PTR buffer yet), and the upload blocks the
/// consumer's thread; two queues of one context still meet through a clFinish, not an event.
final class DeviceTransport: Transport {
    func send(_ source: Tensor, from: Backend, to consumers: [Backend]) throws -> Shipment {
        if consumers.contains(where: { $0 !== from }) { try from.synchronize() }
        let staged = consumers.contains { !from.canCopyDirectly(to: $0) } ? try from.download(source) : nil
        return Shipment(source: source, from: from, staged: staged)
    }

    func receive(_ shipment: Shipment, into destination: Tensor, on to: Backend) throws {
        if shipment.from.canCopyDirectly(to: to) {
            try to.copy(shipment.source, to: destination)
        } else if let staged = shipment.staged {
            try to.upload(staged, to: destination)
        } else {
            throw CLTrainError.invalidArgument("a tensor sent from \(shipment.from.name) was received on \(to.name), which was not named as a consumer")
        }
    }
}

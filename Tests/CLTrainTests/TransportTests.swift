import Testing
@testable import CLTrain

/// Every tensor between backends moves through the transport, by the cheapest path the two allow.
struct TransportTests {
    /// An OpenCL backend that counts how often its queue is drained, and says so to the transport
    /// (its memory domain and markers are its base's).
    final class DrainCountingBackend: ForwardingBackend, @unchecked Sendable {
        let base: Backend
        var drains = 0
        init(_ base: Backend) { self.base = base }
        var name: String { "counting \(base.name)" }
        var memoryDomain: MemoryDomain { base.memoryDomain }
        func enqueueMarker() throws -> QueueMarker? { try base.enqueueMarker() }
        func enqueueWait(for marker: QueueMarker) throws { try base.enqueueWait(for: marker) }
        func synchronize() throws {
            drains += 1
            try base.synchronize()
        }
    }

    static let values: [Float] = (0..<4096).map { Float($0) * 0.5 - 7 }

    /// `from` writes a tensor (an upload, then a kernel), the transport moves it to `to`.
    func moved(from: Backend, to: Backend) throws -> [Float] {
        let source = try makeTensor(from, [64, 64], Self.values)
        try from.scale(source, by: 2)
        let destination = try to.makeTensor(shape: [64, 64], elementType: .float32)
        try DeviceTransport().move(source, from: from, into: destination, on: to)
        return try to.download(destination)
    }

    @Test func twoCPUBackendsGoThroughHostMemory() throws {
        let (a, b) = (CPUBackend(), CPUBackend())
        #expect(!a.canCopyDirectly(to: b) && a.canCopyDirectly(to: a))
        #expect(try moved(from: a, to: b) == Self.values.map { $0 * 2 })
    }

    /// Two queues of one context: a marker and a barrier, and the producer's queue is never drained.
    @Test(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty, "no OpenCL device: transport between queues skipped"))
    func twoQueuesOfOneContextMeetOnTheDevice() throws {
        let context = try DeviceRegistry.shared.context(ofOpenCLDevice: 0)
        let producer = DrainCountingBackend(try OpenCLBackend(context: context))
        let consumer = try OpenCLBackend(context: context)
        #expect(producer.canCopyDirectly(to: consumer))
        #expect(try moved(from: producer, to: consumer) == Self.values.map { $0 * 2 })
        #expect(producer.drains == 0, "the producer's queue was drained \(producer.drains) times")
    }

    /// Two contexts: host staging, read once for both consumers.
    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2, "fewer than two OpenCL devices: staging skipped"))
    func twoContextsGoThroughHostMemory() throws {
        let a = try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: 0))
        let b = try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: 1))
        #expect(!a.canCopyDirectly(to: b))
        #expect(try moved(from: a, to: b) == Self.values.map { $0 * 2 })
        let source = try makeTensor(a, [8], Array(Self.values.prefix(8)))
        let shipment = try DeviceTransport().send(source, from: a, to: [b, CPUBackend()])
        #expect(shipment.staged == Array(Self.values.prefix(8)))
    }

    /// A consumer that was not named when the tensor was sent is refused, not given stale data.
    @Test func anUnnamedConsumerIsRefused() throws {
        let (a, b) = (CPUBackend(), CPUBackend())
        let source = try makeTensor(a, [4], [1, 2, 3, 4])
        let shipment = try DeviceTransport().send(source, from: a, to: [a])
        let destination = try b.makeTensor(shape: [4], elementType: .float32)
        #expect(throws: CLTrainError.self) { try DeviceTransport().receive(shipment, into: destination, on: b) }
    }
}

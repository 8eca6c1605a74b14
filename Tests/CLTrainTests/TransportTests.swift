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
        #expect(try shipment.staged?.values() == Array(Self.values.prefix(8)))
    }

    /// Two contexts: the staged read and the consumer's write are non-blocking, so neither queue is
    /// drained for a hand-off, and the producer's pinned staging buffer is made once per size and
    /// reused transfer after transfer.
    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2, "fewer than two OpenCL devices: staging skipped"))
    func stagingBetweenContextsDrainsNoQueueAndReusesItsPinnedBuffer() throws {
        let a = try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: 0))
        let b = try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: 1))
        let (producer, consumer) = (DrainCountingBackend(a), DrainCountingBackend(b))
        for round in 0..<3 {
            #expect(try moved(from: producer, to: consumer) == Self.values.map { $0 * 2 }, "round \(round)")
        }
        #expect(producer.drains == 0 && consumer.drains == 0, "drains: \(producer.drains), \(consumer.drains)")
        #expect(a.staging.count == 1, "\(a.staging.count) pinned buffers for three moves of one size")
        // Another size takes a buffer of its own; the first one is still reused.
        let small = try makeTensor(a, [8], Array(Self.values.prefix(8)))
        let destination = try b.makeTensor(shape: [8], elementType: .float32)
        try DeviceTransport().move(small, from: a, into: destination, on: b)
        #expect(try b.download(destination) == Array(Self.values.prefix(8)))
        #expect(try moved(from: a, to: b) == Self.values.map { $0 * 2 })
        #expect(a.staging.count == 2)
        // To the CPU backend, the staged values themselves (the protocol's default upload).
        let cpu = CPUBackend()
        let host = try cpu.makeTensor(shape: [8], elementType: .float32)
        try DeviceTransport().move(small, from: a, into: host, on: cpu)
        #expect(try cpu.download(host) == Array(Self.values.prefix(8)))
    }

    /// The wavefront chains its tasks by the transport's events: with every part on its own queue
    /// of one context, a training step of five runs drains each queue once (its worker's end),
    /// not once a task, and trains as one backend does.
    @Test(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty, "no OpenCL device: wavefront drains skipped"))
    func theWavefrontDrainsEachQueueOncePerStep() throws {
        let context = try DeviceRegistry.shared.context(ofOpenCLDevice: 0)
        let run = try SmallRun(batch: 2, bptt: 5, hidden: 8, layers: 2)
        let backends = try (0..<3).map { _ in DrainCountingBackend(try OpenCLBackend(context: context)) }
        let model = try LanguageModel(configuration: run.configuration,
                                      devices: ModelDevices(layers: [backends[0], backends[1]],
                                                            softmaxShards: [(backends[2], 0..<run.vocabulary.count)]))
        let executor = WavefrontExecutor(model: model, stepsPerRun: 1)
        _ = try executor.trainingStep(run.train.window(0))
        // Per task, layer 0 alone would have drained 5 + 5 + 1 times.
        #expect(backends.allSatisfy { $0.drains <= 2 }, "drains: \(backends.map(\.drains))")
        executor.close()
    }

    /// A consumer that was not named when the tensor was sent is refused, not given stale data.
    @Test func anUnnamedConsumerIsRefused() throws {
        let (a, b) = (CPUBackend(), CPUBackend())
        let source = try makeTensor(a, [4], [1, 2, 3, 4])
        let shipment = try DeviceTransport().send(source, from: a, to: [a])
        let destination = try b.makeTensor(shape: [4], elementType: .float32)
        #expect(throws: CLTrainError.self) { try DeviceTransport().receive(shipment, into: destination, on: b) }
    }

    /// The device transport, recording every send as (producer, consumers).
    final class RecordingTransport: Transport, @unchecked Sendable {
        let base = DeviceTransport()
        private(set) var sends: [(from: ObjectIdentifier, to: [ObjectIdentifier])] = []
        func send(_ source: Tensor, from: Backend, to consumers: [Backend]) throws -> Shipment {
            sends.append((ObjectIdentifier(from), consumers.map(ObjectIdentifier.init)))
            return try base.send(source, from: from, to: consumers)
        }
        func receive(_ shipment: Shipment, into destination: Tensor, on to: Backend) throws {
            try base.receive(shipment, into: destination, on: to)
        }
    }

    /// Both executors move data between backends only through their transport: with layers on
    /// backends 0, 1 and shards on 1, 0, a window (one run) sends layer 0's output, the top
    /// layer's output to both shards, shard 1's part of ∂L/∂h (shard 0 is on the top layer's
    /// backend) and layer 1's input gradient — and trains as with the default transport.
    @Test(arguments: [false, true])
    func everyMovementGoesThroughTheTransport(wavefront: Bool) throws {
        let run = try SmallRun(batch: 2, bptt: 5, hidden: 8, layers: 2)
        func step(_ transport: Transport?) throws -> (Double, [[Float]]) {
            let backends = [CPUBackend(), CPUBackend()]
            let model = try LanguageModel(configuration: run.configuration,
                                          devices: MultiDeviceTrainingTests.devices(([0, 1], [1, 0]), backends,
                                                                                    vocabularySize: run.vocabulary.count))
            let transport = transport ?? DeviceTransport()
            let executor: Executor = wavefront ? WavefrontExecutor(model: model, stepsPerRun: 5, microBatches: 1, transport: transport)
                : SequentialExecutor(model: model, transport: transport)
            let loss = try executor.trainingStep(run.train.window(0))
            return (loss, try model.parameters.map { try $0.backend.download($0.gradient) })
        }
        let recording = RecordingTransport()
        let recorded = try step(recording), plain = try step(nil)
        #expect(recorded.0 == plain.0 && recorded.1 == plain.1)
        #expect(recording.sends.count == 4, "\(recording.sends.count) sends")
        #expect(recording.sends.allSatisfy { send in send.to.contains { $0 != send.from } })
    }
}

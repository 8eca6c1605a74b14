import Testing
@testable import CLTrain

/// The allreduce's buckets: each is staged in the host memory its backend's copies reach best —
/// pinned (mapped CL_MEM_ALLOC_HOST_PTR) on an OpenCL device, the CPU's own pageable memory on the
/// CPU — and a pack (device → bucket, scaled), a sum in place and an unpack (bucket → device) move
/// every gradient exactly, step after step on the same buffers.
struct GradientBucketsTests {
    /// Fills every gradient, then twice (two steps, the same buffers): packs each bucket at 1/2,
    /// multiplies it by 3 in place (the sum of three equal ranks) and unpacks it. Every gradient must
    /// come back as (g · 1/2) · 3, twice over; returns the buckets' memory kinds.
    static func roundTrip(on backend: Backend) throws -> [CollectiveBuffer.Memory] {
        let configuration = ModelConfiguration(vocabularySize: 20, embeddingSize: 6, hiddenSize: 6, layers: 2)
        let model = try LanguageModel(configuration: configuration, backend: backend, seed: 1)
        var random = SplitMix64(seed: 5)
        var expected: [[Float]] = []
        for p in model.parameters {
            let values = random.floats(p.count)
            try backend.upload(values, to: p.gradient)
            expected.append(values)
        }
        let buckets = try GradientBuckets(model.parameters, capacity: 100)
        #expect(buckets.buckets.count > 2, "several buckets, so that offsets matter")
        for _ in 0..<2 {
            for b in buckets.buckets.indices {
                try buckets.pack(b, scale: 0.5)
                for i in buckets.buckets[b].buffer.pointer.indices { buckets.buckets[b].buffer.pointer[i] *= 3 }
                try buckets.unpack(b)
            }
            expected = expected.map { $0.map { $0 * 0.5 * 3 } }
        }
        for (p, values) in zip(model.parameters, expected) {
            #expect(try backend.download(p.gradient) == values, "'\(p.name)' came back changed")
        }
        return buckets.memory
    }

    @Test("on the CPU the buckets are pageable memory, and gradients round-trip exactly")
    func cpu() throws {
        #expect(try Self.roundTrip(on: CPUBackend()).allSatisfy { $0 == .pageable })
    }

    @Test("on OpenCL every bucket is pinned host memory, and gradients round-trip exactly",
          .enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty, "no OpenCL device (PoCL) to stage from"))
    func openCL() throws {
        let backend = try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: 0))
        let memory = try Self.roundTrip(on: backend)
        #expect(!memory.isEmpty && memory.allSatisfy { $0 == .pinned }, "\(memory)")
    }

    @Test("a read or write outside the bucket is refused, naming the sizes")
    func outOfRange() throws {
        let backend = CPUBackend()
        let tensor = try makeTensor(backend, [4], [1, 2, 3, 4])
        let buffer = try backend.makeCollectiveBuffer(count: 6)
        #expect(throws: CLTrainError.self) { try backend.read(tensor, into: buffer, at: 3) }
        #expect(throws: CLTrainError.self) { try backend.write(buffer, at: -1, to: tensor) }
        try backend.read(tensor, into: buffer, at: 2)
        #expect(Array(buffer.pointer) == [0, 0, 1, 2, 3, 4])
    }
}

import Testing
@testable import CLTrain

/// Index tensors are made once per shape and refilled each step (`Backend.uploadIndices`), with
/// the embedding's index groups rebuilt from the new values.
struct IndexReuseTests {
    /// The CPU backend, and one OpenCL backend per device when there is a platform.
    static func backends() throws -> [Backend] {
        try [CPUBackend()] + DeviceRegistry.shared.openCLDevices.indices.map {
            try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: $0))
        }
    }

    /// A refilled index tensor scatters the embedding gradient exactly as a fresh one does (a
    /// stale grouping would add to the first step's rows).
    @Test func aRefilledIndexTensorGivesTheEmbeddingGradientOfAFreshOne() throws {
        for backend in try Self.backends() {
            var random = SplitMix64(seed: 21)
            let (V, E) = (7, 3)
            let first: [Int32] = [2, 0, 2, 5, 2, 0], second: [Int32] = [6, 6, 1, 3, 1, 4]
            let (outputGradient, _) = try makeRandomTensor(backend, [first.count, E], &random)
            let output = try backend.makeTensor(shape: [first.count, E], elementType: .float32)
            let (table, _) = try makeRandomTensor(backend, [V, E], &random)
            let reused = try backend.makeIndices(first)
            let reusedGradient = try backend.makeTensor([V, E], filledWith: 0)
            try backend.embeddingForward(table: table, indices: reused, output: output)
            try backend.embeddingBackward(outputGradient: outputGradient, indices: reused, tableGradient: reusedGradient)
            try backend.uploadIndices(second, into: reused)
            #expect(reused.values == second)
            try backend.fill(reusedGradient, with: 0)
            try backend.embeddingForward(table: table, indices: reused, output: output)
            let reusedOutput = try backend.download(output)
            try backend.embeddingBackward(outputGradient: outputGradient, indices: reused, tableGradient: reusedGradient)

            let fresh = try backend.makeIndices(second)
            let freshGradient = try backend.makeTensor([V, E], filledWith: 0)
            try backend.embeddingForward(table: table, indices: fresh, output: output)
            #expect(try backend.download(output) == reusedOutput, "\(backend.name)")
            try backend.embeddingBackward(outputGradient: outputGradient, indices: fresh, tableGradient: freshGradient)
            #expect(try backend.download(reusedGradient) == backend.download(freshGradient), "\(backend.name)")
        }
    }

    @Test func anUploadOfAnotherCountIsRefused() throws {
        for backend in try Self.backends() {
            let indices = try backend.makeIndices([1, 2, 3])
            expectShapeMismatch(in: "uploadIndices") { try backend.uploadIndices([1, 2], into: indices) }
            #expect(indices.values == [1, 2, 3])
        }
    }

    /// A backend that counts the index tensors it is asked to make.
    final class CountingBackend: ForwardingBackend, @unchecked Sendable {
        let base: Backend = CPUBackend()
        var made = 0
        var name: String { "counting cpu" }
        func makeIndices(_ values: [Int32]) throws -> IndexTensor {
            made += 1
            return try base.makeIndices(values)
        }
    }

    /// After the first step, neither executor makes an index tensor: inputs and every shard's
    /// targets are refilled in place.
    @Test(arguments: [ExecutionSchedule.sequential, .wavefront(stepsPerRun: 2, microBatches: 2)])
    func noStepAfterTheFirstMakesIndexTensors(schedule: ExecutionSchedule) throws {
        let run = try SmallRun(batch: 4, bptt: 5, hidden: 8, layers: 2)
        let backends = [CountingBackend(), CountingBackend(), CountingBackend()]
        let model = try LanguageModel(configuration: run.configuration,
                                      devices: MultiDeviceTrainingTests.devices(([0, 1], [1, 2]), backends,
                                                                                vocabularySize: run.vocabulary.count))
        let executor = schedule.makeExecutor(for: model)
        _ = try executor.trainingStep(run.train.window(0))
        let afterFirst = backends.map(\.made)
        #expect(afterFirst.reduce(0, +) > 0)
        _ = try executor.trainingStep(run.train.window(1))
        _ = try executor.evaluate(run.train.window(2))
        #expect(backends.map(\.made) == afterFirst, "\(schedule)")
    }
}

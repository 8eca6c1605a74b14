import Foundation
import Testing
@testable import CLTrain

/// The encoder–decoder over several devices, sequentially placed and pipelined
/// (`TranslationWavefrontExecutor`, runs of K steps, micro-batches), trains as one device does:
/// padded batches of sentences of 2–7 tokens, sources reversed, dropout on, a few steps of Adam and
/// a validation pass, compared with one CPU backend by the project's tolerance rule.
///
/// Separate CPU backends stand in for devices without OpenCL (every hand-off then goes through
/// host memory); with four PoCL devices the same runs go over OpenCL devices (layers on 0 and 1,
/// the softmax split over 2 and 3).
struct TranslationMultiDeviceTests {
    /// What a short training run leaves: every step's loss, the validation losses, every parameter.
    struct Outcome {
        let losses: [Double]
        let validation: [Double]
        let weights: [[Float]]
        let executor: TranslationBatchExecutor
    }

    static let batch = 8

    static func run(_ devices: ModelDevices?, schedule: ExecutionSchedule = .sequential) throws -> Outcome {
        let data = try TranslationTrainingTests.dataset()
        let configuration = TranslationConfiguration(
            sourceVocabularySize: data.sourceVocabulary.count, targetVocabularySize: data.targetVocabulary.count,
            embeddingSize: 8, hiddenSize: 8, layers: 2, dropout: 0.2, reverseSource: true)
        let model = try devices.map { try TranslationModel(configuration: configuration, devices: $0, seed: 3) }
            ?? TranslationModel(configuration: configuration, backend: CPUBackend(), seed: 3)
        let options = TranslationOptions(epochs: 1, batch: batch, optimizer: .adam,
                                         schedule: LearningRateSchedule(initial: 0.01, halvingStart: nil, halvingInterval: 0.5),
                                         maxStepsPerEpoch: 3, maxValidationSteps: 2)
        let executor = schedule.makeExecutor(for: model)
        let trainer = try TranslationTrainer(model: model, executor: executor, dataset: data, options: options,
                                             checkpointDirectory: nil, dataSource: "synthetic")
        var losses: [Double] = [], validation: [Double] = []
        trainer.onStep = { losses.append($0.loss) }
        trainer.onValidation = { validation.append($0.loss) }
        try trainer.run()
        return Outcome(losses: losses, validation: validation,
                       weights: try model.parameters.logicalTensors.map { try $0.gather(\.value) }, executor: executor)
    }

    /// Layer devices and softmax devices as numbers into `backends`, the softmax split evenly.
    static func devices(_ placement: ([Int], [Int]), _ backends: [Backend]) throws -> ModelDevices {
        let vocabularySize = try TranslationTrainingTests.dataset().targetVocabulary.count
        return MultiDeviceTrainingTests.devices(placement, backends, vocabularySize: vocabularySize)
    }

    static func expectSame(_ actual: Outcome, _ reference: Outcome, _ label: String) {
        #expect(actual.losses.count == 3, "\(label): \(actual.losses.count) steps")
        // Reduction length: the longest sum behind a weight gradient (T·B rows × 4H; T ≤ 7 with <eos>).
        MultiDeviceTrainingTests.expectSame((actual.losses, actual.validation, actual.weights),
                                            (reference.losses, reference.validation, reference.weights),
                                            reductionLength: 7 * batch * 4 * 8, label)
    }

    /// (layer devices, softmax devices): the softmax on devices of its own and split; on the top
    /// layer's backend (run by that layer's worker); split with one shard on layer 0's worker.
    static let placements: [([Int], [Int])] = [([0, 1], [2, 3]), ([0, 1], [1]), ([0, 1], [1, 0])]
    /// (steps per run, micro-batches).
    static let shapes: [(Int, Int)] = [(1, 1), (2, 1), (1, 2), (2, 2)]

    @Test(arguments: placements.indices, shapes)
    func pipelinedOnCPUBackendsEqualsOneBackend(placement: Int, shape: (stepsPerRun: Int, microBatches: Int)) throws {
        let p = Self.placements[placement]
        let backends: [Backend] = (0..<4).map { _ in CPUBackend() }
        let result = try Self.run(Self.devices(p, backends),
                                  schedule: .wavefront(stepsPerRun: shape.stepsPerRun, microBatches: shape.microBatches))
        Self.expectSame(result, try Self.run(nil),
                        "pipelined, \(shape.stepsPerRun) steps a run, \(shape.microBatches) micro-batches, CPU placement \(p)")
        let names = result.executor.utilization.busySeconds.keys
        #expect(names.contains { $0.hasPrefix("encoder and decoder layer 0") } && names.count == Set(p.0 + p.1).count, "\(names)")
    }

    @Test func sequentialOverCPUBackendsEqualsOneBackend() throws {
        let backends: [Backend] = (0..<4).map { _ in CPUBackend() }
        Self.expectSame(try Self.run(Self.devices(([0, 1], [2, 3]), backends)), try Self.run(nil), "sequential, CPU placement [0, 1] / [2, 3]")
    }

    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 4,
                   "fewer than four OpenCL devices: multi-device translation training skipped (POCL_DEVICES=\"pthread pthread pthread pthread\" gives four)"),
          arguments: [ExecutionSchedule.sequential] + shapes.map { ExecutionSchedule.wavefront(stepsPerRun: $0.0, microBatches: $0.1) })
    func onFourOpenCLDevicesEqualsOneBackend(schedule: ExecutionSchedule) throws {
        let backends = try MultiDeviceTrainingTests.openCLBackends(4)
        let result = try Self.run(Self.devices(([0, 1], [2, 3]), backends), schedule: schedule)
        Self.expectSame(result, try Self.run(nil), "\(schedule), OpenCL layers on devices 0, 1, softmax on 2, 3")
    }

    /// One step's gradients on a batch of sources of 3, 1 and 2 tokens, in three micro-batches of
    /// one sequence: each sequence's encoder state is taken at its own last token in the layout.
    /// Two micro-batches do not divide 3 sequences: the batch goes as gcd(2, 3) = 1.
    @Test(arguments: [1, 2, 3])
    func oneStepsGradientsEqualTheSequentialExecutors(microBatches: Int) throws {
        let batch = try TranslationFixture.batch()
        let reference = try TranslationFixture.gradients(try TranslationFixture.model(dropout: 0.3), batch)
        let backends: [Backend] = (0..<3).map { _ in CPUBackend() }
        let model = try TranslationFixture.model(dropout: 0.3, devices: ModelDevices(
            layers: [backends[0], backends[1]], softmaxShards: [(backends[2], 0..<5), (backends[0], 5..<8)]))
        try model.zeroGradients()
        #expect(try TranslationWavefrontExecutor.microBatches(microBatches, batch: 3) == (microBatches == 3 ? 3 : 1))
        let (loss, tokens) = try TranslationWavefrontExecutor(model: model, stepsPerRun: 2, microBatches: microBatches)
            .run(batch, training: true)
        #expect(tokens == reference.tokens)
        #expect(compare([Float(loss)], to: [Float(reference.loss)], reductionLength: 64).passed, "\(loss) vs \(reference.loss)")
        let gradients = try model.parameters.logicalTensors.map { try $0.gather(\.gradient) }
        for (name, (a, r)) in zip(model.parameters.logicalTensors.map(\.name), zip(gradients, reference.gradients)) {
            let comparison = compare(a, to: r, reductionLength: 64)
            #expect(comparison.passed, "\(name), \(microBatches) micro-batches: \(comparison)")
        }
    }

    /// Worker 0 drives layer index 0 and shard 1. Chain positions: micro-batch 0's encoder runs
    /// (0, 1) and decoder runs (2, 3), then micro-batch 1's (4…7); the layer takes position p at
    /// slot p, the shard a decoder position at p + L (L = 2), a layer's task first within a slot.
    @Test func aWorkerTakesEachMicroBatchsEncoderRunsThenItsDecoderRuns() throws {
        let backends: [Backend] = [CPUBackend(), CPUBackend()]
        let model = try TranslationFixture.model(devices: ModelDevices(layers: backends, softmaxShards: [(backends[1], 0..<5), (backends[0], 5..<8)]))
        let executor = TranslationWavefrontExecutor(model: model, stepsPerRun: 1)
        let workers = try executor.pipelineWorkers()
        #expect(workers.map(TranslationWavefrontExecutor.workerName)
                == ["encoder and decoder layer 0 + softmax shard 1 on cpu", "encoder and decoder layer 1 + softmax shard 0 on cpu"])
        let layout = try MicroBatchLayout(steps: 2, batch: 2, microBatches: 2)
        let units = WavefrontExecutor.PipelineUnits(layout: layout, runs: WavefrontExecutor.runs(steps: 2, stepsPerRun: 1))
        let chain = TranslationWavefrontExecutor.Chain(source: units, target: units)
        typealias T = TranslationWavefrontExecutor.Task
        #expect(executor.forwardTasks(for: workers[0], chain: chain, training: false) == [
            .encoder(layer: 0, unit: 0), .encoder(layer: 0, unit: 1), .decoder(layer: 0, unit: 0), .decoder(layer: 0, unit: 1),
            .encoder(layer: 0, unit: 2), .statistics(shard: 1, unit: 0), .encoder(layer: 0, unit: 3), .statistics(shard: 1, unit: 1),
            .decoder(layer: 0, unit: 2), .decoder(layer: 0, unit: 3), .statistics(shard: 1, unit: 2), .statistics(shard: 1, unit: 3),
        ] as [T])
    }

    @Test func layersSharingABackendAndNoMicroBatchesAreRefused() throws {
        let shared = CPUBackend()
        let model = try TranslationFixture.model(devices: ModelDevices(layers: [shared, shared], softmaxShards: [(shared, 0..<8)]))
        #expect(throws: PipelineError.self) {
            try TranslationWavefrontExecutor(model: model, stepsPerRun: 1).run(TranslationFixture.batch(), training: true)
        }
        let backends: [Backend] = [CPUBackend(), CPUBackend()]
        let placed = try TranslationFixture.model(devices: ModelDevices(layers: backends, softmaxShards: [(backends[1], 0..<8)]))
        do {
            _ = try TranslationWavefrontExecutor(model: placed, stepsPerRun: 1, microBatches: 0).run(TranslationFixture.batch(), training: true)
            Issue.record("0 micro-batches were accepted")
        } catch let error as CLTrainError {
            #expect("\(error)".contains("cannot be split into 0"), "\(error)")
        }
    }
}

/// A device failing in the middle of a pipelined translation step stops it with an error naming
/// the device and the task; no worker is left waiting. The fixture's batch: S 3, T 4, two steps a run.
@Suite("Pipelined translation failures")
struct TranslationPipelineFailureTests {
    @Test(arguments: [
        // Layer index 1's device: its decoder runs backward first (steps 3, 2, then 1, 0: calls 1–4),
        // then its encoder's (step 2: call 5).
        (FaultyBackend.Fault.failLSTMBackward(call: 5), 1, "encoder layer 1 backward, steps 2..<3"),
        (.failLSTMBackward(call: 3), 1, "decoder layer 1 backward, steps 0..<2"),
        // A softmax shard on a device of its own, in the forward and the backward half of the second run.
        (.failSoftmaxStatistics(call: 2), 3, "softmax shard 1 forward, steps 2..<4"),
        (.failSoftmaxGradient(call: 2), 3, "softmax shard 1 backward, steps 2..<4"),
    ])
    func aDeviceFailingMidStepIsNamed(fault: FaultyBackend.Fault, faulty: Int, task expectedTask: String) throws {
        let backends: [Backend] = (0..<4).map { $0 == faulty ? FaultyBackend(fault) as Backend : CPUBackend() }
        let model = try TranslationFixture.model(devices: ModelDevices(layers: [backends[0], backends[1]],
                                                                       softmaxShards: [(backends[2], 0..<5), (backends[3], 5..<8)]))
        let executor = TranslationWavefrontExecutor(model: model, stepsPerRun: 2)
        do {
            _ = try executor.run(TranslationFixture.batch(), training: true)
            Issue.record("the step went on after a device failed")
        } catch let error as PipelineError {
            guard case .deviceFailed(let device, let task, let underlying) = error else { Issue.record("unexpected \(error)"); return }
            #expect(device == "faulty cpu")
            #expect(task == expectedTask)
            #expect("\(underlying)".contains("CL_OUT_OF_RESOURCES"))
        }
    }
}

import Foundation
import Testing
@testable import CLTrain

/// Training with the model's parts on several backends gives the losses and weights of one backend.
///
/// Separate CPU backends stand in for devices when there is no OpenCL (every transfer then goes
/// through host memory); with PoCL, the same placements run on OpenCL devices (POCL_DEVICES gives
/// as many as it lists; placements needing more devices than exist are skipped).
struct MultiDeviceTrainingTests {
    /// (layer devices, softmax devices) as device numbers; the model has 3 layers.
    static let placements: [([Int], [Int])] = [
        ([0, 1, 1], [1]),          // two devices, softmax whole
        ([0, 1, 2], [2]),          // three devices, one layer each
        ([0, 1, 2], [3]),          // four devices
        ([0, 0, 1], [2, 3]),       // softmax split in two
        ([0, 1, 2], [3, 0, 1]),    // split in three, sharing devices with layers
        ([0, 0, 0], [0, 0]),       // one device, two queues for the shards
    ]

    /// What a short training run leaves: the loss of every step, the validation loss after each
    /// epoch, every parameter (whole tensors, whatever the placement) and the model.
    struct Outcome {
        let losses: [Double]
        let validation: [Double]
        let weights: [[Float]]
        let model: LanguageModel
        let executor: Executor
    }

    static func run(_ devices: ModelDevices?, backend: Backend, layers: Int = 3, batch: Int = 3,
                    schedule: ExecutionSchedule = .sequential) throws -> Outcome {
        let run = try SmallRun(batch: batch, bptt: 5, hidden: 12, layers: layers, dropout: 0.2)
        let options = run.options(epochs: 1, optimizer: .adam, steps: 3)
        let model = try devices.map { try LanguageModel(configuration: run.configuration, devices: $0, seed: options.seed) }
            ?? LanguageModel(configuration: run.configuration, backend: backend, seed: options.seed)
        let executor = schedule.makeExecutor(for: model)
        let trainer = try Trainer(model: model, executor: executor, vocabulary: run.vocabulary, options: options, train: run.train,
                                  validation: run.validation, checkpointDirectory: nil)
        var losses: [Double] = [], validation: [Double] = []
        trainer.onStep = { losses.append($0.loss) }
        trainer.onValidation = { validation.append($0.loss) }
        try trainer.run()
        return Outcome(losses: losses, validation: validation,
                       weights: try model.parameters.logicalTensors.map { try $0.gather(\.value) }, model: model,
                       executor: executor)
    }

    /// One OpenCL backend (queue) per device number 0..<count; with fewer devices, numbers wrap onto
    /// the ones there are, as further queues, so every placement still runs.
    static func openCLBackends(_ count: Int) throws -> [Backend] {
        let available = DeviceRegistry.shared.openCLDevices.count
        return try (0..<count).map { try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: $0 % available)) }
    }

    static func devices(_ placement: ([Int], [Int]), _ backends: [Backend], vocabularySize: Int) -> ModelDevices {
        let rows = Placement.evenShards(vocabularySize: vocabularySize, count: placement.1.count)
        return ModelDevices(layers: placement.0.map { backends[$0] },
                            softmaxShards: zip(placement.1, rows).map { (backends[$0], $1) })
    }

    func expectSame(_ actual: Outcome, _ reference: Outcome, _ label: String, batch: Int = 3) {
        // Reduction length: the longest sum behind a weight gradient (T·B rows × 4H).
        Self.expectSame((actual.losses, actual.validation, actual.weights), (reference.losses, reference.validation, reference.weights),
                        reductionLength: 5 * batch * 4 * 12, label)
    }

    /// Every step's loss, every validation loss and every weight of a training run against a
    /// reference run's, by the tolerance rule for sums of `reductionLength` terms.
    static func expectSame(_ actual: (losses: [Double], validation: [Double], weights: [[Float]]),
                           _ reference: (losses: [Double], validation: [Double], weights: [[Float]]),
                           reductionLength n: Int, _ label: String) {
        #expect(!actual.losses.isEmpty && actual.losses.count == reference.losses.count, "\(label): \(actual.losses.count) steps")
        #expect(compare(actual.losses.map(Float.init), to: reference.losses.map(Float.init), reductionLength: n).passed,
                "\(label): losses \(actual.losses) vs \(reference.losses)")
        #expect(!actual.validation.isEmpty
                && compare(actual.validation.map(Float.init), to: reference.validation.map(Float.init), reductionLength: n).passed,
                "\(label): validation losses \(actual.validation) vs \(reference.validation)")
        #expect(actual.weights.count == reference.weights.count)
        for (a, r) in zip(actual.weights, reference.weights) {
            let comparison = compare(a, to: r, reductionLength: n)
            #expect(comparison.passed, "\(label): \(comparison)")
        }
    }

    @Test(arguments: placements.indices)
    func cpuBackendsAsDevices(placement: Int) throws {
        let reference = try Self.run(nil, backend: CPUBackend())
        let backends: [Backend] = (0..<4).map { _ in CPUBackend() }
        let vocabularySize = try SmallRun().vocabulary.count
        let result = try Self.run(Self.devices(Self.placements[placement], backends, vocabularySize: vocabularySize), backend: backends[0])
        expectSame(result, reference, "CPU placement \(Self.placements[placement])")
    }

    /// Placements the wavefront runs (a backend of its own for every layer), as (layer devices,
    /// softmax devices): 2, 3 and 4 devices, the softmax whole and split. Entries with one number
    /// share one backend object, so some shards run on a layer's worker.
    static let pipelinePlacements: [([Int], [Int])] = [
        ([0, 1], [1]),             // 2 devices; the softmax on the top layer's backend, run by its worker
        ([0, 1], [1, 0]),          // 2 devices, split; one shard interleaved with layer 0's runs
        ([0, 1], [2]),             // 3 devices; the softmax on a device of its own
        ([0, 1, 2], [2]),          // 3 devices, one layer each
        ([0, 1], [2, 1]),          // 3 devices, split between its own device and the top layer's
        ([0, 1, 2], [3]),          // 4 devices
        ([0, 1, 2], [3, 0]),       // 4 devices, split; one shard with layer 0
        ([0, 1, 2], [3, 3]),       // 4 devices; two shards on one backend, driven by one decoder worker
        ([0, 1, 2], [3, 4, 5]),    // split in three, each shard on a backend of its own
    ]

    @Test(arguments: pipelinePlacements.indices, [1, 2, 5])
    func wavefrontOnCPUBackendsEqualsOneBackend(placement: Int, stepsPerRun: Int) throws {
        let p = Self.pipelinePlacements[placement]
        let reference = try Self.run(nil, backend: CPUBackend(), layers: p.0.count)
        let backends: [Backend] = (0..<6).map { _ in CPUBackend() }
        let vocabularySize = try SmallRun().vocabulary.count
        let devices = Self.devices(p, backends, vocabularySize: vocabularySize)
        let result = try Self.run(devices, backend: backends[0], layers: p.0.count, schedule: .wavefront(stepsPerRun: stepsPerRun))
        expectSame(result, reference, "wavefront (\(stepsPerRun) steps a run), CPU placement \(p)")
    }

    /// Every decoder worker shows in the utilization, and the figures are shares of the wall time.
    @Test func theDecoderWorkersAppearInTheUtilization() throws {
        let backends: [Backend] = (0..<6).map { _ in CPUBackend() }
        let vocabularySize = try SmallRun().vocabulary.count
        for (placement, names) in [
            (([0, 1, 2], [3, 4, 5]), ["layer 0 on cpu", "layer 1 on cpu", "layer 2 on cpu", "softmax shard 0 on cpu",
                                      "softmax shard 1 on cpu", "softmax shard 2 on cpu"]),
            (([0, 1, 2], [2, 3, 3]), ["layer 0 on cpu", "layer 1 on cpu", "layer 2 + softmax shard 0 on cpu",
                                      "softmax shards 1, 2 on cpu"]),
        ] {
            let outcome = try Self.run(Self.devices(placement, backends, vocabularySize: vocabularySize), backend: backends[0],
                                       schedule: .wavefront(stepsPerRun: 1))
            let utilization = outcome.executor.utilization
            #expect(Set(utilization.busySeconds.keys) == Set(names), "\(placement)")
            #expect(utilization.wallSeconds > 0)
            #expect(utilization.busyFractions.values.allSatisfy { $0 > 0 && $0 <= 1 }, "\(utilization.busyFractions)")
            #expect(utilization.bubbleFraction >= 0 && utilization.bubbleFraction < 1)
        }
    }

    /// A worker's forward tasks keep the wavefront's order: layer 0's runs r at slot r, the
    /// decoder's at slot r + L, statistics before gradients.
    @Test func aWorkerInterleavesItsLayerAndShardInWavefrontOrder() throws {
        let run = try SmallRun(layers: 2)
        let backends: [Backend] = [CPUBackend(), CPUBackend()]
        let model = try LanguageModel(configuration: run.configuration,
                                      devices: Self.devices(([0, 1], [1, 0]), backends, vocabularySize: run.vocabulary.count))
        let executor = WavefrontExecutor(model: model, stepsPerRun: 1)
        let workers = try executor.pipelineWorkers()
        #expect(workers.map(\.name) == ["layer 0 + softmax shard 1 on cpu", "layer 1 + softmax shard 0 on cpu"])
        let tasks = executor.forwardTasks(for: workers[0], runs: 3, training: true)
        typealias T = WavefrontExecutor.ForwardTask
        #expect(tasks == [T(kind: .layer, index: 0, run: 0), T(kind: .layer, index: 0, run: 1),
                          T(kind: .layer, index: 0, run: 2), T(kind: .statistics, index: 1, run: 0),
                          T(kind: .gradient, index: 1, run: 0), T(kind: .statistics, index: 1, run: 1),
                          T(kind: .gradient, index: 1, run: 1), T(kind: .statistics, index: 1, run: 2),
                          T(kind: .gradient, index: 1, run: 2)])
        #expect(executor.forwardTasks(for: workers[1], runs: 1, training: false)
                == [T(kind: .layer, index: 1, run: 0), T(kind: .statistics, index: 0, run: 0)])
    }

    /// Each layer and shard on a backend of its own, as `cltrain train --layer-devices` makes them.
    @Test func wavefrontOnAPlacementAsTheCommandLineMakesItEqualsOneBackend() throws {
        let run = try SmallRun(layers: 3)
        let placement = try Placement.manual(layerDevices: [.cpu, .cpu, .cpu], softmaxDevices: [.cpu, .cpu],
                                             layers: 3, vocabularySize: run.vocabulary.count)
        let reference = try Self.run(nil, backend: CPUBackend())
        let result = try Self.run(ModelDevices(placement: placement), backend: CPUBackend(), schedule: .wavefront(stepsPerRun: 2))
        expectSame(result, reference, "wavefront, CPU placement \(placement.layers) / \(placement.softmaxShards.map(\.device))")
    }

    @Test func wavefrontRefusesLayersSharingABackend() throws {
        let run = try SmallRun(layers: 3)
        let shared = CPUBackend()
        let model = try LanguageModel(configuration: run.configuration,
                                      devices: Self.devices(([0, 0, 1], [1]), [shared, CPUBackend()], vocabularySize: run.vocabulary.count))
        let executor = WavefrontExecutor(model: model, stepsPerRun: 1)
        #expect(throws: PipelineError.self) { try executor.trainingStep(run.train.window(0)) }
    }

    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2,
                   "fewer than two OpenCL devices: pipelined OpenCL training skipped (POCL_DEVICES=\"pthread pthread\" gives two)"),
          arguments: pipelinePlacements.indices, [1, 2])
    func wavefrontOnOpenCLDevicesEqualsOneBackend(placement: Int, stepsPerRun: Int) throws {
        let p = Self.pipelinePlacements[placement]
        let available = DeviceRegistry.shared.openCLDevices.count
        let backends = try Self.openCLBackends(6)
        let reference = try Self.run(nil, backend: CPUBackend(), layers: p.0.count)
        let vocabularySize = try SmallRun().vocabulary.count
        let result = try Self.run(Self.devices(p, backends, vocabularySize: vocabularySize), backend: backends[0],
                                  layers: p.0.count, schedule: .wavefront(stepsPerRun: stepsPerRun))
        expectSame(result, reference, "wavefront (\(stepsPerRun) steps a run), OpenCL placement \(p) on \(available) devices")
    }

    /// Two devices, a queue for every layer and shard as `cltrain train` makes them: the top
    /// layer's rows reach shard 0 and its gradient comes back by device copies (one context),
    /// shard 1's through host memory.
    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2,
                   "fewer than two OpenCL devices: pipelined OpenCL training skipped (POCL_DEVICES=\"pthread pthread\" gives two)"))
    func wavefrontOnTwoOpenCLDevicesAsTheCommandLinePlacesEqualsOneBackend() throws {
        let run = try SmallRun(layers: 3)
        let placement = try Placement.manual(layerDevices: [.openCL(0), .openCL(1), .openCL(1)],
                                             softmaxDevices: [.openCL(1), .openCL(0)], layers: 3,
                                             vocabularySize: run.vocabulary.count)
        let reference = try Self.run(nil, backend: CPUBackend())
        let result = try Self.run(ModelDevices(placement: placement), backend: CPUBackend(), schedule: .wavefront(stepsPerRun: 1))
        expectSame(result, reference, "wavefront, OpenCL placement [0, 1, 1] / [1, 0]")
    }

    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2,
                   "fewer than two OpenCL devices: multi-device OpenCL training skipped (POCL_DEVICES=\"pthread pthread\" gives two)"),
          arguments: placements.indices)
    func openCLDevices(placement: Int) throws {
        let p = Self.placements[placement]
        let needed = (p.0 + p.1).max()! + 1
        let available = DeviceRegistry.shared.openCLDevices.count
        let backends = try Self.openCLBackends(needed)
        let reference = try Self.run(nil, backend: CPUBackend())
        let vocabularySize = try SmallRun().vocabulary.count
        let result = try Self.run(Self.devices(p, backends, vocabularySize: vocabularySize), backend: backends[0])
        expectSame(result, reference, "OpenCL placement \(p) on \(available) devices")
    }
}

@Suite("Pipelined training failures")
struct PipelineFailureTests {
    /// A device that fails in the fourth step (after the checkpoint of step 3) stops training with
    /// an error naming the device and the task; no worker is left waiting, and the checkpoint
    /// stays whole. Three runs a window (5 steps, 2 a run): the failure comes in step 4's run 1.
    /// With 2 micro-batches of 3 sequences a window has 6 units, and the task names the micro-batch.
    @Test(arguments: [
        // Layer 1's device, in the LSTM backward (5 cell steps a window, the last step first).
        (FaultyBackend.Fault.failLSTMBackward(call: 3 * 5 + 1), 1, ([0, 1, 2], [2]), 1, "layer 1 backward, steps 4..<5"),
        // A softmax shard on a device of its own (its own worker), in the forward and the backward half of a run.
        (.failSoftmaxStatistics(call: 3 * 3 + 2), 3, ([0, 1, 2], [2, 3]), 1, "softmax shard 1 forward, steps 2..<4"),
        (.failSoftmaxGradient(call: 3 * 3 + 2), 3, ([0, 1, 2], [2, 3]), 1, "softmax shard 1 backward, steps 2..<4"),
        // A shard on layer 1's device, run by that layer's worker.
        (.failSoftmaxGradient(call: 3 * 3 + 2), 1, ([0, 1, 2], [1, 2]), 1, "softmax shard 0 backward, steps 2..<4"),
        // Micro-batches: layer 1 runs 10 cell backward steps a window, micro-batch 0 first (5 steps), then micro-batch 1's last step.
        (.failLSTMBackward(call: 3 * 10 + 6), 1, ([0, 1, 2], [2]), 2, "layer 1 backward, micro-batch 1, steps 4..<5"),
        // A shard on a device of its own: 6 units a window, the 5th is micro-batch 1's second run.
        (.failSoftmaxStatistics(call: 3 * 6 + 5), 3, ([0, 1, 2], [2, 3]), 2, "softmax shard 1 forward, micro-batch 1, steps 2..<4"),
        (.failSoftmaxGradient(call: 3 * 6 + 5), 3, ([0, 1, 2], [2, 3]), 2, "softmax shard 1 backward, micro-batch 1, steps 2..<4"),
    ])
    func aDeviceFailingMidStepIsNamedAndTheCheckpointSurvives(fault: FaultyBackend.Fault, faulty: Int,
                                                              placement: ([Int], [Int]), microBatches: Int,
                                                              task expectedTask: String) throws {
        let run = try SmallRun(batch: 3 * microBatches, bptt: 5, hidden: 12, layers: 3)
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let backends: [Backend] = (0..<4).map { $0 == faulty ? FaultyBackend(fault) as Backend : CPUBackend() }
        let devices = MultiDeviceTrainingTests.devices(placement, backends, vocabularySize: run.vocabulary.count)
        let options = run.options(epochs: 1, optimizer: .sgd, steps: 6, checkpointEvery: 3)
        let model = try LanguageModel(configuration: run.configuration, devices: devices, seed: options.seed)
        let executor = WavefrontExecutor(model: model, stepsPerRun: 2, microBatches: microBatches)
        let trainer = try Trainer(model: model, executor: executor, vocabulary: run.vocabulary, options: options, train: run.train,
                                  validation: run.validation, checkpointDirectory: directory)
        let checkpoint = directory.appendingPathComponent(Checkpoint.modelFileName)
        var saved: Data?
        trainer.onCheckpoint = { _ in saved = try? Data(contentsOf: checkpoint) }
        do {
            try trainer.run()
            Issue.record("training went on after a device failed")
        } catch let error as PipelineError {
            guard case .deviceFailed(let device, let task, let underlying) = error else {
                Issue.record("unexpected \(error)"); return
            }
            #expect(device == "faulty cpu")
            #expect(task == expectedTask)
            #expect("\(underlying)".contains("CL_OUT_OF_RESOURCES"))
            #expect("\(error)".contains("faulty cpu"))
        }
        #expect(trainer.position.step == 3)
        #expect(saved != nil)
        #expect(try Data(contentsOf: checkpoint) == saved, "the last checkpoint changed")
    }
}

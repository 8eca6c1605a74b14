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

    static func run(_ devices: ModelDevices?, backend: Backend, schedule: ExecutionSchedule = .sequential)
        throws -> (losses: [Double], weights: [[Float]]) {
        let run = try SmallRun(batch: 3, bptt: 5, hidden: 12, layers: 3, dropout: 0.2)
        let options = run.options(epochs: 1, optimizer: .adam, steps: 3)
        let model = try devices.map { try LanguageModel(configuration: run.configuration, devices: $0, seed: options.seed) }
            ?? LanguageModel(configuration: run.configuration, backend: backend, seed: options.seed)
        model.schedule = schedule
        let trainer = try Trainer(model: model, vocabulary: run.vocabulary, options: options, train: run.train,
                                  validation: run.validation, checkpointDirectory: nil)
        var losses: [Double] = []
        trainer.onStep = { losses.append($0.loss) }
        try trainer.run()
        return (losses, try model.parameters.logicalTensors.map { try $0.gather(\.value) })
    }

    static func devices(_ placement: ([Int], [Int]), _ backends: [Backend], vocabularySize: Int) -> ModelDevices {
        let rows = Placement.evenShards(vocabularySize: vocabularySize, count: placement.1.count)
        return ModelDevices(layers: placement.0.map { backends[$0] },
                            softmaxShards: zip(placement.1, rows).map { (backends[$0], $1) })
    }

    func expectSame(_ actual: (losses: [Double], weights: [[Float]]), _ reference: (losses: [Double], weights: [[Float]]),
                    _ label: String) {
        // Reduction length: the longest sum behind a weight gradient (T·B rows × 4H).
        let n = 5 * 3 * 4 * 12
        #expect(compare(actual.losses.map(Float.init), to: reference.losses.map(Float.init), reductionLength: n).passed,
                "\(label): losses \(actual.losses) vs \(reference.losses)")
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

    /// Placements with a backend of its own for every layer, as the wavefront needs.
    static let pipelinePlacements: [([Int], [Int])] = [([0, 1, 2], [2]), ([0, 1, 2], [3, 0]), ([0, 1, 2], [3, 4, 5])]

    @Test(arguments: pipelinePlacements.indices, [1, 2, 5])
    func wavefrontOnCPUBackendsEqualsOneBackend(placement: Int, stepsPerRun: Int) throws {
        let reference = try Self.run(nil, backend: CPUBackend())
        let backends: [Backend] = (0..<6).map { _ in CPUBackend() }
        let vocabularySize = try SmallRun().vocabulary.count
        let devices = Self.devices(Self.pipelinePlacements[placement], backends, vocabularySize: vocabularySize)
        let result = try Self.run(devices, backend: backends[0], schedule: .wavefront(stepsPerRun: stepsPerRun))
        expectSame(result, reference, "wavefront (\(stepsPerRun) steps a run), CPU placement \(Self.pipelinePlacements[placement])")
    }

    @Test func wavefrontRefusesLayersSharingABackend() throws {
        let run = try SmallRun(layers: 3)
        let shared = CPUBackend()
        let model = try LanguageModel(configuration: run.configuration,
                                      devices: Self.devices(([0, 0, 1], [1]), [shared, CPUBackend()], vocabularySize: run.vocabulary.count))
        model.schedule = .wavefront(stepsPerRun: 1)
        #expect(throws: PipelineError.self) { try model.trainingStep(run.train.window(0)) }
    }

    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2,
                   "fewer than two OpenCL devices: pipelined OpenCL training skipped (POCL_DEVICES=\"pthread pthread\" gives two)"),
          arguments: pipelinePlacements.indices)
    func wavefrontOnOpenCLDevicesEqualsOneBackend(placement: Int) throws {
        let p = Self.pipelinePlacements[placement]
        let available = DeviceRegistry.shared.openCLDevices.count
        let backends: [Backend] = try (0..<6).map { try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: $0 % available)) }
        let reference = try Self.run(nil, backend: CPUBackend())
        let vocabularySize = try SmallRun().vocabulary.count
        let result = try Self.run(Self.devices(p, backends, vocabularySize: vocabularySize), backend: backends[0],
                                  schedule: .wavefront(stepsPerRun: 1))
        expectSame(result, reference, "wavefront OpenCL placement \(p) on \(available) devices")
    }

    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2,
                   "fewer than two OpenCL devices: multi-device OpenCL training skipped (POCL_DEVICES=\"pthread pthread\" gives two)"),
          arguments: placements.indices)
    func openCLDevices(placement: Int) throws {
        let p = Self.placements[placement]
        let needed = (p.0 + p.1).max()! + 1
        let available = DeviceRegistry.shared.openCLDevices.count
        // One backend (queue) per device number; with fewer devices, numbers wrap onto the ones
        // there are, so every placement still runs with several queues per device.
        let backends: [Backend] = try (0..<needed).map { try OpenCLBackend(context: DeviceRegistry.shared.context(ofOpenCLDevice: $0 % available)) }
        let reference = try Self.run(nil, backend: CPUBackend())
        let vocabularySize = try SmallRun().vocabulary.count
        let result = try Self.run(Self.devices(p, backends, vocabularySize: vocabularySize), backend: backends[0])
        expectSame(result, reference, "OpenCL placement \(p) on \(available) devices")
    }
}

@Suite("Pipelined training failures")
struct PipelineFailureTests {
    /// Layer 1's device fails in the backward pass of the fourth step (after the checkpoint of step 3):
    /// training stops with an error naming the device and the task, and the checkpoint stays whole.
    @Test func aDeviceFailingMidStepIsNamedAndTheCheckpointSurvives() throws {
        let run = try SmallRun(batch: 3, bptt: 5, hidden: 12, layers: 3)
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let faulty = FaultyBackend(.failLSTMBackward(call: 3 * 5 + 1))   // 5 steps per window, 3 windows fine
        let backends: [Backend] = [CPUBackend(), faulty, CPUBackend()]
        let devices = MultiDeviceTrainingTests.devices(([0, 1, 2], [2]), backends, vocabularySize: run.vocabulary.count)
        let options = run.options(epochs: 1, optimizer: .sgd, steps: 6, checkpointEvery: 3)
        let model = try LanguageModel(configuration: run.configuration, devices: devices, seed: options.seed)
        model.schedule = .wavefront(stepsPerRun: 2)
        let trainer = try Trainer(model: model, vocabulary: run.vocabulary, options: options, train: run.train,
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
            #expect(task.contains("layer 1 backward"), "\(task)")
            #expect("\(underlying)".contains("CL_OUT_OF_RESOURCES"))
            #expect("\(error)".contains("faulty cpu"))
        }
        #expect(trainer.position.step == 3)
        #expect(saved != nil)
        #expect(try Data(contentsOf: checkpoint) == saved, "the last checkpoint changed")
    }
}

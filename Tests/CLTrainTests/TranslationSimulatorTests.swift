import Testing
@testable import CLTrain

@Suite("Pipeline simulator: the encoder–decoder")
struct TranslationSimulatorTests {
    /// An encoder–decoder whose encoder layers cost what its decoder layers do, links `link`.
    static func model(layers: [PipelineModel.Stage], shards: [PipelineModel.Stage], sourceSteps: Int, targetSteps: Int,
                      activationBytes: Double = 0, rowBytes: Double = 0,
                      link: PipelineLink = SimulatorTests.instant) -> TranslationPipelineModel {
        TranslationPipelineModel(decoder: SimulatorTests.model(layers: layers, shards: shards, steps: targetSteps,
                                                               activationBytes: activationBytes, rowBytes: rowBytes, link: link),
                                 encoder: layers, sourceSteps: sourceSteps)
    }

    /// The paper's layout on 8 simulated devices: layer k of both stacks on k, the softmax on 4…7.
    static func layout2014(layers: [DeviceSelection]? = nil) throws -> (Placement, Placement) {
        let devices = (0..<8).map { DeviceSelection.openCL($0) }
        let placement = try Placement.manual(layerDevices: layers ?? Array(devices[0..<4]), softmaxDevices: Array(devices[4..<8]),
                                             layers: 4, vocabularySize: Presets.translation2014.targetVocabulary,
                                             availableDevices: devices)
        let one = try Placement.singleDevice(devices[0], layers: 4, vocabularySize: Presets.translation2014.targetVocabulary)
        return (placement, one)
    }

    @Test func twoLayersOfUnitCostsByHand() throws {
        // Layers on devices 0 and 1, forward 1 and backward 1 per step, no weight gradients, no
        // softmax, free transfers, S 3, T 2, one step a run. By hand (worker l runs encoder and
        // decoder layer l on device l):
        //   forward  device 0: encoder s0 s1 s2 in [0, 3), decoder t0 t1 in [3, 5);
        //            device 1: encoder s0 s1 s2 in [1, 4) (each a step behind), decoder t0 [4, 5), t1 [5, 6).
        //   backward device 1: decoder t1 t0 in [6, 8), then ∂h₀, ∂c₀ to its encoder, s2 s1 s0 in [8, 11);
        //            device 0: decoder t1 [7, 8), t0 [8, 9), encoder s2 [9, 10), s1 [10, 11), s0 [11, 12).
        // The step: 12, against 2 layers × (S + T) × 2 = 20 on one device.
        // Sequential, one thread enqueuing each whole window in turn: device 0's decoder [3, 5)
        // overlaps device 1's encoder [3, 6) (nothing links them); decoder layer 1 [6, 8); the
        // backward: decoder 1 [8, 10), decoder 0 [10, 12) beside encoder 1 [10, 13), encoder 0 [13, 16).
        let model = Self.model(layers: SimulatorTests.stages(2, forward: 1, backward: 1), shards: [], sourceSteps: 3, targetSteps: 2)
        #expect(model.totalWork == 20)
        let prediction = try PipelineSimulator.simulate(model, schedule: .wavefront(stepsPerRun: 1))
        #expect(prediction.stepTime == 12)
        #expect(prediction.busy == [10, 10])
        let sequential = try PipelineSimulator.simulate(model, schedule: .sequential)
        #expect(sequential.stepTime == 16)
    }

    @Test(arguments: [ExecutionSchedule.wavefront(stepsPerRun: 1), .wavefront(stepsPerRun: 4), .wavefront(stepsPerRun: 1, microBatches: 2)])
    func theDecoderStartsOnlyAfterItsEncoderLayersLastStep(schedule: ExecutionSchedule) throws {
        let (placement, _) = try Self.layout2014()
        let model = try TranslationPipelineModel(placement: placement, costs: { _ in Presets.h100Costs2014 },
                                                 workload: Presets.translation2014, link: Presets.pcie4)
        let prediction = try PipelineSimulator.simulate(model, schedule: schedule)
        let s = Presets.translation2014.sourceSteps
        let micro = schedule == .wavefront(stepsPerRun: 1, microBatches: 2) ? "micro-batch 0, " : ""
        func task(_ prefix: String) throws -> SimulatedTask {
            try #require(prediction.tasks.first { $0.name.hasPrefix(prefix) }, "\(prefix)")
        }
        let lastRun = schedule == .wavefront(stepsPerRun: 4) ? "\(s - s % 4 == s ? s - 4 : s - s % 4)..<\(s)" : "\(s - 1)..<\(s)"
        for l in 0..<4 {
            let encoderEnd = try task("encoder layer \(l) forward, \(micro)steps \(lastRun)")
            let decoderStart = try task("decoder layer \(l) forward, \(micro)steps 0..<")
            #expect(decoderStart.start >= encoderEnd.start + encoderEnd.duration, "layer \(l)")
        }
        // And it does not wait for the whole encoder: decoder layer 0 starts before the top encoder layer ends.
        let topEnd = try task("encoder layer 3 forward, \(micro)steps \(lastRun)")
        #expect(try task("decoder layer 0 forward, \(micro)steps 0..<").start < topEnd.start + topEnd.duration)
    }

    @Test func oneDeviceTakesTheSumOfEveryTask() throws {
        // Unequal costs, everything on device 0, free transfers: the device is never idle.
        let layers = [PipelineModel.Stage(device: 0, forward: 0.3, backward: 0.5, weightGradient: 0.2),
                      PipelineModel.Stage(device: 0, forward: 0.7, backward: 1.1, weightGradient: 0.4)]
        let shards = [PipelineModel.Stage(device: 0, forward: 1.5, backward: 0.9, weightGradient: 0.8),
                      PipelineModel.Stage(device: 0, forward: 0.5, backward: 0.4, weightGradient: 0.3)]
        let model = Self.model(layers: layers, shards: shards, sourceSteps: 5, targetSteps: 7, activationBytes: 4096, rowBytes: 64)
        let expected = 5 * (1.0 + 2.2) + 7 * (1.0 + 2.2 + 3.2 + 1.2)
        #expect(abs(model.totalWork - expected) < 1e-9)
        for schedule in [ExecutionSchedule.sequential, .wavefront(stepsPerRun: 1), .wavefront(stepsPerRun: 3, microBatches: 3)] {
            let prediction = try PipelineSimulator.simulate(model, schedule: schedule)
            #expect(abs(prediction.stepTime - expected) < 1e-9, "\(schedule)")
            #expect(abs(prediction.bubbleFraction) < 1e-12, "\(schedule)")
        }
    }

    @Test func thePapersLayoutOnEightH100sIsFasterThanOneButBelowEight() throws {
        let (placement, one) = try Self.layout2014()
        let costs = { (_: DeviceSelection) in Presets.h100Costs2014 }
        let workload = Presets.translation2014
        for link in [Presets.pcie4, Presets.nvlink4] {
            let serial = try PipelineSimulator.simulate(
                TranslationPipelineModel(placement: one, costs: costs, workload: workload, link: link), schedule: .sequential)
            let model = try TranslationPipelineModel(placement: placement, costs: costs, workload: workload, link: link)
            // One device: S steps of 4 encoder layers, T of 4 decoder layers and the softmax, a few transfers.
            let layerStep = Presets.h100Costs2014.layerWork(1), rowStep = Presets.h100Costs2014.rowWork * 80_000
            let work = Double(workload.sourceSteps) * 4 * layerStep + Double(workload.targetSteps) * (4 * layerStep + rowStep)
            #expect(abs(serial.totalWork - work) < 1e-9)
            #expect(serial.stepTime >= work && serial.stepTime < 1.01 * work)
            for schedule in [ExecutionSchedule.wavefront(stepsPerRun: 1), .wavefront(stepsPerRun: 5)] {
                let speedup = serial.stepTime / (try PipelineSimulator.simulate(model, schedule: schedule)).stepTime
                #expect(speedup > 1 && speedup < 8, "\(link.name), \(schedule): \(speedup)")
            }
        }
    }

    @Test func refusesImpossibleInput() throws {
        let workload = Presets.translation2014
        // A zero step count, each named by its flag.
        for (steps, flag) in [((0, 30), "--source-steps"), ((25, 0), "--target-steps")] {
            var bad = workload
            (bad.sourceSteps, bad.targetSteps) = steps
            #expect { try bad.validate() } throws: { "\($0)".contains(flag) }
        }
        // More layer devices than layers.
        #expect(throws: CLTrainError.self) { try Self.layout2014(layers: (0..<5).map { .openCL($0) }) }
        // Encoder and decoder layer l on different devices, and no micro-batch.
        var split = Self.model(layers: SimulatorTests.stages(2, forward: 1, backward: 1), shards: [], sourceSteps: 3, targetSteps: 2)
        #expect(throws: CLTrainError.self) { try PipelineSimulator.simulate(split, schedule: .wavefront(stepsPerRun: 1, microBatches: 0)) }
        split.encoder[1].device = 0
        #expect { try PipelineSimulator.simulate(split, schedule: .sequential) } throws: { "\($0)".contains("share one device") }
        split = Self.model(layers: SimulatorTests.stages(2, forward: 1, backward: 1), shards: [], sourceSteps: 0, targetSteps: 2)
        #expect(throws: CLTrainError.self) { try PipelineSimulator.simulate(split, schedule: .sequential) }
    }
}

@Suite("Planning the encoder–decoder")
struct TranslationPlanTests {
    @Test func theTimingModelAwaitsOnlyAMeasurement() throws {
        // The paper's layout on simulated H100s, then the same plan on the timing devices a
        // pipelined translation executor would be measured on: each schedule predicted there.
        let devices = (0..<8).map { DeviceSelection.openCL($0) }
        let request = TranslationPlanRequest(workload: Presets.translation2014, layers: 4, devices: .simulated(count: 8, costs: .pytorchH100),
                                             layerDevices: Array(devices[0..<4]), softmaxDevices: Array(devices[4..<8]),
                                             link: Presets.pcie4, schedules: [.wavefront(stepsPerRun: 5)])
        let plan = try Planner.planTranslation(request)
        #expect(plan.predictions.map(\.schedule) == [.sequential, .wavefront(stepsPerRun: 1), .wavefront(stepsPerRun: 5)])
        #expect(plan.baseline.prediction.stepTime > plan.predictions[1].stepTime)
        let (timing, configuration, predictions) = try PlanValidation.timingPredictions(plan, targetSequentialSeconds: 0.5)
        try configuration.validate()
        #expect(configuration.hiddenSize == timing.hidden && timing.hidden <= 16)
        #expect(Set(timing.devices.keys) == Set(devices))
        #expect(predictions.map(\.schedule) == plan.predictions.map(\.schedule))
        // The timing model keeps the plan's proportions: each schedule's step × the same factor,
        // up to the B-float transfers, which do not shrink with H.
        for (onTiming, planned) in zip(predictions, plan.predictions) {
            #expect(abs(onTiming.stepTime / (planned.stepTime * timing.factor) - 1) < 0.05, "\(planned.schedule)")
        }
    }
}

import Testing
@testable import CLTrain

@Suite("Pipeline simulator")
struct SimulatorTests {
    /// A link whose transfers take no time at all.
    static let instant = PipelineLink(name: "instant", bandwidth: 1e30, latency: 0)

    /// A model whose host link and device copies are both `link` (default: instant).
    static func model(layers: [PipelineModel.Stage], shards: [PipelineModel.Stage], steps: Int, activationBytes: Double = 0,
                      rowBytes: Double = 0, link: PipelineLink = instant) -> PipelineModel {
        PipelineModel(layers: layers, shards: shards, steps: steps, activationBytes: activationBytes, rowBytes: rowBytes,
                      link: link, deviceCopy: link)
    }

    /// `count` stages on devices 0..<count (or all on `sharedDevice`), each with the same costs.
    static func stages(_ count: Int, forward: Double, backward: Double, weightGradient: Double = 0,
                       firstDevice: Int = 0, sharedDevice: Int? = nil) -> [PipelineModel.Stage] {
        (0..<count).map { PipelineModel.Stage(device: sharedDevice ?? firstDevice + $0, forward: forward, backward: backward,
                                              weightGradient: weightGradient) }
    }

    @Test func oneDeviceTakesTheSumOfEveryTask() throws {
        // Unequal costs, everything on device 0: the device is never idle, so the step is the sum.
        let layers = [PipelineModel.Stage(device: 0, forward: 0.3, backward: 0.5, weightGradient: 0.2),
                      PipelineModel.Stage(device: 0, forward: 0.7, backward: 1.1, weightGradient: 0.4),
                      PipelineModel.Stage(device: 0, forward: 0.2, backward: 0.3, weightGradient: 0.1)]
        let shards = [PipelineModel.Stage(device: 0, forward: 1.5, backward: 0.9, weightGradient: 0.8),
                      PipelineModel.Stage(device: 0, forward: 0.5, backward: 0.4, weightGradient: 0.3)]
        // Free transfers: the step is the work alone, in every schedule.
        let model = Self.model(layers: layers, shards: shards, steps: 7, activationBytes: 4096, rowBytes: 64)
        let expected = 7 * (1.0 + 2.2 + 0.6 + 3.2 + 1.2)
        #expect(abs(model.totalWork - expected) < 1e-9)
        let schedules: [ExecutionSchedule] = [.sequential, .wavefront(stepsPerRun: 1), .wavefront(stepsPerRun: 3, microBatches: 3)]
        for schedule in schedules {
            let prediction = try PipelineSimulator.simulate(model, schedule: schedule)
            #expect(abs(prediction.stepTime - expected) < 1e-9, "\(schedule)")
            #expect(abs(prediction.totalWork - expected) < 1e-9)
            // The parts share the device's memory: only the split softmax's three statistics
            // per shard and step go to the host, as the runtime combines them there.
            #expect(abs(prediction.transferBytes - 2 * 3 * 64 * 7) < 1e-6, "\(schedule)")
            #expect(abs(prediction.busyFraction[0] - 1) < 1e-12)
            #expect(abs(prediction.bubbleFraction) < 1e-12)
        }
    }

    @Test func forwardWavefrontOfKEqualStagesTakesTPlusKMinusOneSteps() throws {
        // By hand, K = 3, T = 10, one unit per step: layer l does step t in [t + l, t + l + 1),
        // so the last one ends at T + K − 1 = 12; one device would take K·T = 30: speedup 2.5.
        let model = Self.model(layers: Self.stages(3, forward: 1, backward: 0), shards: [], steps: 10,
                                  activationBytes: 1000, rowBytes: 0, link: Self.instant)
        let prediction = try PipelineSimulator.simulate(model)
        #expect(prediction.stepTime == 12)
        #expect(prediction.totalWork == 30)
        #expect(prediction.busy == [10, 10, 10])
        #expect(abs(prediction.totalWork / prediction.stepTime - 2.5) < 1e-12)

        // T ≫ K: the speedup approaches K = 3 (T = 1000: 3000 / 1002).
        let long = Self.model(layers: Self.stages(3, forward: 1, backward: 0), shards: [], steps: 1000,
                                 activationBytes: 1000, rowBytes: 0, link: Self.instant)
        let longPrediction = try PipelineSimulator.simulate(long)
        #expect(longPrediction.stepTime == 1002)
        #expect(longPrediction.totalWork / longPrediction.stepTime > 2.99)
    }

    @Test func forwardAndBackwardWavefrontMirrorEachOther() throws {
        // The backward starts at the top once the forward ends there, and takes (T + K − 1)·b.
        let model = Self.model(layers: Self.stages(4, forward: 1, backward: 2), shards: [], steps: 6,
                                  activationBytes: 1000, rowBytes: 0, link: Self.instant)
        let prediction = try PipelineSimulator.simulate(model)
        #expect(prediction.stepTime == Double(6 + 4 - 1) * 3)
    }

    @Test(arguments: [0.0, 1.0])
    func theSoftmaxFinishesEachStepBeforeTheNextAndTheLayersWaitForTheLast(weightGradient: Double) throws {
        // By hand: one layer on device 0 (free forward, backward 1), one shard on device 1 (forward
        // 1, backward 1, weight gradient g), T = 4. Logits exist for one step at a time, so the
        // shard does A(t), S(t), G(t) for t = 0…3 in [0, 4·(2 + g)); the layer's backward starts
        // when the last G ends (the runtime's forward phase is over) and takes 4: the step ends at
        // 12 (g = 0) or 16 (g = 1).
        let model = Self.model(layers: [PipelineModel.Stage(device: 0, forward: 0, backward: 1, weightGradient: 0)],
                                  shards: [PipelineModel.Stage(device: 1, forward: 1, backward: 1, weightGradient: weightGradient)],
                                  steps: 4, activationBytes: 0, rowBytes: 0, link: Self.instant)
        let prediction = try PipelineSimulator.simulate(model)
        #expect(prediction.stepTime == 4 * (2 + weightGradient) + 4)
        #expect(prediction.busy == [4, 4 * (2 + weightGradient)])
    }

    @Test(arguments: [1, 2, 4, 8, 16])
    func microBatchesReproduceTheGPipeBubble(microBatches: Int) throws {
        // K equal stages, one step (T = 1), no transfer cost: (M + K − 1)·(f + b)/M, bubble (K − 1)/(M + K − 1).
        let k = 4
        let model = Self.model(layers: Self.stages(k, forward: 1, backward: 2), shards: [], steps: 1,
                                  activationBytes: 0, rowBytes: 0, link: Self.instant)
        let prediction = try PipelineSimulator.simulate(model, microBatches: microBatches)
        let m = Double(microBatches), kk = Double(k)
        #expect(abs(prediction.stepTime - (m + kk - 1) * 3 / m) < 1e-12)
        #expect(abs(prediction.bubbleFraction - (kk - 1) / (m + kk - 1)) < 1e-12)
        for fraction in prediction.busyFraction { #expect(abs(fraction - m / (m + kk - 1)) < 1e-12) }
    }

    @Test func slowerOrLaterLinksNeverSpeedUpTheStep() throws {
        func model(_ link: PipelineLink) -> PipelineModel {
            Self.model(layers: Self.stages(3, forward: 1e-4, backward: 2e-4, weightGradient: 1e-4),
                          shards: Self.stages(2, forward: 3e-4, backward: 1e-4, weightGradient: 1e-4, firstDevice: 3),
                          steps: 12, activationBytes: 512 * 1024, rowBytes: 1024, link: link)
        }
        var previous = 0.0
        for bandwidth in [1e13, 1e11, 1e10, 1e9, 1e8] {
            let time = try PipelineSimulator.simulate(model(PipelineLink(name: "", bandwidth: bandwidth, latency: 5e-6))).stepTime
            #expect(time >= previous, "bandwidth \(bandwidth): \(time) < \(previous)")
            previous = time
        }
        previous = 0
        for latency in [0, 1e-6, 1e-5, 1e-4, 1e-3] {
            let time = try PipelineSimulator.simulate(model(PipelineLink(name: "", bandwidth: 25e9, latency: latency))).stepTime
            #expect(time >= previous, "latency \(latency): \(time) < \(previous)")
            previous = time
        }
        let fast = try PipelineSimulator.simulate(model(Self.instant)).stepTime
        let slow = try PipelineSimulator.simulate(model(PipelineLink(name: "", bandwidth: 1e8, latency: 1e-3))).stepTime
        #expect(slow > 2 * fast)
    }

    @Test func transfersCountEveryBoundaryInBothDirections() throws {
        // Two layers on 0 and 1, two shards on 1 and 2: per step, 0→1 and back (2 activations),
        // layer 1 → shard on 2 and back (2), and each shard's three statistics (3 × 64 bytes) go
        // to the host; the shard on device 1 shares layer 1's memory and sends no activation.
        let layers = Self.stages(2, forward: 1, backward: 1)
        let shards = [PipelineModel.Stage(device: 1, forward: 1, backward: 1, weightGradient: 0),
                      PipelineModel.Stage(device: 2, forward: 1, backward: 1, weightGradient: 0)]
        let model = Self.model(layers: layers, shards: shards, steps: 5, activationBytes: 1000, rowBytes: 64,
                                  link: Presets.nvlink4)
        let prediction = try PipelineSimulator.simulate(model)
        #expect(prediction.transferBytes == 5 * (4 * 1000 + 6 * 64))
        let sent: [Double] = [5 * 1000, 5 * (1000 + 1000 + 3 * 64), 5 * (1000 + 3 * 64)]
        #expect(prediction.bytesSent == sent)
        // Micro-batches move the same bytes in smaller pieces.
        #expect(abs(try PipelineSimulator.simulate(model, microBatches: 4).transferBytes - prediction.transferBytes) < 1e-6)
    }

    @Test func sharingADeviceSerializesItsStages() throws {
        // Four layers, two per device: each device does 2 units per step.
        let layers = [0, 0, 1, 1].map { PipelineModel.Stage(device: $0, forward: 1, backward: 0, weightGradient: 0) }
        let model = Self.model(layers: layers, shards: [], steps: 20, activationBytes: 0, rowBytes: 0,
                                  link: Self.instant)
        let prediction = try PipelineSimulator.simulate(model)
        #expect(prediction.busy == [40, 40])
        #expect(prediction.stepTime >= 40 && prediction.stepTime <= 44)
    }

    @Test func modelFromAPlacementCostsEachPartOnItsDevice() throws {
        let placement = try Placement.manual(layerDevices: [.openCL(0), .openCL(1)], softmaxDevices: [.openCL(1), .openCL(2)],
                                             layers: 2, vocabularySize: 7, availableDevices: [.openCL(0), .openCL(1), .openCL(2)])
        let costs = DeviceCosts(layerForward: 1, layerBackward: 2, layerWeightGradient: 3, firstLayerForward: 4,
                                firstLayerBackward: 5, firstLayerWeightGradient: 6, decoderForwardPerRow: 0.1,
                                decoderBackwardPerRow: 0.2, decoderWeightGradientPerRow: 0.3, hostBandwidth: 1e9)
        let shape = WorkloadShape(batch: 8, hidden: 16, embedding: 8, vocabulary: 7, steps: 3)
        let model = try PipelineModel(placement: placement, costs: { _ in costs }, shape: shape, link: Presets.pcie4)
        #expect(model.layers == [PipelineModel.Stage(device: 0, forward: 4, backward: 5, weightGradient: 6),
                                 PipelineModel.Stage(device: 1, forward: 1, backward: 2, weightGradient: 3)])
        #expect(model.shards.map(\.device) == [1, 2])
        #expect(abs(model.shards[0].forward - 0.4) < 1e-12)   // rows 0..<4
        #expect(abs(model.shards[1].weightGradient - 0.9) < 1e-12)   // rows 4..<7
        #expect(model.activationBytes == 8 * 16 * 4)
        #expect(model.rowBytes == 8 * 4)
        #expect(model.steps == 3)
    }

    @Test func the2014LayoutOnEightH100sWithHostStagedTransfers() throws {
        // The question: 4 × 1000 layers, one per device, the 80 000-word softmax over 4 more,
        // as the runtime runs it: every activation is downloaded and uploaded, blocking its thread.
        let shape = Presets.shape2014
        let devices = (0..<8).map { DeviceSelection.openCL($0) }
        let placement = try Placement.manual(layerDevices: Array(devices[0..<4]), softmaxDevices: Array(devices[4..<8]),
                                             layers: 4, vocabularySize: shape.vocabulary, availableDevices: devices)
        let one = try Placement.singleDevice(devices[0], layers: 4, vocabularySize: shape.vocabulary)
        var speedups: [Double] = []
        for link in [Presets.pcie4, Presets.nvlink4] {
            let costs = { (_: DeviceSelection) in Presets.h100Costs2014 }
            let serial = try PipelineSimulator.simulate(PipelineModel(placement: one, costs: costs, shape: shape, link: link),
                                                        schedule: .sequential)
            let pipelined = try PipelineSimulator.simulate(PipelineModel(placement: placement, costs: costs, shape: shape, link: link))
            // One device: 4 × 10.3 ms of LSTM + 66.3 ms of softmax and the rest, plus its few transfers.
            #expect(abs(serial.totalWork - 107.5e-3) < 1e-6)
            #expect(serial.stepTime > serial.totalWork && serial.stepTime < 1.01 * serial.totalWork)
            let speedup = serial.stepTime / pipelined.stepTime
            // The busiest device (a softmax shard, 66.3 / 4 ms) bounds it from above.
            #expect(speedup > 2 && speedup < 107.5 / (66.3 / 4), "\(link.name): \(speedup)")
            speedups.append(speedup)
        }
        // Blocking transfers sit on the critical path: a slower host link costs speed.
        #expect(speedups[0] < speedups[1])
    }

    @Test func rejectsImpossibleInput() {
        let model = Self.model(layers: Self.stages(2, forward: 1, backward: 1), shards: [], steps: 3,
                                  activationBytes: 0, rowBytes: 0, link: Self.instant)
        #expect(throws: CLTrainError.self) { try PipelineSimulator.simulate(model, microBatches: 0) }
        var negative = model
        negative.layers[1].backward = -1
        #expect(throws: CLTrainError.self) { try PipelineSimulator.simulate(negative) }
        var noLink = model
        noLink.link.bandwidth = 0
        #expect(throws: CLTrainError.self) { try PipelineSimulator.simulate(noLink) }
    }
}

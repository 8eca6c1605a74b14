import Testing
@testable import CLTrain

/// The simulator checked against the runtime it models: the real executors on timing devices.
@Suite("Simulator against the runtime on timing devices", .serialized)
struct PlanValidationTests {
    /// One layer on device 0, the softmax on device 1, PyTorch's H100 costs carried to a small shape.
    static func plan() throws -> Plan {
        let shape = WorkloadShape(batch: 8, hidden: 64, embedding: 64, vocabulary: 300, steps: 4)
        return try Planner.plan(PlanRequest(shape: shape, layers: 1, devices: .simulated(count: 2, costs: .pytorchH100),
                                            placement: .manual(layers: [.openCL(0)], softmax: [.openCL(1)]),
                                            link: Presets.pcie4))
    }

    /// The bound is 25 %, though runs here agree within a few %: the model leaves out host work
    /// between operations and thread wake-ups (tens of µs each, a handful per task), which only
    /// lengthen the measured step, and a loaded 2-core machine can delay a wake-up by a few ms. With
    /// a 200 ms step of a few dozen tasks that stays well under 25 %; the fastest of three steps
    /// counts, since load only ever adds time. A schedule the simulator got wrong (a missed
    /// transfer, the wrong order) is off by far more: the two schedules here differ by 40 %.
    @Test func predictionAndMeasurementAgreeOnTwoDevices() throws {
        let plan = try Self.plan()
        let rows = try PlanValidation.validate(plan, targetSequentialSeconds: 0.2, measuredSteps: 3)
        #expect(rows.map(\.schedule) == [.sequential, .wavefront(stepsPerRun: 1)])
        for row in rows {
            let error = abs(row.fastestStepTime - row.predicted.stepTime) / row.predicted.stepTime
            #expect(error < 0.25, "\(row.schedule): predicted \(row.predicted.stepTime) s, measured \(row.fastestStepTime) s")
            // Busy time is what the cost table charged: the same sums as the simulator's.
            for (predicted, measured) in zip(row.predicted.busy, row.measuredBusy) {
                #expect(abs(predicted - measured) <= 1e-3 * max(predicted, 1e-3), "\(row.schedule): busy \(predicted) vs \(measured)")
            }
        }
    }

    /// The encoder–decoder the same way: two layers on devices 0 and 1, the softmax split over 2
    /// and 3, the translation executors (sequential, and the wavefront with K 1 and K 2 over two
    /// micro-batches) on timing devices against the simulator's translation graph. The bound and
    /// its reasons are the language model's; the schedules here differ by far more than 25 %.
    @Test func theTranslationExecutorsAgreeWithTheirPredictionOnFourDevices() throws {
        let workload = TranslationWorkload(batch: 8, hidden: 64, embedding: 64, sourceVocabulary: 200, targetVocabulary: 300,
                                           sourceSteps: 4, targetSteps: 5)
        let devices = (0..<4).map { DeviceSelection.openCL($0) }
        let plan = try Planner.planTranslation(TranslationPlanRequest(
            workload: workload, layers: 2, devices: .simulated(count: 4, costs: .pytorchH100), layerDevices: Array(devices[0..<2]),
            softmaxDevices: Array(devices[2..<4]), link: Presets.pcie4, schedules: [.wavefront(stepsPerRun: 2, microBatches: 2)]))
        let rows = try PlanValidation.validate(plan, targetSequentialSeconds: 0.2, measuredSteps: 3)
        #expect(rows.map(\.schedule) == [.sequential, .wavefront(stepsPerRun: 1), .wavefront(stepsPerRun: 2, microBatches: 2)])
        for row in rows {
            let error = abs(row.fastestStepTime - row.predicted.stepTime) / row.predicted.stepTime
            #expect(error < 0.25, "\(row.schedule): predicted \(row.predicted.stepTime) s, measured \(row.fastestStepTime) s")
            for (predicted, measured) in zip(row.predicted.busy, row.measuredBusy) {
                #expect(abs(predicted - measured) <= 1e-3 * max(predicted, 1e-3), "\(row.schedule): busy \(predicted) vs \(measured); \(row.predicted.busy) vs \(row.measuredBusy)")
            }
        }
    }

    @Test func timingDevicesSleepTheirCostsAndHoldNoData() throws {
        let costs = DeviceCosts(layerForward: 0.01, layerBackward: 0.02, layerWeightGradient: 0, firstLayerForward: 0.01,
                                firstLayerBackward: 0.02, firstLayerWeightGradient: 0, decoderForwardPerRow: 0,
                                decoderBackwardPerRow: 0, decoderWeightGradientPerRow: 0, hostBandwidth: 1e9)
        let table = try TimingCosts(costs: costs, batch: 4, hidden: 2, link: PipelineLink(name: "link", bandwidth: 1e9, latency: 0.005),
                                    deviceCopy: PipelineLink(name: "copy", bandwidth: 1e12, latency: 0))
        let device = TimingDevice(name: "t", costs: table)
        let backend = TimingBackend(device: device)
        let gates = try backend.makeTensor([4, 8], filledWith: 1)
        let (c0, c, h) = (try backend.makeTensor([4, 2], filledWith: 0), try backend.makeTensor([4, 2], filledWith: 0),
                          try backend.makeTensor([4, 2], filledWith: 0))
        let start = WallClock.now
        try backend.lstmCellForward(gates: gates, cellPrevious: c0, cell: c, hidden: h)   // 10 ms, enqueued
        let values = try backend.download(h)                                               // waits, then 5 ms
        // Sleeping never ends early; the busy time is exactly what the table charged.
        #expect(WallClock.seconds(since: start) >= 0.015 - 1e-4)
        #expect(abs(device.busySeconds - (0.01 + 0.005 + 32 / 1e9)) < 1e-6)
        #expect(values == [Float](repeating: 0, count: 8))
        // Tensors belong to their device, as on any backend.
        let other = TimingBackend(device: TimingDevice(name: "u", costs: table))
        #expect(throws: CLTrainError.self) { try other.download(h) }
        #expect(throws: CLTrainError.self) { try backend.lstmCellForward(gates: gates, cellPrevious: c0, cell: c, hidden: gates) }
    }
}

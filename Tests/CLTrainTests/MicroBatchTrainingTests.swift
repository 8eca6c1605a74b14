import Foundation
import Testing
@testable import CLTrain

/// The wavefront with micro-batches (GPipe): the batch split into M groups of sequences whose runs
/// interleave in the pipeline trains exactly as one device does.
///
/// A batch of 6 sequences (M = 2 and 3 divide it), dropout on, 3 steps of Adam and a validation
/// pass, compared with one CPU backend by the project's tolerance rule.
struct MicroBatchTrainingTests {
    static let batch = 6

    /// (layer devices, softmax devices), as in `MultiDeviceTrainingTests.pipelinePlacements`: the
    /// softmax whole and split (over its own devices and with the layers' workers).
    static let placements: [([Int], [Int])] = [
        ([0, 1], [1]),             // 2 devices; the softmax with the top layer
        ([0, 1], [1, 0]),          // 2 devices, split; one shard interleaved with layer 0's units
        ([0, 1, 2], [3]),          // 4 devices, the softmax on its own
        ([0, 1, 2], [3, 0]),       // 4 devices, split
        ([0, 1, 2], [3, 4, 5]),    // split in three, each shard on a backend of its own
    ]

    static func reference(layers: Int) throws -> MultiDeviceTrainingTests.Outcome {
        try MultiDeviceTrainingTests.run(nil, backend: CPUBackend(), layers: layers, batch: batch)
    }

    @Test(arguments: placements.indices, [(1, 2), (2, 2), (1, 3), (2, 3)])
    func microBatchedWavefrontOnCPUBackendsEqualsOneBackend(placement: Int, shape: (stepsPerRun: Int, microBatches: Int))
        throws {
        let p = Self.placements[placement]
        let backends: [Backend] = (0..<6).map { _ in CPUBackend() }
        let devices = MultiDeviceTrainingTests.devices(p, backends, vocabularySize: try SmallRun().vocabulary.count)
        let result = try MultiDeviceTrainingTests.run(devices, backend: backends[0], layers: p.0.count, batch: Self.batch,
                                                      schedule: .wavefront(stepsPerRun: shape.stepsPerRun,
                                                                           microBatches: shape.microBatches))
        MultiDeviceTrainingTests().expectSame(result, try Self.reference(layers: p.0.count),
            "wavefront, \(shape.microBatches) micro-batches, \(shape.stepsPerRun) steps a run, CPU placement \(p)",
            batch: Self.batch)
    }

    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2,
                   "fewer than two OpenCL devices: micro-batched OpenCL training skipped (POCL_DEVICES=\"pthread pthread\" gives two)"),
          arguments: placements.indices, [2, 3])
    func microBatchedWavefrontOnOpenCLDevicesEqualsOneBackend(placement: Int, microBatches: Int) throws {
        let p = Self.placements[placement]
        let available = DeviceRegistry.shared.openCLDevices.count
        let backends = try MultiDeviceTrainingTests.openCLBackends(6)
        let devices = MultiDeviceTrainingTests.devices(p, backends, vocabularySize: try SmallRun().vocabulary.count)
        let result = try MultiDeviceTrainingTests.run(devices, backend: backends[0], layers: p.0.count, batch: Self.batch,
                                                      schedule: .wavefront(stepsPerRun: 2, microBatches: microBatches))
        MultiDeviceTrainingTests().expectSame(result, try Self.reference(layers: p.0.count),
            "wavefront, \(microBatches) micro-batches, OpenCL placement \(p) on \(available) devices", batch: Self.batch)
    }

    /// M must be positive and divide B; the error names both, and nothing has run.
    @Test(arguments: [0, -1, 4, 7])
    func aBatchThatMicroBatchesDoNotDivideIsRefused(microBatches: Int) throws {
        let run = try SmallRun(batch: Self.batch, bptt: 5, hidden: 12, layers: 2)
        let model = try LanguageModel(configuration: run.configuration,
                                      devices: MultiDeviceTrainingTests.devices(([0, 1], [1]), [CPUBackend(), CPUBackend()],
                                                                                vocabularySize: run.vocabulary.count))
        let executor = WavefrontExecutor(model: model, stepsPerRun: 1, microBatches: microBatches)
        do {
            _ = try executor.trainingStep(run.train.window(0))
            Issue.record("\(microBatches) micro-batches of a batch of \(Self.batch) were accepted")
        } catch let error as CLTrainError {
            #expect("\(error)".contains("batch of \(Self.batch) sequences cannot be split into \(microBatches)"), "\(error)")
        }
    }

    /// The micro-batch-major layout: micro-batch m's rows of a run are contiguous, and reordering
    /// moves sequence m·B' + b' at step t to row m·T·B' + t·B' + b'.
    @Test func theLayoutKeepsEachMicroBatchsRunsContiguous() throws {
        let layout = try MicroBatchLayout(steps: 3, batch: 4, microBatches: 2)
        // Time-major values: 10·t + b.
        let timeMajor = (0..<3).flatMap { t in (0..<4).map { b in 10 * t + b } }
        #expect(layout.reordered(timeMajor) == [0, 1, 10, 11, 20, 21, 2, 3, 12, 13, 22, 23])
        #expect(layout.rows(1, 1..<3) == 8..<12)
        #expect(layout.stateRows(1) == 2..<4)
        let single = try MicroBatchLayout(steps: 3, batch: 4)
        #expect(single.reordered(timeMajor) == timeMajor && single.rows(0, 1..<3) == 4..<12)
    }

    /// The units go micro-batch by micro-batch: layer l takes unit u = m·R + r at slot u + l, and a
    /// shard's units follow at slot u + L.
    @Test func aWorkerTakesTheMicroBatchesOneAfterAnother() throws {
        let run = try SmallRun(layers: 2)
        let model = try LanguageModel(configuration: run.configuration,
                                      devices: MultiDeviceTrainingTests.devices(([0, 1], [1, 0]), [CPUBackend(), CPUBackend()],
                                                                                vocabularySize: run.vocabulary.count))
        let executor = WavefrontExecutor(model: model, stepsPerRun: 1)
        let workers = try executor.pipelineWorkers()
        typealias T = WavefrontExecutor.ForwardTask
        // Worker 0: layer 0 (slots 0, 1, 2, 3) and shard 1 (slots 2, 3, 4, 5).
        #expect(executor.forwardTasks(for: workers[0], runs: 2, microBatches: 2, training: false) == [
            T(kind: .layer, index: 0, microBatch: 0, run: 0), T(kind: .layer, index: 0, microBatch: 0, run: 1),
            T(kind: .layer, index: 0, microBatch: 1, run: 0), T(kind: .statistics, index: 1, microBatch: 0, run: 0),
            T(kind: .layer, index: 0, microBatch: 1, run: 1), T(kind: .statistics, index: 1, microBatch: 0, run: 1),
            T(kind: .statistics, index: 1, microBatch: 1, run: 0), T(kind: .statistics, index: 1, microBatch: 1, run: 1),
        ])
        // Backward: micro-batch 0's runs from the last, then micro-batch 1's (units m·R + r, R = 3).
        let units = WavefrontExecutor.PipelineUnits(layout: try MicroBatchLayout(steps: 5, batch: 6, microBatches: 2),
                                                    runs: WavefrontExecutor.runs(steps: 5, stepsPerRun: 2))
        #expect(WavefrontExecutor.backwardUnits(units) == [2, 1, 0, 5, 4, 3])
    }

    /// No barrier between the phases: with M = 2 the top layer starts micro-batch 0's backward while
    /// the softmax, on a device of its own, still holds micro-batch 1's last run. With M = 1 the
    /// top layer's first backward run needs that very run, so it cannot start: the check can fail.
    @Test(arguments: [(2, true), (1, false)])
    func theBackwardOfOneMicroBatchOverlapsTheSoftmaxOfTheNext(microBatches: Int, overlaps: Bool) throws {
        let run = try SmallRun(batch: Self.batch, bptt: 5, hidden: 12, layers: 2)
        let topStarted = DispatchSemaphore(value: 0)
        let top = ObservedBackend(onFirstLSTMBackward: { topStarted.signal() })
        let units = microBatches * 3   // runs of 2 steps of 5
        var sawOverlap = false
        // The fused softmax runs once per unit: hold the window's last unit until the top layer's
        // backward has begun (or a timeout passes).
        let softmax = ObservedBackend(onSoftmax: { call in
            guard call == units else { return }
            sawOverlap = topStarted.wait(timeout: .now() + (overlaps ? 20 : 1)) == .success
        })
        let model = try LanguageModel(configuration: run.configuration,
                                      devices: MultiDeviceTrainingTests.devices(([0, 1], [2]), [CPUBackend(), top, softmax],
                                                                                vocabularySize: run.vocabulary.count))
        let executor = WavefrontExecutor(model: model, stepsPerRun: 2, microBatches: microBatches)
        _ = try executor.trainingStep(run.train.window(0))
        #expect(sawOverlap == overlaps)
    }
}

/// The CPU backend, telling the test when the LSTM backward first runs and each time the fused
/// softmax does (from the worker that drives it).
final class ObservedBackend: ForwardingBackend, @unchecked Sendable {
    let base: Backend = CPUBackend()
    private let onFirstLSTMBackward: () -> Void
    private let onSoftmax: (Int) -> Void
    private var lstmBackwardCalls = 0, softmaxCalls = 0

    init(onFirstLSTMBackward: @escaping () -> Void = {}, onSoftmax: @escaping (Int) -> Void = { _ in }) {
        self.onFirstLSTMBackward = onFirstLSTMBackward
        self.onSoftmax = onSoftmax
    }

    var name: String { "observed cpu" }

    func lstmCellBackward(gates: Tensor, cellPrevious: Tensor, cell: Tensor, hiddenGradient: Tensor,
                          cellGradient: Tensor?, gatesGradient: Tensor, cellPreviousGradient: Tensor) throws {
        lstmBackwardCalls += 1
        if lstmBackwardCalls == 1 { onFirstLSTMBackward() }
        try base.lstmCellBackward(gates: gates, cellPrevious: cellPrevious, cell: cell, hiddenGradient: hiddenGradient,
                                  cellGradient: cellGradient, gatesGradient: gatesGradient,
                                  cellPreviousGradient: cellPreviousGradient)
    }

    func softmaxCrossEntropy(logits: Tensor, targets: IndexTensor, ignoreIndex: Int32, losses: Tensor,
                             gradient: Tensor?, gradientScale: Float) throws {
        softmaxCalls += 1
        onSoftmax(softmaxCalls)
        try base.softmaxCrossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex, losses: losses,
                                     gradient: gradient, gradientScale: gradientScale)
    }
}

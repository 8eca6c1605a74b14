/// One schedule of `PlanValidation`: the simulator's prediction and the runtime's measurement
/// on timing devices with the same costs.
public struct ValidationRow: Sendable {
    public var schedule: ExecutionSchedule
    /// On the timing model (seconds of sleep, as measured).
    public var predicted: PipelinePrediction
    /// The median measured step.
    public var measuredStepTime: Double
    /// The fastest measured step.
    public var fastestStepTime: Double
    /// Per device of the placement: seconds busy in the measured step.
    public var measuredBusy: [Double]
    /// e.g. "B 128, H 16, E 16, V 80000, T 50; costs × 2.79, host link 26.8 MB/s + 27.9 µs".
    public var modelDescription: String
    /// The median measured step's trace (host workers and timing devices, 0 µs at its start),
    /// when `validate` was asked to trace.
    public var measuredTrace: TraceRecorder?
    /// The timing devices' names, per device number of the placement ("timing:0"), as the
    /// measured trace's device tracks name them.
    public var deviceNames: [String] = []

    /// (measured − predicted) / predicted, in %.
    public var errorPercent: Double { predicted.stepTime > 0 ? (measuredStepTime - predicted.stepTime) / predicted.stepTime * 100 : 0 }
    public var measuredBusyFraction: [Double] { measuredBusy.map { measuredStepTime > 0 ? $0 / measuredStepTime : 0 } }
}

/// Checks the simulator against the runtime it models: the plan's placement runs on the real
/// executors over timing devices (`TimingBackend`) that sleep what the plan's costs say, and each
/// schedule's measured step is compared with the simulator's prediction for the same costs.
///
/// The timing model keeps the plan's B, V, T and placement and shrinks H and E to at most 16
/// (timing tensors hold no data, but the host still draws the initial weights and allocates
/// what downloads return), so an activation is H'/H as large: the host link's bandwidth is scaled
/// by the same ratio, keeping each activation's transfer as long as in the plan. Every time is then
/// multiplied by one factor so that the sequential step sleeps `targetSequentialSeconds`: long
/// enough that thread wake-ups (tens of µs) are small against each task. The B-float transfers
/// (statistics, indices) do not shrink, so they cost H/H' times the plan's: the same in prediction
/// and measurement.
public enum PlanValidation {
    public static func validate(_ plan: Plan, targetSequentialSeconds: Double = 0.3, measuredSteps: Int = 3,
                                tracing: Bool = false) throws -> [ValidationRow] {
        let shape = plan.request.shape
        let timing = try TimingModel(placement: plan.placement, pool: plan.pool, predictions: plan.predictions, batch: shape.batch,
                                     hidden: shape.hidden, link: plan.model.link, deviceCopy: plan.model.deviceCopy,
                                     targetSequentialSeconds: targetSequentialSeconds)
        let miniature = WorkloadShape(batch: shape.batch, hidden: timing.hidden, embedding: timing.hidden, vocabulary: shape.vocabulary,
                                      steps: shape.steps)
        let model = try PipelineModel(placement: plan.placement, costs: timing.costs, shape: miniature, link: timing.link,
                                      deviceCopy: timing.deviceCopy, sharesMemory: { _ in false })
        let configuration = ModelConfiguration(vocabularySize: shape.vocabulary, embeddingSize: timing.hidden, hiddenSize: timing.hidden,
                                               layers: plan.placement.layers.count)
        let description = timing.description(of: "\(miniature)")
        return try plan.predictions.map(\.schedule).map { schedule in
            let predicted = try PipelineSimulator.simulate(model, schedule: schedule)
            let measured = try TimingRun.measure(placement: plan.placement, on: timing.devices, configuration: configuration,
                                                 batch: shape.batch, steps: shape.steps, schedule: schedule,
                                                 measuredSteps: measuredSteps, tracing: tracing)
            return ValidationRow(schedule: schedule, predicted: predicted, measuredStepTime: measured.stepSeconds,
                                 fastestStepTime: measured.fastestSeconds,
                                 measuredBusy: measured.busySeconds, modelDescription: description, measuredTrace: measured.trace,
                                 deviceNames: plan.placement.devices.map { "timing:\($0.description)" })
        }
    }

    /// The encoder–decoder's validation, as `validate(_: Plan, …)`: the plan's placement runs the
    /// translation executors (`TranslationExecutor`, `TranslationWavefrontExecutor`) over timing
    /// devices with the plan's costs, on B sentence pairs of S source and T target tokens (no
    /// padding, as the simulator's windows), each schedule's step against its prediction there.
    public static func validate(_ plan: TranslationPlan, targetSequentialSeconds: Double = 0.3, measuredSteps: Int = 3,
                                tracing: Bool = false) throws -> [ValidationRow] {
        let (timing, configuration, predictions) = try timingPredictions(plan, targetSequentialSeconds: targetSequentialSeconds)
        let workload = plan.request.workload
        let description = timing.description(of: "B \(workload.batch), H \(timing.hidden), E \(timing.hidden), source V "
                                             + "\(workload.sourceVocabulary), target V \(workload.targetVocabulary), S \(workload.sourceSteps), "
                                             + "T \(workload.targetSteps)")
        return try predictions.map { predicted in
            let measured = try TimingRun.measure(placement: plan.placement, on: timing.devices, configuration: configuration,
                                                 batch: workload.batch, sourceSteps: workload.sourceSteps,
                                                 targetSteps: workload.targetSteps, schedule: predicted.schedule,
                                                 measuredSteps: measuredSteps, tracing: tracing)
            return ValidationRow(schedule: predicted.schedule, predicted: predicted, measuredStepTime: measured.stepSeconds,
                                 fastestStepTime: measured.fastestSeconds, measuredBusy: measured.busySeconds,
                                 modelDescription: description, measuredTrace: measured.trace,
                                 deviceNames: plan.placement.devices.map { "timing:\($0.description)" })
        }
    }

    /// The encoder–decoder's plan on the timing devices its validation runs (H' ≤ 16, costs scaled
    /// so that its sequential step sleeps `targetSequentialSeconds`), the translation configuration
    /// run there, and the simulator's prediction there for each of the plan's schedules.
    public static func timingPredictions(_ plan: TranslationPlan, targetSequentialSeconds: Double = 0.3) throws
        -> (timing: TimingModel, configuration: TranslationConfiguration, predictions: [PipelinePrediction]) {
        let workload = plan.request.workload
        let timing = try TimingModel(placement: plan.placement, pool: plan.pool, predictions: plan.predictions, batch: workload.batch,
                                     hidden: workload.hidden, link: plan.model.decoder.link, deviceCopy: plan.model.decoder.deviceCopy,
                                     targetSequentialSeconds: targetSequentialSeconds)
        var miniature = workload
        (miniature.hidden, miniature.embedding) = (timing.hidden, timing.hidden)
        let model = try TranslationPipelineModel(placement: plan.placement, costs: timing.costs, workload: miniature, link: timing.link,
                                                 deviceCopy: timing.deviceCopy, sharesMemory: { _ in false })
        let configuration = TranslationConfiguration(sourceVocabularySize: workload.sourceVocabulary,
                                                     targetVocabularySize: workload.targetVocabulary, embeddingSize: timing.hidden,
                                                     hiddenSize: timing.hidden, layers: plan.placement.layers.count)
        return (timing, configuration, try plan.predictions.map { try PipelineSimulator.simulate(model, schedule: $0.schedule) })
    }

    /// The timing devices a plan is validated on: one `TimingDevice` per device of the placement,
    /// sleeping the plan's costs × `factor` at H' ≤ 16, over links scaled so that each activation's
    /// transfer lasts as long as in the plan.
    public struct TimingModel: Sendable {
        /// Every time is multiplied by it, so that the plan's sequential step sleeps the target.
        public let factor: Double
        /// H' (and E'): at most 16.
        public let hidden: Int
        public let link: PipelineLink
        public let deviceCopy: PipelineLink
        let tables: [DeviceSelection: TimingCosts]
        public let devices: [DeviceSelection: TimingDevice]

        init(placement: Placement, pool: DevicePool, predictions: [PipelinePrediction], batch: Int, hidden planHidden: Int,
             link planLink: PipelineLink, deviceCopy planDeviceCopy: PipelineLink, targetSequentialSeconds: Double) throws {
            guard let sequential = predictions.first(where: { $0.schedule == .sequential }), sequential.stepTime > 0,
                  targetSequentialSeconds > 0, targetSequentialSeconds.isFinite else {
                throw CLTrainError.invalidArgument("validation needs a plan with a positive sequential step and a positive target")
            }
            let factor = targetSequentialSeconds / sequential.stepTime
            // H' ≤ 16, and never 4H' rows in a shard: the timing table tells a layer's products by their 4H side.
            var hidden = min(planHidden, 16)
            while placement.softmaxShards.contains(where: { $0.rows.count == 4 * hidden }) { hidden += 1 }
            let ratio = Double(hidden) / Double(planHidden)
            let scaled = { (link: PipelineLink) in
                PipelineLink(name: link.name, bandwidth: link.bandwidth * ratio / factor, latency: link.latency * factor)
            }
            let (link, deviceCopy) = (scaled(planLink), scaled(planDeviceCopy))
            var tables: [DeviceSelection: TimingCosts] = [:], devices: [DeviceSelection: TimingDevice] = [:]
            for device in placement.devices {
                let table = try TimingCosts(costs: pool.costs(of: device).scaled(by: factor), batch: batch, hidden: hidden,
                                            link: link, deviceCopy: deviceCopy)
                tables[device] = table
                devices[device] = TimingDevice(name: device.description, costs: table)
            }
            (self.factor, self.hidden, self.link, self.deviceCopy, self.tables, self.devices) = (factor, hidden, link, deviceCopy, tables, devices)
        }

        /// What a timing device realises for `device`: the costs the simulator takes on the timing model.
        public func costs(_ device: DeviceSelection) throws -> DeviceCosts {
            guard let table = tables[device] else { throw CLTrainError.deviceNotFound("no timing device for \(device)") }
            return table.realizedCosts
        }

        /// e.g. "B 128, H 16, E 16, V 80000, T 50; costs × 2.79, host link 26.8 MB/s + 27.9 µs per transfer".
        func description(of shape: String) -> String {
            "\(shape); costs × \(String(format: "%.3g", factor)), host link \(PlanValidation.formatBandwidth(link.bandwidth)) + "
                + "\(formatSeconds(link.latency)) per transfer"
        }
    }

    static func formatBandwidth(_ bytesPerSecond: Double) -> String {
        bytesPerSecond >= 1e9 ? String(format: "%.1f GB/s", bytesPerSecond / 1e9) : String(format: "%.1f MB/s", bytesPerSecond / 1e6)
    }
}

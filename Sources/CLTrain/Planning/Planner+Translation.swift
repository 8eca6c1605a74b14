/// What `Planner.planTranslation` is asked: the encoder–decoder's batch, its layout (layer l of
/// both stacks on `layerDevices[l]`, the target vocabulary split over `softmaxDevices`) and the
/// devices and schedules, as for the language model.
public struct TranslationPlanRequest: Sendable {
    public var workload: TranslationWorkload
    /// L: layers per stack.
    public var layers: Int
    public var devices: PlanDevices
    public var layerDevices: [DeviceSelection]
    /// Nil: one shard on the last layer's device.
    public var softmaxDevices: [DeviceSelection]?
    public var link: PipelineLink
    /// Schedules to predict besides the sequential one and the plain wavefront.
    public var schedules: [ExecutionSchedule]
    public var recalibrate: Bool
    public var calibrationBudget: Double

    public init(workload: TranslationWorkload, layers: Int, devices: PlanDevices, layerDevices: [DeviceSelection],
                softmaxDevices: [DeviceSelection]?, link: PipelineLink, schedules: [ExecutionSchedule] = [],
                recalibrate: Bool = false, calibrationBudget: Double = 2) {
        self.workload = workload
        self.layers = layers
        self.devices = devices
        self.layerDevices = layerDevices
        self.softmaxDevices = softmaxDevices
        self.link = link
        self.schedules = schedules
        self.recalibrate = recalibrate
        self.calibrationBudget = calibrationBudget
    }

    /// The same question for the decoder as a language model: its pool, costs and placement are
    /// the encoder–decoder's (an encoder layer costs per step what the decoder layer of its index does).
    public var decoderRequest: PlanRequest {
        PlanRequest(shape: workload.decoderShape, layers: layers, devices: devices,
                    placement: .manual(layers: layerDevices, softmax: softmaxDevices), link: link, schedules: schedules,
                    recalibrate: recalibrate, calibrationBudget: calibrationBudget)
    }
}

/// A planned encoder–decoder layout and what the simulator predicts for it.
public struct TranslationPlan: Sendable {
    public var request: TranslationPlanRequest
    public var pool: DevicePool
    public var placement: Placement
    public var model: TranslationPipelineModel
    /// The fastest single device running the whole encoder–decoder (sequential), for speedups.
    public var baseline: (device: DeviceSelection, prediction: PipelinePrediction)
    /// The layout under `.sequential`, `.wavefront(stepsPerRun: 1)` and each requested schedule.
    public var predictions: [PipelinePrediction]
    /// CPU devices of this host the layout uses (see `Plan.hostDevices`).
    public var hostDevices: [DeviceSelection]

    public func name(of device: DeviceSelection) -> String { pool.names[device] ?? device.description }
}

extension Planner {
    /// Plans the encoder–decoder: the pool and the manual placement as for the language model at
    /// the decoder's shape, then the encoder–decoder's graph under each schedule
    /// (`PipelineSimulator+Translation.swift`), and the fastest device alone for the speedup.
    ///
    /// Validation on timing devices (`PlanValidation.validate(_: TranslationPlan, …)`) runs the
    /// translation executors there; the model takes timing costs as it takes these.
    public static func planTranslation(_ request: TranslationPlanRequest, registry: DeviceRegistry = .shared) throws -> TranslationPlan {
        let workload = request.workload
        try workload.validate()
        let decoderRequest = request.decoderRequest
        for case .wavefront(_, let m) in decoderRequest.schedules { try checkMicroBatches(m, batch: workload.batch) }
        let (pool, placement) = try placedPool(decoderRequest, registry: registry)
        let memory = sharesMemory(simulated: pool.simulated)
        let model = try TranslationPipelineModel(placement: placement, costs: pool.costs(of:), workload: workload,
                                                 link: request.link, sharesMemory: memory)
        let predictions = try schedules(decoderRequest).map { try PipelineSimulator.simulate(model, schedule: $0) }
        let baseline = try fastestSingleDevice(placement.devices + pool.devices, layers: request.layers,
                                               vocabularySize: workload.targetVocabulary) { single in
            try PipelineSimulator.simulate(
                TranslationPipelineModel(placement: single, costs: pool.costs(of:), workload: workload, link: request.link,
                                         sharesMemory: memory),
                schedule: .sequential)
        }
        return TranslationPlan(request: request, pool: pool, placement: placement, model: model, baseline: baseline,
                               predictions: predictions, hostDevices: hostDevices(placement, pool: pool, registry: registry))
    }
}

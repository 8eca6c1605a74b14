/// Where a plan's devices and their costs come from.
public enum PlanDevices: Sendable, Equatable {
    /// These devices (nil: `CLTRAIN_DEVICES`'s default selection), each calibrated (identical ones once).
    case selected([DeviceSelection]?)
    /// N identical simulated devices, numbered opencl 0..<N, with `SimulatedCosts`.
    case simulated(count: Int, costs: SimulatedCosts)
}

/// The costs of simulated devices.
public enum SimulatedCosts: Sendable, Equatable {
    /// Those of a real device, calibrated: the first of the list (nil: `Planner.automaticDevice`).
    case copyOf([DeviceSelection]?)
    /// PyTorch's measured costs on one H100 (`Presets.h100Costs(for:)`), not CLTrain's.
    case pytorchH100
}

/// Which placement to plan.
public enum PlacementRequest: Sendable, Equatable {
    /// `Placement.auto` over the pool's devices.
    case auto
    /// `--layer-devices` and `--softmax-devices` (nil: one shard on the last layer's device).
    case manual(layers: [DeviceSelection], softmax: [DeviceSelection]?)
}

/// The devices a plan balances over, their costs and how each was obtained.
public struct DevicePool: Sendable {
    public var devices: [DeviceSelection]
    public var costs: [DeviceSelection: DeviceCosts]
    /// e.g. "NVIDIA H100 80GB HBM3", "sim opencl:3 (PyTorch's H100 costs)".
    public var names: [DeviceSelection: String]
    /// True for `PlanDevices.simulated`.
    public var simulated: Bool
    /// One line per device, or one for the simulated ones: where its costs come from.
    public var notes: [String]

    /// The costs of `device`, or `deviceNotFound` if it was not calibrated.
    public func costs(of device: DeviceSelection) throws -> DeviceCosts {
        guard let cost = costs[device] else { throw CLTrainError.deviceNotFound("device \(device) was not calibrated") }
        return cost
    }
}

/// What `Planner.plan` is asked.
public struct PlanRequest: Sendable {
    public var shape: WorkloadShape
    public var layers: Int
    public var devices: PlanDevices
    public var placement: PlacementRequest
    /// Each device's host link (every staged transfer crosses it).
    public var link: PipelineLink
    /// Schedules to predict besides the sequential one and the plain wavefront.
    public var schedules: [ExecutionSchedule]
    public var recalibrate: Bool
    public var calibrationBudget: Double

    public init(shape: WorkloadShape, layers: Int, devices: PlanDevices, placement: PlacementRequest, link: PipelineLink,
                schedules: [ExecutionSchedule] = [], recalibrate: Bool = false, calibrationBudget: Double = 2) {
        self.shape = shape
        self.layers = layers
        self.devices = devices
        self.placement = placement
        self.link = link
        self.schedules = schedules
        self.recalibrate = recalibrate
        self.calibrationBudget = calibrationBudget
    }
}

/// A planned placement and what the simulator predicts for it.
public struct Plan: Sendable {
    public var request: PlanRequest
    public var pool: DevicePool
    public var placement: Placement
    public var model: PipelineModel
    /// The fastest single device running the whole model (the sequential schedule), for speedups.
    public var baseline: (device: DeviceSelection, prediction: PipelinePrediction)
    /// The placement under `.sequential`, `.wavefront(stepsPerRun: 1)` and each requested schedule.
    public var predictions: [PipelinePrediction]
    /// CPU devices of this host the placement uses (PoCL's, the CPU backend): they share its cores,
    /// so, calibrated one by one, they are slower together than predicted. Empty when simulated.
    public var hostDevices: [DeviceSelection]

    /// A name for `device`: the pool's, else the registry's.
    public func name(of device: DeviceSelection) -> String { pool.names[device] ?? device.description }
}

/// Planning's one front: device pools and their costs (calibrated, cached, or presets), manual and
/// automatic placement, and the simulator's predictions. `cltrain plan` and
/// `cltrain train --placement auto` both come here; the CLI only parses and prints.
public enum Planner {
    /// The device that runs a model when none is named: the first GPU among those
    /// `CLTRAIN_DEVICES` lets through, else the CPU backend.
    public static func automaticDevice(registry: DeviceRegistry = .shared) throws -> DeviceSelection {
        try registry.automaticDevice()
    }

    /// The placement `cltrain train` runs: balanced over `devices` (nil: `CLTRAIN_DEVICES`'s
    /// selection) by their calibrated costs, or the manual one.
    public static func trainingPlacement(_ request: PlacementRequest, devices: [DeviceSelection]?, shape: WorkloadShape,
                                         layers: Int, registry: DeviceRegistry = .shared) throws -> Placement {
        switch request {
        case .manual(let layerDevices, let softmax):
            return try Placement.manual(layerDevices: layerDevices, softmaxDevices: softmax, layers: layers,
                                        vocabularySize: shape.vocabulary, registry: registry)
        case .auto:
            let pool = try devicePool(.selected(devices), shape: shape, registry: registry)
            return try Placement.auto(costs: pool.devices.map(pool.costs(of:)), devices: pool.devices, layers: layers,
                                      vocabularySize: shape.vocabulary)
        }
    }

    /// Plans `request`: the pool, the placement, and the predictions.
    public static func plan(_ request: PlanRequest, registry: DeviceRegistry = .shared) throws -> Plan {
        let shape = request.shape
        try shape.validate()
        for case .wavefront(_, let m) in request.schedules { try checkMicroBatches(m, batch: shape.batch) }
        let (pool, placement) = try placedPool(request, registry: registry)
        let memory = sharesMemory(simulated: pool.simulated)
        let model = try PipelineModel(placement: placement, costs: pool.costs(of:), shape: shape, link: request.link,
                                      sharesMemory: memory)
        let predictions = try schedules(request).map { try PipelineSimulator.simulate(model, schedule: $0) }
        let baseline = try fastestSingleDevice(placement.devices + pool.devices, layers: request.layers,
                                               vocabularySize: shape.vocabulary) { single in
            try PipelineSimulator.simulate(
                PipelineModel(placement: single, costs: pool.costs(of:), shape: shape, link: request.link, sharesMemory: memory),
                schedule: .sequential)
        }

        return Plan(request: request, pool: pool, placement: placement, model: model, baseline: baseline,
                    predictions: predictions, hostDevices: hostDevices(placement, pool: pool, registry: registry))
    }

    /// The CPU devices of this host among `placement`'s (none when the pool is simulated).
    static func hostDevices(_ placement: Placement, pool: DevicePool, registry: DeviceRegistry) -> [DeviceSelection] {
        pool.simulated ? [] : placement.devices.filter { device in
            if case .openCL(let index) = device { return !((try? registry.description(ofOpenCLDevice: index))?.isGPU ?? true) }
            return true
        }
    }

    /// The pool of `request.devices` with its costs, and the placement over it: a manual one is
    /// checked before anything is calibrated, and devices it names outside the pool are calibrated too.
    static func placedPool(_ request: PlanRequest, registry: DeviceRegistry) throws -> (DevicePool, Placement) {
        let shape = request.shape
        var manual: Placement?
        if case .manual(let layerDevices, let softmax) = request.placement {
            if case .simulated(let count, _) = request.devices {
                manual = try Placement.manual(layerDevices: layerDevices, softmaxDevices: softmax, layers: request.layers,
                                              vocabularySize: shape.vocabulary,
                                              availableDevices: (0..<count).map { .openCL($0) })
            } else {
                manual = try Placement.manual(layerDevices: layerDevices, softmaxDevices: softmax, layers: request.layers,
                                              vocabularySize: shape.vocabulary, registry: registry)
            }
        }
        var pool = try devicePool(request.devices, shape: shape, registry: registry, recalibrate: request.recalibrate,
                                  budgetSeconds: request.calibrationBudget)
        let missing = (manual?.devices ?? []).filter { pool.costs[$0] == nil }
        for (device, entry) in try DeviceCalibration.costs(of: missing, shape: shape, registry: registry,
                                                           recalibrate: request.recalibrate, budgetSeconds: request.calibrationBudget) {
            pool.costs[device] = entry.costs
            pool.names[device] = deviceName(device, registry: registry)
        }
        let placement = try manual ?? Placement.auto(costs: pool.devices.map(pool.costs(of:)), devices: pool.devices,
                                                     layers: request.layers, vocabularySize: shape.vocabulary)
        return (pool, placement)
    }

    /// `.sequential`, the plain wavefront, then each requested schedule not among them.
    static func schedules(_ request: PlanRequest) -> [ExecutionSchedule] {
        var schedules: [ExecutionSchedule] = [.sequential, .wavefront(stepsPerRun: 1)]
        for schedule in request.schedules where !schedules.contains(schedule) { schedules.append(schedule) }
        return schedules
    }

    /// The whole model on each of `devices` alone, one layer after another (`simulate` of a
    /// single-device placement); the fastest one.
    static func fastestSingleDevice(_ devices: [DeviceSelection], layers: Int, vocabularySize: Int,
                                    simulate: (Placement) throws -> PipelinePrediction) throws
        -> (device: DeviceSelection, prediction: PipelinePrediction) {
        var baseline: (device: DeviceSelection, prediction: PipelinePrediction)?
        for device in Set(devices).sorted(by: { $0.description < $1.description }) {
            let prediction = try simulate(try Placement.singleDevice(device, layers: layers, vocabularySize: vocabularySize))
            if prediction.stepTime < baseline?.prediction.stepTime ?? .infinity { baseline = (device, prediction) }
        }
        guard let baseline else { throw CLTrainError.invalidArgument("no device to plan for") }
        return baseline
    }

    /// Whether the queues of one device share its memory, as the runtime's `sharesMemory` decides:
    /// queues of one OpenCL device do (one context), the CPU backend's do not; simulated devices
    /// stand for GPUs.
    static func sharesMemory(simulated: Bool) -> (DeviceSelection) -> Bool {
        { device in simulated || device != .cpu }
    }

    /// The devices to plan over and their costs: calibrated (identical devices once), or N copies.
    public static func devicePool(_ devices: PlanDevices, shape: WorkloadShape, registry: DeviceRegistry = .shared,
                                  recalibrate: Bool = false, budgetSeconds: Double = 2) throws -> DevicePool {
        switch devices {
        case .simulated(let count, let source):
            let simulated = (0..<count).map { DeviceSelection.openCL($0) }
            let base: DeviceCosts, label: String, note: String
            switch source {
            case .pytorchH100:
                base = Presets.h100Costs(for: shape)
                label = "PyTorch's H100 costs"
                note = "PyTorch/cuDNN's measured costs on one H100 (shared/gpu/README.md, beside the repository), not CLTrain's"
                    + (Presets.isMeasuredH100Shape(shape) ? ", at this shape" : ", measured at the 2014 shape and scaled to this one by FLOPs (rough)")
            case .copyOf(let list):
                let first = try copySource(list, registry: registry)
                let result = try DeviceCalibration.calibrate(first, shape: shape, registry: registry,
                                                             recalibrate: recalibrate, budgetSeconds: budgetSeconds)
                base = result.costs
                label = "copy of \(first)"
                note = "costs of \(deviceName(first, registry: registry)), \(calibrationSource(result))"
            }
            return DevicePool(devices: simulated, costs: Dictionary(uniqueKeysWithValues: simulated.map { ($0, base) }),
                              names: Dictionary(uniqueKeysWithValues: simulated.map { ($0, "sim \($0) (\(label))") }),
                              simulated: true, notes: ["devices    \(count) simulated, identical: \(note)"])
        case .selected(let list):
            let selection = try registry.requestedSelection(list, option: "--device") ?? registry.defaultSelection()
            var pool = DevicePool(devices: selection, costs: [:], names: [:], simulated: false, notes: [])
            let calibrated = try DeviceCalibration.costs(of: selection, shape: shape, registry: registry,
                                                         recalibrate: recalibrate, budgetSeconds: budgetSeconds)
            for device in selection {
                guard let entry = calibrated[device] else { continue }
                pool.costs[device] = entry.costs
                let name = deviceName(device, registry: registry)
                pool.names[device] = name
                pool.notes.append("device \(device)   \(name): " + (entry.reused ? "same device as above" : calibrationSource(entry.result)))
            }
            return pool
        }
    }

    /// The device simulated copies are calibrated on: the first listed, else `automaticDevice`.
    static func copySource(_ list: [DeviceSelection]?, registry: DeviceRegistry) throws -> DeviceSelection {
        if let requested = try registry.requestedSelection(list, option: "--device") {
            guard let first = requested.first else { throw CLTrainError.deviceNotFound("no device to copy for --simulate-devices") }
            return first
        }
        return try automaticDevice(registry: registry)
    }

    public static func deviceName(_ device: DeviceSelection, registry: DeviceRegistry = .shared) -> String {
        switch device {
        case .cpu: "cpu (OpenBLAS)"
        case .openCL(let index): (try? registry.description(ofOpenCLDevice: index).name) ?? "OpenCL \(index)"
        }
    }

    static func calibrationSource(_ result: DeviceCalibration.Result) -> String {
        result.fromCache ? "calibration from the cache" : "calibrated now in \(formatSeconds(result.measuringSeconds))"
    }
}

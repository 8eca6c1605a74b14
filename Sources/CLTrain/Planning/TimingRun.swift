/// The one place planning drives the real executors: a placed `LanguageModel` on timing devices
/// (`TimingBackend`), one training step at a time, timed by the wall clock.
///
/// It calls only `ModelDevices(layers:softmaxShards:)`, `LanguageModel(configuration:devices:seed:)`,
/// `ExecutionSchedule.makeExecutor(for:)`, `zeroGradients()`, the executor's `trainingStep(_:)` and
/// `synchronize()` (the step leaves the carried state's copies enqueued) — the executor's step itself,
/// not a `Trainer`, whose guard would stop at the meaningless (non-finite) losses of devices that
/// compute nothing.
enum TimingRun {
    struct Measurement {
        /// The median step's wall time.
        var stepSeconds: Double
        /// The fastest step's: load on the host only ever adds time.
        var fastestSeconds: Double
        /// Per device of `placement.devices`: seconds busy in that step.
        var busySeconds: [Double]
        /// The median step's trace, from 0 µs at its start (when asked for).
        var trace: TraceRecorder?
    }

    /// One warm-up step, then `measuredSteps` timed ones of `configuration` placed as `placement`
    /// (a backend, and so a queue and a worker, per part, as `ModelDevices(placement:)` makes them).
    static func measure(placement: Placement, on devices: [DeviceSelection: TimingDevice], configuration: ModelConfiguration,
                        batch: Int, steps: Int, schedule: ExecutionSchedule, measuredSteps: Int,
                        tracing: Bool = false) throws -> Measurement {
        var queues: [DeviceSelection: Int] = [:]
        func backend(_ device: DeviceSelection) throws -> Backend {
            guard let timing = devices[device] else { throw CLTrainError.deviceNotFound("no timing device for \(device)") }
            let queue = queues[device, default: 0]
            queues[device] = queue + 1
            return TimingBackend(device: timing, queue: queue)
        }
        let modelDevices = ModelDevices(layers: try placement.layers.map(backend),
                                        softmaxShards: try placement.softmaxShards.map { (try backend($0.device), $0.rows) })
        let model = try LanguageModel(configuration: configuration, devices: modelDevices, seed: 1)
        let executor = schedule.makeExecutor(for: model)
        let count = steps * batch
        let tokens = (0..<count + 1).map { Int32(($0 * 7919) % configuration.vocabularySize) }
        let window = try TokenWindow(inputs: Array(tokens[0..<count]), targets: Array(tokens[1...]), steps: steps, batch: batch)
        let timed = placement.devices.compactMap { devices[$0] }

        try model.zeroGradients()
        _ = try executor.trainingStep(window)   // warm-up: buffers are allocated in the first step
        try model.synchronize()
        var samples: [(seconds: Double, busy: [Double], trace: TraceRecorder?)] = []
        for _ in 0..<max(measuredSteps, 1) {
            try model.zeroGradients()
            // Each step's own trace, recording exactly while its devices' busy time is counted.
            let trace = tracing ? TraceRecorder() : nil
            if let trace { try executor.trace(into: trace) }
            for device in timed { device.resetBusy() }
            let start = WallClock.now
            trace?.origin = start
            _ = try executor.trainingStep(window)
            try model.synchronize()
            trace?.isRecording = false
            samples.append((WallClock.seconds(since: start), timed.map(\.busySeconds), trace))
        }
        if tracing { try executor.trace(into: nil) }
        let median = samples.sorted { $0.seconds < $1.seconds }[samples.count / 2]
        return Measurement(stepSeconds: median.seconds, fastestSeconds: samples.map(\.seconds).min() ?? median.seconds,
                           busySeconds: median.busy, trace: median.trace)
    }
}

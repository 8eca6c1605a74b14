/// The one place planning drives the real executors: a placed `LanguageModel` or
/// `TranslationModel` on timing devices (`TimingBackend`), one training step at a time, timed by
/// the wall clock.
///
/// It calls only `ModelDevices(layers:softmaxShards:)`, the model's `init(configuration:devices:seed:)`,
/// `ExecutionSchedule.makeExecutor(for:)`, `zeroGradients()`, the executor's `trainingStep(_:)` (a
/// translation executor's `run(_:training:)`) and `synchronize()` (the step leaves the carried
/// state's copies enqueued) — the executor's step itself, not a trainer, whose guard would stop at the meaningless (non-finite) losses of devices that
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
        let model = try LanguageModel(configuration: configuration, devices: modelDevices(placement, on: devices), seed: 1)
        let executor = schedule.makeExecutor(for: model)
        let count = steps * batch
        let tokens = (0..<count + 1).map { Int32(($0 * 7919) % configuration.vocabularySize) }
        let window = try TokenWindow(inputs: Array(tokens[0..<count]), targets: Array(tokens[1...]), steps: steps, batch: batch)
        let measurement = try time(placement, on: devices, measuredSteps: measuredSteps, tracing: tracing,
                                   trace: { try executor.trace(into: $0) }, prepare: model.zeroGradients) {
            _ = try executor.trainingStep(window)
            try model.synchronize()
        }
        if tracing { try executor.trace(into: nil) }
        return measurement
    }

    /// The same for the encoder–decoder: `batch` sentence pairs of `sourceSteps` source and
    /// `targetSteps` target tokens (`<eos>` included, so no padding: the simulator's full windows),
    /// one training step of `schedule`'s translation executor at a time.
    static func measure(placement: Placement, on devices: [DeviceSelection: TimingDevice], configuration: TranslationConfiguration,
                        batch: Int, sourceSteps: Int, targetSteps: Int, schedule: ExecutionSchedule,
                        measuredSteps: Int, tracing: Bool = false) throws -> Measurement {
        let model = try TranslationModel(configuration: configuration, devices: modelDevices(placement, on: devices), seed: 1)
        let executor = schedule.makeExecutor(for: model)
        var next = 0
        func words(_ count: Int, vocabulary: Int) -> [Int32] {
            (0..<count).map { _ in
                next += 1
                return Int32(TranslationVocabulary.specials.count + (next * 7919) % (vocabulary - TranslationVocabulary.specials.count))
            }
        }
        let pairs = (0..<batch).map { _ in
            EncodedPair(source: words(sourceSteps, vocabulary: configuration.sourceVocabularySize),
                        target: words(max(targetSteps - 1, 0), vocabulary: configuration.targetVocabularySize))
        }
        let sentences = try TranslationBatcher(pairs: pairs, batchSize: batch, reverseSource: configuration.reverseSource, seed: 1)
            .batch(of: Array(0..<batch))
        let measurement = try time(placement, on: devices, measuredSteps: measuredSteps, tracing: tracing,
                                   trace: { try executor.trace(into: $0) }, prepare: model.zeroGradients) {
            _ = try executor.run(sentences, training: true)
            try model.synchronize()
        }
        if tracing { try executor.trace(into: nil) }
        return measurement
    }

    /// A timing backend per part of `placement` (further parts on one device get further queues).
    private static func modelDevices(_ placement: Placement, on devices: [DeviceSelection: TimingDevice]) throws -> ModelDevices {
        var queues: [DeviceSelection: Int] = [:]
        func backend(_ device: DeviceSelection) throws -> Backend {
            guard let timing = devices[device] else { throw CLTrainError.deviceNotFound("no timing device for \(device)") }
            let queue = queues[device, default: 0]
            queues[device] = queue + 1
            return TimingBackend(device: timing, queue: queue)
        }
        return ModelDevices(layers: try placement.layers.map(backend),
                            softmaxShards: try placement.softmaxShards.map { (try backend($0.device), $0.rows) })
    }

    /// `prepare` and `step` once to warm up (buffers are allocated in the first step), then
    /// `measuredSteps` times, each `step` (not `prepare`) timed by the wall clock with the devices'
    /// busy time; `trace` gets each timed step's recorder when `tracing`.
    private static func time(_ placement: Placement, on devices: [DeviceSelection: TimingDevice], measuredSteps: Int, tracing: Bool,
                             trace: (TraceRecorder) throws -> Void, prepare: () throws -> Void,
                             step: () throws -> Void) throws -> Measurement {
        let timed = placement.devices.compactMap { devices[$0] }
        try prepare()
        try step()
        var samples: [(seconds: Double, busy: [Double], trace: TraceRecorder?)] = []
        for _ in 0..<max(measuredSteps, 1) {
            try prepare()
            // Each step's own trace, recording exactly while its devices' busy time is counted.
            let recorder = tracing ? TraceRecorder() : nil
            if let recorder { try trace(recorder) }
            for device in timed { device.resetBusy() }
            let start = WallClock.now
            recorder?.origin = start
            try step()
            recorder?.isRecording = false
            samples.append((WallClock.seconds(since: start), timed.map(\.busySeconds), recorder))
        }
        let median = samples.sorted { $0.seconds < $1.seconds }[samples.count / 2]
        return Measurement(stepSeconds: median.seconds, fastestSeconds: samples.map(\.seconds).min() ?? median.seconds,
                           busySeconds: median.busy, trace: median.trace)
    }
}

/// A link a transfer crosses (a device's link to host memory, or a copy within a device): bytes
/// per second in each direction and a fixed latency per transfer.
public struct PipelineLink: Codable, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    /// Bytes per second, per direction.
    public var bandwidth: Double
    /// Seconds each transfer costs on top of bytes / bandwidth (set-up and the wait for its end).
    public var latency: Double

    public init(name: String, bandwidth: Double, latency: Double) {
        self.name = name
        self.bandwidth = bandwidth
        self.latency = latency
    }

    /// A link of `gigabytesPerSecond` (10⁹ bytes/s) with `latency` seconds.
    public static func custom(gigabytesPerSecond: Double, latency: Double) -> PipelineLink {
        PipelineLink(name: "\(gigabytesPerSecond) GB/s", bandwidth: gigabytesPerSecond * 1e9, latency: latency)
    }

    /// 10⁶ GB/s: over a thousand times NVLink 4's 450 GB/s; keeps the simulation's sums in range.
    public static let maxGigabytesPerSecond = 1e6

    /// `--link`: `pcie4`, `nvlink4`, or a bandwidth in GB/s per direction (with PCIe's latency).
    /// - Throws: `invalidArgument` for an unknown name, `invalidNumber` for a bandwidth out of range,
    ///   both naming `option`.
    public static func parse(_ text: String, option: String = "--link") throws -> PipelineLink {
        switch text.lowercased() {
        case "pcie4": return Presets.pcie4
        case "nvlink4": return Presets.nvlink4
        default:
            guard let gigabytes = Double(text) else {
                throw CLTrainError.invalidArgument("\(option) '\(text)': expected pcie4, nvlink4, or a bandwidth in GB/s such as 50")
            }
            try InputNumber.check(gigabytes, option, in: .positive(atMost: maxGigabytesPerSecond),
                                  why: "GB/s per direction; NVLink 4 is 450")
            return .custom(gigabytesPerSecond: gigabytes, latency: Presets.pcie4.latency)
        }
    }

    public var description: String {
        let gigabytes = bandwidth / 1e9
        // Whole numbers without ".0"; Int(_:) only where it cannot trap.
        let rate = gigabytes == gigabytes.rounded() ? Checked.integer(gigabytes).map(String.init) ?? String(gigabytes) : String(gigabytes)
        return "\(name): \(rate) GB/s per direction, \(formatSeconds(latency)) latency"
    }
}

/// What the pipeline simulator runs: per-part costs on numbered devices, the window's shape and
/// what a transfer costs.
///
/// Devices are numbered 0..<deviceCount. Every part (layer or softmax shard) has a backend, and so
/// a worker thread and a command queue, of its own, as `ModelDevices(placement:)` makes them; parts
/// on one device number share its time. Every transfer is one the runtime makes: a staged read
/// to host memory on the producer's queue and a write on the consumer's, each crossing `link`
/// (non-blocking, the consumer's thread waiting only for the read: `PipelineSimulator`), or a copy
/// on the device where both parts share its memory (`deviceCopy`).
public struct PipelineModel: Sendable {
    /// One LSTM layer or one softmax shard: its device and its seconds per time step at the full
    /// batch B (forward; the backward the next stage waits for; weight gradients).
    public struct Stage: Sendable, Equatable {
        public var device: Int
        public var forward: Double
        public var backward: Double
        public var weightGradient: Double

        public init(device: Int, forward: Double, backward: Double, weightGradient: Double) {
            self.device = device
            self.forward = forward
            self.backward = backward
            self.weightGradient = weightGradient
        }

        public var work: Double { forward + backward + weightGradient }
    }

    /// The LSTM layers, bottom to top; layer 0 includes the embedding.
    public var layers: [Stage]
    /// The decoder + softmax shards (may be empty: a pipeline of layers only).
    public var shards: [Stage]
    /// T: time steps per window.
    public var steps: Int
    /// Bytes of one B×H activation or its gradient (per time step, per boundary).
    public var activationBytes: Double
    /// Bytes of one value per sequence and time step (B floats or int32s): a softmax shard's row
    /// maxima, sums of exponentials, target logits and log normalizers, and the targets and token
    /// ids uploaded as indices, are each this per step.
    public var rowBytes: Double
    /// Each device's link to host memory: every staged download and upload crosses it.
    public var link: PipelineLink
    /// A copy within one device's memory (between two queues of one OpenCL context, and the top
    /// layer's gathering of the softmax gradient).
    public var deviceCopy: PipelineLink
    /// Per device number: whether its parts' queues share its memory (queues of one OpenCL
    /// context). False for the CPU backend, whose backends stage through the host, and for timing
    /// devices. Missing entries count as true.
    public var sharesMemory: [Bool]

    public init(layers: [Stage], shards: [Stage], steps: Int, activationBytes: Double, rowBytes: Double,
                link: PipelineLink, deviceCopy: PipelineLink = Presets.deviceCopy, sharesMemory: [Bool] = []) {
        self.layers = layers
        self.shards = shards
        self.steps = steps
        self.activationBytes = activationBytes
        self.rowBytes = rowBytes
        self.link = link
        self.deviceCopy = deviceCopy
        self.sharesMemory = sharesMemory
    }

    public var deviceCount: Int { ((layers + shards).map(\.device).max() ?? -1) + 1 }

    /// Σ of every part's compute time: the step time if all of it ran on one device, one thing at
    /// a time, with no transfer.
    public var totalWork: Double { Double(steps) * (layers + shards).reduce(0) { $0 + $1.work } }

    /// Whether parts on devices `a` and `b` exchange data in device memory (no host staging).
    func shareMemory(_ a: Int, _ b: Int) -> Bool {
        a == b && (a < sharesMemory.count ? sharesMemory[a] : true)
    }

    /// The model of `placement`: device numbers follow `placement.devices`, each part costs what
    /// `costs` says for its device; `sharesMemory(device)` says whether its queues share memory.
    public init(placement: Placement, costs: (DeviceSelection) throws -> DeviceCosts, shape: WorkloadShape,
                link: PipelineLink, deviceCopy: PipelineLink = Presets.deviceCopy,
                sharesMemory: (DeviceSelection) -> Bool = { $0 != .cpu }) throws {
        try shape.validate()
        guard placement.layers.count >= 1, placement.vocabularySize == shape.vocabulary else {
            throw CLTrainError.invalidArgument(
                "the placement covers \(placement.vocabularySize) vocabulary rows but the model has \(shape.vocabulary)")
        }
        let devices = placement.devices
        let number = { (device: DeviceSelection) in devices.firstIndex(of: device) ?? 0 }
        let layers = try placement.layers.enumerated().map { l, device in
            let c = try costs(device).layer(l)
            return Stage(device: number(device), forward: c.forward, backward: c.backward, weightGradient: c.weightGradient)
        }
        let shards = try placement.softmaxShards.map { shard in
            let c = try costs(shard.device), rows = Double(shard.rows.count)
            return Stage(device: number(shard.device), forward: rows * c.decoderForwardPerRow,
                         backward: rows * c.decoderBackwardPerRow, weightGradient: rows * c.decoderWeightGradientPerRow)
        }
        self.init(layers: layers, shards: shards, steps: shape.steps, activationBytes: Double(shape.activationBytes),
                  rowBytes: Double(shape.batch * 4), link: link, deviceCopy: deviceCopy,
                  sharesMemory: devices.map(sharesMemory))
    }
}

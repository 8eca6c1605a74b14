/// A link between two devices: bytes per second in each direction and a fixed latency per message.
public struct PipelineLink: Codable, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    /// Bytes per second, per direction.
    public var bandwidth: Double
    /// Seconds from the end of a send until the receiver may use the data, on top of bytes / bandwidth.
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

    public var description: String {
        let gigabytes = bandwidth / 1e9
        // Whole numbers without ".0"; Int(_:) only where it cannot trap.
        let rate = gigabytes == gigabytes.rounded() ? Checked.integer(gigabytes).map(String.init) ?? String(gigabytes) : String(gigabytes)
        return "\(name): \(rate) GB/s per direction, \(formatSeconds(latency)) latency"
    }
}

/// What the pipeline simulator runs: per-stage costs on numbered devices, the window length and
/// the sizes that cross device boundaries.
///
/// Devices are numbered 0..<deviceCount. Stages on the same number share that device (one task at
/// a time); stages on different numbers run concurrently and exchange data over `link`.
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
    /// Bytes each softmax shard sends every other shard per time step: its row maxima and sums of
    /// exponentials (2·B floats).
    public var exchangeBytes: Double
    public var link: PipelineLink

    public init(layers: [Stage], shards: [Stage], steps: Int, activationBytes: Double, exchangeBytes: Double,
                link: PipelineLink) {
        self.layers = layers
        self.shards = shards
        self.steps = steps
        self.activationBytes = activationBytes
        self.exchangeBytes = exchangeBytes
        self.link = link
    }

    public var deviceCount: Int { ((layers + shards).map(\.device).max() ?? -1) + 1 }

    /// Σ of every task's time: the step time if all of it ran on one device, one thing at a time.
    public var totalWork: Double { Double(steps) * (layers + shards).reduce(0) { $0 + $1.work } }

    /// The model of `placement`: device numbers follow `placement.devices`, each part costs what
    /// `costs` says for its device.
    public init(placement: Placement, costs: (DeviceSelection) throws -> DeviceCosts, shape: WorkloadShape,
                link: PipelineLink) throws {
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
                  exchangeBytes: Double(2 * shape.batch * 4), link: link)
    }
}

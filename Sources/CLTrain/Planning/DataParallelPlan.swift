/// What data parallelism over N nodes should give, from one node's step time and the ring
/// allreduce's traffic (`cltrain plan --nodes N --node-link GBPS`).
///
/// The model, and its assumptions:
/// - Every node runs the same step on B/N sequences of the global batch B (strong scaling, as
///   `train --data-parallel` does), its compute time `compute(B/N)` taken from the single-node
///   plan at that batch; the backward is `backwardShare` of it (2/3: two of the three gemms per
///   weight are in the backward).
/// - The gradient travels dense (the embedding's too: every row, though a window touches few)
///   in float32, in the executor's buckets (`GradientBuckets.ranges`). A ring allreduce sends and
///   receives 2(N−1)/N of a bucket's bytes per node over the node's link, in 2(N−1) steps that
///   each cost the link's latency (Patarasuk & Yuan 2009; nccl-tests' bus bandwidth).
/// - Without overlap the step is compute + allreduce. With overlap every bucket but the last
///   (the embedding's, final only when the backward ends) travels while the backward runs:
///   forward + max(backward, allreduce of the others) + allreduce of the last.
/// - Host staging (device → host → device per bucket) and the MPI library's own copies are not
///   counted; nor is contention between the allreduce and the compute for host memory.
public struct DataParallelPlan: Sendable {
    public let nodes: Int
    /// Bytes per second per direction of each node's link.
    public let bandwidth: Double
    /// Seconds per ring step.
    public let latency: Double
    /// Float32 bytes of each bucket, in the order the backward finishes them.
    public let bucketBytes: [Double]

    public init(nodes: Int, bandwidth: Double, latency: Double, configuration: ModelConfiguration,
                bucketFloats: Int = GradientBuckets.defaultCapacity) {
        self.nodes = nodes
        self.bandwidth = bandwidth
        self.latency = latency
        let counts = Array(Self.parameterCounts(configuration).reversed())
        bucketBytes = GradientBuckets.ranges(counts: counts, capacity: bucketFloats).map { range in
            4 * counts[range].reduce(0.0) { $0 + Double($1) }
        }
    }

    /// Element counts of the model's parameters in state-dict order (`LanguageModel.parameters`
    /// with one softmax shard): the embedding, each layer's W_ih, W_hh, b_ih, b_hh, the decoder.
    public static func parameterCounts(_ c: ModelConfiguration) -> [Int] {
        let gates = 4 * c.hiddenSize
        var counts = [c.vocabularySize * c.embeddingSize]
        for l in 0..<c.layers {
            counts += [gates * (l == 0 ? c.embeddingSize : c.hiddenSize), gates * c.hiddenSize, gates, gates]
        }
        return counts + [c.vocabularySize * c.hiddenSize, c.vocabularySize]
    }

    public var gradientBytes: Double { bucketBytes.reduce(0, +) }

    /// Seconds a ring allreduce of `bytes` takes over N nodes (0 for one node).
    public func allreduceSeconds(_ bytes: Double) -> Double {
        guard nodes > 1 else { return 0 }
        let n = Double(nodes)
        return 2 * (n - 1) / n * bytes / bandwidth + 2 * (n - 1) * latency
    }

    /// Bytes each node sends per step: 2(N−1)/N of the gradient.
    public var bytesSentPerStep: Double { nodes > 1 ? 2 * Double(nodes - 1) / Double(nodes) * gradientBytes : 0 }

    public struct Prediction: Sendable, Equatable {
        public let compute: Double
        public let allreduce: Double
        public let withoutOverlap: Double
        public let withOverlap: Double
    }

    /// The step on N nodes from one node's step at the per-node batch.
    public func predict(computeSeconds compute: Double, backwardShare: Double = 2.0 / 3) -> Prediction {
        let perBucket = bucketBytes.map(allreduceSeconds)
        let total = perBucket.reduce(0, +)
        let last = perBucket.last ?? 0
        let backward = compute * backwardShare
        let overlapped = compute - backward + max(backward, total - last) + last
        return Prediction(compute: compute, allreduce: total, withoutOverlap: compute + total, withOverlap: overlapped)
    }
}

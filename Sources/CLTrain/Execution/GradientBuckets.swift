/// The model's gradients grouped into buckets for the allreduce (DDP's buckets, Horovod's tensor
/// fusion): parameters in the order backward finishes them — the decoder shards, the top LSTM
/// layer, …, layer 0, the embedding (the reverse of `LanguageModel.parameters`) — packed into
/// buckets of about `capacity` floats each (a larger parameter is a bucket of its own), so that
/// a bucket can travel as soon as its last parameter is final, while backward goes on.
public final class GradientBuckets {
    struct Bucket {
        let parameters: [Parameter]
        let offsets: [Int]                 // each parameter's first float in `buffer`
        let buffer: CollectiveBuffer       // [Σ counts] float32: pinned where most of it is on OpenCL
    }

    let buckets: [Bucket]
    /// DDP's 25 MB default bucket is about 6.5 M floats; 4 M keeps a bucket's staging under 16 MB.
    public static let defaultCapacity = 1 << 22
    /// The bucket of each parameter (by identity).
    private let bucketOf: [ObjectIdentifier: Int]

    /// - Throws: when a backend cannot make a bucket's host memory.
    init(_ parameters: [Parameter], capacity: Int) throws {
        let finishing = Array(parameters.reversed())
        buckets = try GradientBuckets.ranges(counts: finishing.map(\.count), capacity: capacity).map { range in
            let members = Array(finishing[range])
            var offsets: [Int] = [], offset = 0
            for p in members { offsets.append(offset); offset += p.count }
            let buffer = try GradientBuckets.stagingBackend(of: members)?.makeCollectiveBuffer(count: offset) ?? CollectiveBuffer(count: offset)
            return Bucket(parameters: members, offsets: offsets, buffer: buffer)
        }
        var bucketOf: [ObjectIdentifier: Int] = [:]
        for (b, bucket) in buckets.enumerated() { for p in bucket.parameters { bucketOf[ObjectIdentifier(p)] = b } }
        self.bucketOf = bucketOf
    }

    /// The backend that makes a bucket's memory: the one holding most of its floats (on OpenCL its
    /// pinned memory; the other backends' copies reach it too, as plain host memory).
    private static func stagingBackend(of members: [Parameter]) -> Backend? {
        var totals: [(backend: Backend, floats: Int)] = []
        for p in members {
            if let i = totals.firstIndex(where: { $0.backend === p.backend }) { totals[i].floats += p.count }
            else { totals.append((p.backend, p.count)) }
        }
        return totals.max { $0.floats < $1.floats }?.backend
    }

    /// How each bucket's gradients are staged (pinned on OpenCL devices), in bucket order.
    var memory: [CollectiveBuffer.Memory] { buckets.map(\.buffer.memory) }

    /// The bucketing rule, on element counts in the order they become final: consecutive runs of
    /// at most `capacity` floats (a count above it alone). The planner applies it to shapes.
    public static func ranges(counts: [Int], capacity: Int) -> [Range<Int>] {
        var result: [Range<Int>] = [], start = 0, size = 0
        for (i, count) in counts.enumerated() {
            if size > 0 && size + count > capacity {
                result.append(start..<i)
                start = i
                size = 0
            }
            size += count
        }
        if start < counts.count { result.append(start..<counts.count) }
        return result
    }

    func bucket(of parameter: Parameter) -> Int? { bucketOf[ObjectIdentifier(parameter)] }

    /// Reads bucket b's gradients from their devices straight into its buffer, then scales them
    /// there by `scale`, in place.
    func pack(_ b: Int, scale: Float) throws {
        let bucket = buckets[b]
        for (p, offset) in zip(bucket.parameters, bucket.offsets) { try p.backend.read(p.gradient, into: bucket.buffer, at: offset) }
        for i in bucket.buffer.pointer.indices { bucket.buffer.pointer[i] *= scale }
    }

    /// Writes bucket b's buffer (the sums) straight back into its parameters' gradients.
    func unpack(_ b: Int) throws {
        let bucket = buckets[b]
        for (p, offset) in zip(bucket.parameters, bucket.offsets) { try p.backend.write(bucket.buffer, at: offset, to: p.gradient) }
    }
}

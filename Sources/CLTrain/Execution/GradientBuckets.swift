/// The model's gradients grouped into buckets for the allreduce (DDP's buckets, Horovod's tensor
/// fusion): parameters in the order backward finishes them — the decoder shards, the top LSTM
/// layer, …, layer 0, the embedding (the reverse of `LanguageModel.parameters`) — packed into
/// buckets of about `capacity` floats each (a larger parameter is a bucket of its own), so that
/// a bucket can travel as soon as its last parameter is final, while backward goes on.
final class GradientBuckets {
    struct Bucket {
        let parameters: [Parameter]
        let offsets: [Int]                 // each parameter's first float in `buffer`
        let buffer: CollectiveBuffer       // [Σ counts] float32, host staging
    }

    let buckets: [Bucket]
    /// The bucket of each parameter (by identity).
    private let bucketOf: [ObjectIdentifier: Int]

    init(_ parameters: [Parameter], capacity: Int) {
        var buckets: [Bucket] = [], current: [Parameter] = [], size = 0
        func close() {
            guard !current.isEmpty else { return }
            var offsets: [Int] = [], offset = 0
            for p in current { offsets.append(offset); offset += p.count }
            buckets.append(Bucket(parameters: current, offsets: offsets, buffer: CollectiveBuffer(count: offset)))
            current = []
            size = 0
        }
        for p in parameters.reversed() {
            if size > 0 && size + p.count > capacity { close() }
            current.append(p)
            size += p.count
        }
        close()
        self.buckets = buckets
        var bucketOf: [ObjectIdentifier: Int] = [:]
        for (b, bucket) in buckets.enumerated() { for p in bucket.parameters { bucketOf[ObjectIdentifier(p)] = b } }
        self.bucketOf = bucketOf
    }

    func bucket(of parameter: Parameter) -> Int? { bucketOf[ObjectIdentifier(parameter)] }

    /// Copies bucket b's gradients from their devices into its buffer, times `scale`.
    func pack(_ b: Int, scale: Float) throws {
        let bucket = buckets[b]
        for (p, offset) in zip(bucket.parameters, bucket.offsets) {
            let values = try p.backend.download(p.gradient)
            for i in values.indices { bucket.buffer.pointer[offset + i] = values[i] * scale }
        }
    }

    /// Copies bucket b's buffer (the sums) back into its parameters' gradients.
    func unpack(_ b: Int) throws {
        let bucket = buckets[b]
        for (p, offset) in zip(bucket.parameters, bucket.offsets) {
            try p.backend.upload(Array(bucket.buffer.pointer[offset..<offset + p.count]), to: p.gradient)
        }
    }
}

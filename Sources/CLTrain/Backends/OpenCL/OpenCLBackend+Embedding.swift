extension OpenCLBackend {
    public func embeddingForwardKernel(table: Tensor, indices: IndexTensor, output: Tensor, width e: Int) throws {
        let op = "embeddingForward"
        // Group the indices for the backward pass now: the groups' uploads block until the queue
        // drains, which here costs nothing and after the forward pass would stall the host.
        _ = try indexGroups(indices)
        try launch2D(kernels.embeddingForward, columns: e, rows: indices.count,
                   [.int(Int32(indices.count)), .int(Int32(e))] + operand(table, op)
                   + operand(indices.tensor, op) + operand(output, op))
    }

    public func embeddingBackwardKernel(outputGradient: Tensor, indices: IndexTensor, tableGradient: Tensor,
                                        width e: Int) throws {
        let op = "embeddingBackward"
        let groups = try indexGroups(indices)
        try launch2D(kernels.embeddingBackward, columns: e, rows: groups.uniqueCount,
                   [.int(Int32(groups.uniqueCount)), .int(Int32(e)),
                    .buffer(groups.uniqueIDs), .buffer(groups.starts), .buffer(groups.positions)]
                   + operand(outputGradient, op) + operand(tableGradient, op))
    }

    /// The positions of each distinct index, grouped on the host (where the indices came from) and
    /// uploaded once per IndexTensor version: every table row is then written by one work-item per
    /// column, so the scatter needs no atomics and is deterministic. The buffers are sized for N
    /// indices and rewritten in place when the tensor's indices are replaced (`uploadIndices`).
    final class IndexGroups {
        var uniqueCount: Int
        let uniqueIDs: OpenCLBuffer    // (U ≤ N) distinct indices, ascending
        let starts: OpenCLBuffer       // (U+1 ≤ N+1) where each one's positions begin in `positions`
        let positions: OpenCLBuffer    // (N) positions n, grouped by index, ascending within a group
        var version: Int               // the IndexTensor version these groups were made from

        init(uniqueCount: Int, uniqueIDs: OpenCLBuffer, starts: OpenCLBuffer, positions: OpenCLBuffer, version: Int) {
            self.uniqueCount = uniqueCount
            self.uniqueIDs = uniqueIDs
            self.starts = starts
            self.positions = positions
            self.version = version
        }
    }

    private func indexGroups(_ indices: IndexTensor) throws -> IndexGroups {
        let key = "embeddingGroups:\(ObjectIdentifier(self))"
        let cached = indices.derived[key] as? IndexGroups
        if let cached, cached.version == indices.version { return cached }
        let order = indices.values.indices.sorted { (indices.values[$0], $0) < (indices.values[$1], $1) }
        var uniqueIDs: [Int32] = [], starts: [Int32] = []
        for (p, n) in order.enumerated() where uniqueIDs.last != indices.values[n] {
            uniqueIDs.append(indices.values[n])
            starts.append(Int32(p))
        }
        starts.append(Int32(order.count))
        // A blocking write on this in-order queue: it lands after any kernel still reading the old groups.
        func upload(_ values: [Int32], into existing: OpenCLBuffer?, capacity: Int) throws -> OpenCLBuffer {
            let buffer = try existing ?? context.makeBuffer(byteCount: capacity * 4)
            try values.withUnsafeBytes { try queue.write($0, to: buffer, byteOffset: 0) }
            return buffer
        }
        let n = indices.count
        let groups = IndexGroups(uniqueCount: uniqueIDs.count,
                                 uniqueIDs: try upload(uniqueIDs, into: cached?.uniqueIDs, capacity: n),
                                 starts: try upload(starts, into: cached?.starts, capacity: n + 1),
                                 positions: try upload(order.map { Int32($0) }, into: cached?.positions, capacity: n),
                                 version: indices.version)
        indices.derived[key] = groups
        return groups
    }
}

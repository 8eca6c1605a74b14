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
    /// uploaded once per IndexTensor: every table row is then written by one work-item per column,
    /// so the scatter needs no atomics and is deterministic.
    final class IndexGroups {
        let uniqueCount: Int
        let uniqueIDs: OpenCLBuffer    // (U) distinct indices, ascending
        let starts: OpenCLBuffer       // (U+1) where each one's positions begin in `positions`
        let positions: OpenCLBuffer    // (N) positions n, grouped by index, ascending within a group

        init(uniqueCount: Int, uniqueIDs: OpenCLBuffer, starts: OpenCLBuffer, positions: OpenCLBuffer) {
            self.uniqueCount = uniqueCount
            self.uniqueIDs = uniqueIDs
            self.starts = starts
            self.positions = positions
        }
    }

    private func indexGroups(_ indices: IndexTensor) throws -> IndexGroups {
        let key = "embeddingGroups:\(ObjectIdentifier(self))"
        if let cached = indices.derived[key] as? IndexGroups { return cached }
        let order = indices.values.indices.sorted { (indices.values[$0], $0) < (indices.values[$1], $1) }
        var uniqueIDs: [Int32] = [], starts: [Int32] = []
        for (p, n) in order.enumerated() where uniqueIDs.last != indices.values[n] {
            uniqueIDs.append(indices.values[n])
            starts.append(Int32(p))
        }
        starts.append(Int32(order.count))
        func upload(_ values: [Int32]) throws -> OpenCLBuffer {
            let buffer = try context.makeBuffer(byteCount: values.count * 4)
            try values.withUnsafeBytes { try queue.write($0, to: buffer, byteOffset: 0) }
            return buffer
        }
        let groups = IndexGroups(uniqueCount: uniqueIDs.count, uniqueIDs: try upload(uniqueIDs),
                                 starts: try upload(starts), positions: try upload(order.map { Int32($0) }))
        indices.derived[key] = groups
        return groups
    }
}

extension Backend {
    /// The default for wrappers: a new index tensor copied into `indices` (correct, not allocation-free;
    /// the CPU and OpenCL backends write in place).
    public func uploadIndices(_ values: [Int32], into indices: IndexTensor) throws {
        try OperationChecks.indexCount(values, into: indices, "uploadIndices")
        let fresh = try makeIndices(values)
        try copy(fresh.tensor, to: indices.tensor)
        indices.replaceValues(values)
    }
}

extension OperationChecks {
    /// `values` must have the index tensor's count (an index upload never reshapes).
    static func indexCount(_ values: [Int32], into indices: IndexTensor, _ operation: String) throws {
        guard values.count == indices.count, indices.tensor.elementType == .int32 else {
            throw CLTrainError.shapeMismatch(operation: operation,
                                             detail: "\(values.count) indices into an index tensor of \(indices.count)")
        }
    }
}

extension CPUBackend {
    public func uploadIndices(_ values: [Int32], into indices: IndexTensor) throws {
        let op = "uploadIndices"
        try OperationChecks.indexCount(values, into: indices, op)
        let x = try storage(of: indices.tensor, op).int32s(at: indices.tensor.offset)  // (N)
        for (n, value) in values.enumerated() { x[n] = value }
        indices.replaceValues(values)
    }
}

extension OpenCLBackend {
    /// A blocking write on this backend's in-order queue: it lands after every kernel enqueued
    /// before it that reads the old indices.
    public func uploadIndices(_ values: [Int32], into indices: IndexTensor) throws {
        let op = "uploadIndices"
        try OperationChecks.indexCount(values, into: indices, op)
        let destination = try buffer(indices.tensor, op)
        try values.withUnsafeBytes { try queue.write($0, to: destination, byteOffset: indices.tensor.offset * 4) }
        indices.replaceValues(values)
    }
}

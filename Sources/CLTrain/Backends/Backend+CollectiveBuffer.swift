/// Tensors in and out of a `CollectiveBuffer`, the host memory a gradient allreduce sums in place.
/// The defaults here serve a wrapper that does not forward them (a download or upload through an
/// array); a `KernelBackend` checks the operands once (`KernelBackend` extension below) and lets
/// its kernels copy straight between its memory and the buffer's.
extension Backend {
    public func makeCollectiveBuffer(count: Int) throws -> CollectiveBuffer { CollectiveBuffer(count: count) }

    public func read(_ tensor: Tensor, into buffer: CollectiveBuffer, at offset: Int) throws {
        let destination = try buffer.floats(at: offset, tensor.count, "read into a collective buffer")
        try buffer.waitForCopies()
        _ = destination.update(fromContentsOf: try download(tensor))
    }

    public func write(_ buffer: CollectiveBuffer, at offset: Int, to tensor: Tensor) throws {
        try upload(Array(buffer.floats(at: offset, tensor.count, "write from a collective buffer")), to: tensor)
    }
}

extension KernelBackend {
    public func makeCollectiveBuffer(count: Int) throws -> CollectiveBuffer {
        _ = try InputNumber.check(count, "a collective buffer's floats", in: 0...Int.max / 4)
        return try makeCollectiveBufferKernel(count: count)
    }

    public func read(_ tensor: Tensor, into buffer: CollectiveBuffer, at offset: Int) throws {
        try OperationChecks.float32([tensor], "read")
        try requireOwned([tensor], "read")
        let destination = try buffer.floats(at: offset, tensor.count, "read into a collective buffer")
        try buffer.waitForCopies()   // a write from this memory must end before it is overwritten
        try readKernel(tensor, into: destination)
    }

    public func write(_ buffer: CollectiveBuffer, at offset: Int, to tensor: Tensor) throws {
        try OperationChecks.float32([tensor], "write")
        try requireOwned([tensor], "write")
        try writeKernel(buffer.floats(at: offset, tensor.count, "write from a collective buffer"), of: buffer, to: tensor)
    }
}

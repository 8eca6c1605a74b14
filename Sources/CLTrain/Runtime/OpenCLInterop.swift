import COpenCL

// Raw OpenCL handles, for calling another OpenCL library on CLTrain's queues and tensors (CLBlast
// in cltrain-bench). The handles stay owned by CLTrain: do not release them, and use them only
// while the queue or tensor that owns them is alive.

extension OpenCLQueue {
    /// The `cl_command_queue` behind this queue (in-order, profiling enabled).
    public var unsafeHandle: cl_command_queue { handle }
}

extension OpenCLBackend {
    /// The `cl_mem` buffer behind `tensor` and the tensor's first element in it (an offset in
    /// elements: a tensor may be a view into a larger buffer).
    /// - Throws: `CLTrainError.wrongDevice` if the tensor does not live in this backend's context.
    public func unsafeMemoryObject(of tensor: Tensor) throws -> (memory: cl_mem, elementOffset: Int) {
        (try buffer(tensor, "unsafeMemoryObject").handle, tensor.offset)
    }
}

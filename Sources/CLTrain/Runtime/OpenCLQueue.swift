import COpenCL

/// An in-order command queue with profiling enabled. Work enqueued on one queue runs in order;
/// independent queues on one device may overlap.
public final class OpenCLQueue: @unchecked Sendable {
    public let context: OpenCLContext
    let handle: cl_command_queue

    init(context: OpenCLContext) throws(OpenCLError) {
        self.context = context
        var status: cl_int = CL_SUCCESS
        let properties = cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE)
        guard let queue = clCreateCommandQueue(context.handle, context.device.id, properties, &status),
              status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateCommandQueue(\(context.device.name))", code: status)
        }
        handle = queue
    }

    deinit { clReleaseCommandQueue(handle) }

    /// Blocks until everything enqueued so far has finished.
    public func finish() throws(OpenCLError) {
        try checkCL(clFinish(handle), "clFinish(\(context.device.name))")
    }

    /// Launches `kernel` over `global` work-items in groups of `local`, always given: a size the
    /// driver picks may differ between runs and devices. `global` is rounded up to a multiple of
    /// `local`, as OpenCL 1.2 requires; kernels guard against the extra items. Returns the event
    /// when `wantEvent` (for profiling).
    @discardableResult
    package func launch(_ kernel: OpenCLKernel, global: [Int], local: [Int], wantEvent: Bool = false) throws(OpenCLError) -> OpenCLEvent? {
        precondition(global.count == local.count && (1...3).contains(global.count) && !local.contains { $0 < 1 })
        if global.contains(0) { return nil }
        var globalSize = global
        for d in global.indices { globalSize[d] = (global[d] + local[d] - 1) / local[d] * local[d] }
        var event: cl_event? = nil
        let status = withUnsafeMutablePointer(to: &event) { eventPointer in
            globalSize.withUnsafeBufferPointer { g in
                local.withUnsafeBufferPointer { l in
                    clEnqueueNDRangeKernel(handle, kernel.handle, cl_uint(g.count), nil, g.baseAddress,
                                           l.baseAddress, 0, nil, wantEvent ? eventPointer : nil)
                }
            }
        }
        try checkCL(status, "clEnqueueNDRangeKernel(\(kernel.name))")
        return event.map(OpenCLEvent.init)
    }

    /// Copies host memory into `buffer` at `byteOffset`; blocks until the host memory may be reused.
    func write(_ source: UnsafeRawBufferPointer, to buffer: OpenCLBuffer, byteOffset: Int) throws(OpenCLError) {
        guard source.count > 0 else { return }
        try checkCL(clEnqueueWriteBuffer(handle, buffer.handle, cl_bool(CL_TRUE), byteOffset, source.count,
                                         source.baseAddress, 0, nil, nil),
                    "clEnqueueWriteBuffer(\(source.count) bytes)")
    }

    /// Copies `buffer` from `byteOffset` into host memory; blocks until the data has arrived.
    func read(_ buffer: OpenCLBuffer, byteOffset: Int, into destination: UnsafeMutableRawBufferPointer) throws(OpenCLError) {
        guard destination.count > 0 else { return }
        try checkCL(clEnqueueReadBuffer(handle, buffer.handle, cl_bool(CL_TRUE), byteOffset, destination.count,
                                        destination.baseAddress, 0, nil, nil),
                    "clEnqueueReadBuffer(\(destination.count) bytes)")
    }

    /// Starts copying `buffer` from `byteOffset` into host memory and returns at once; the
    /// returned event ends when the data has arrived (nil for no bytes). The memory must stay
    /// valid until then.
    func readAsync(_ buffer: OpenCLBuffer, byteOffset: Int, into destination: UnsafeMutableRawPointer,
                   byteCount: Int) throws(OpenCLError) -> OpenCLEvent? {
        guard byteCount > 0 else { return nil }
        var event: cl_event?
        try checkCL(clEnqueueReadBuffer(handle, buffer.handle, cl_bool(CL_FALSE), byteOffset, byteCount, destination, 0, nil, &event),
                    "clEnqueueReadBuffer(\(byteCount) bytes, non-blocking)")
        return event.map(OpenCLEvent.init)
    }

    /// Starts copying host memory into `buffer` at `byteOffset` and returns at once; the returned
    /// event ends when the host memory may be reused (nil for no bytes).
    func writeAsync(from source: UnsafeRawPointer, byteCount: Int, to buffer: OpenCLBuffer,
                    byteOffset: Int) throws(OpenCLError) -> OpenCLEvent? {
        guard byteCount > 0 else { return nil }
        var event: cl_event?
        try checkCL(clEnqueueWriteBuffer(handle, buffer.handle, cl_bool(CL_FALSE), byteOffset, byteCount, source, 0, nil, &event),
                    "clEnqueueWriteBuffer(\(byteCount) bytes, non-blocking)")
        return event.map(OpenCLEvent.init)
    }

    /// Copies between two buffers of this queue's context, on the device.
    func copy(_ source: OpenCLBuffer, byteOffset: Int, to destination: OpenCLBuffer, destinationByteOffset: Int,
              byteCount: Int) throws(OpenCLError) {
        guard byteCount > 0 else { return }
        try checkCL(clEnqueueCopyBuffer(handle, source.handle, destination.handle, byteOffset, destinationByteOffset,
                                        byteCount, 0, nil, nil),
                    "clEnqueueCopyBuffer(\(byteCount) bytes)")
    }
}

/// A completed or pending command; its profiling times are in nanoseconds of the device clock.
public final class OpenCLEvent: @unchecked Sendable {
    let handle: cl_event
    init(_ handle: cl_event) { self.handle = handle }
    deinit { clReleaseEvent(handle) }

    /// Takes over an event that another OpenCL library returned (CLBlast in cltrain-bench): this
    /// object releases it.
    public convenience init(adopting handle: cl_event) { self.init(handle) }

    /// The points of a command's life that profiling records (`CL_PROFILING_COMMAND_*`).
    public enum ProfilingPoint: Sendable {
        case queued, submitted, started, ended

        var info: (value: cl_profiling_info, name: String) {
            switch self {
            case .queued: (cl_profiling_info(CL_PROFILING_COMMAND_QUEUED), "CL_PROFILING_COMMAND_QUEUED")
            case .submitted: (cl_profiling_info(CL_PROFILING_COMMAND_SUBMIT), "CL_PROFILING_COMMAND_SUBMIT")
            case .started: (cl_profiling_info(CL_PROFILING_COMMAND_START), "CL_PROFILING_COMMAND_START")
            case .ended: (cl_profiling_info(CL_PROFILING_COMMAND_END), "CL_PROFILING_COMMAND_END")
            }
        }
    }

    public func wait() throws(OpenCLError) {
        var event: cl_event? = handle
        try checkCL(clWaitForEvents(1, &event), "clWaitForEvents")
    }

    /// Whether the command has ended, asked without waiting; a command that failed throws.
    func isComplete() throws(OpenCLError) -> Bool {
        var status: cl_int = 0
        try checkCL(clGetEventInfo(handle, cl_event_info(CL_EVENT_COMMAND_EXECUTION_STATUS), MemoryLayout<cl_int>.size, &status, nil),
                    "clGetEventInfo(CL_EVENT_COMMAND_EXECUTION_STATUS)")
        if status < 0 { throw OpenCLError(call: "a command's execution status", code: status) }
        return status == CL_COMPLETE
    }

    /// The device clock, in nanoseconds, when the command reached `point` (waits for it to finish).
    /// Needs a queue with profiling enabled, as every `OpenCLQueue` is.
    public func profilingNanoseconds(_ point: ProfilingPoint) throws(OpenCLError) -> UInt64 {
        try wait()
        var value: cl_ulong = 0
        let info = point.info
        try checkCL(clGetEventProfilingInfo(handle, info.value, MemoryLayout<cl_ulong>.size, &value, nil),
                    "clGetEventProfilingInfo(\(info.name))")
        return value
    }

    /// Device time from the command's start to its end, in seconds (waits for it to finish).
    public func elapsedSeconds() throws(OpenCLError) -> Double {
        let start = try profilingNanoseconds(.started), end = try profilingNanoseconds(.ended)
        return Double(end &- start) * 1e-9
    }
}

import COpenCL

/// A device allocation in one context. Released when the last tensor viewing it goes away.
package final class OpenCLBuffer: TensorStorage, @unchecked Sendable {
    let context: OpenCLContext
    let handle: cl_mem
    let byteCount: Int

    init(context: OpenCLContext, byteCount: Int) throws(OpenCLError) {
        self.context = context
        self.byteCount = max(byteCount, 4)
        var status: cl_int = CL_SUCCESS
        guard let mem = clCreateBuffer(context.handle, cl_mem_flags(CL_MEM_READ_WRITE), self.byteCount, nil, &status),
              status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateBuffer(\(byteCount) bytes on \(context.device.name))", code: status)
        }
        handle = mem
    }

    deinit { clReleaseMemObject(handle) }

    var elementCapacity: Int { byteCount / 4 }
    var location: String { "OpenCL device \(context.device.index) (\(context.device.name))" }
}

import COpenCL

/// One argument of a kernel launch, in the kernel's parameter order.
enum KernelArgument {
    case buffer(OpenCLBuffer)
    /// A 32-bit `int` parameter; callers have checked that sizes fit (`OperationChecks.fitsKernelInt`).
    case int(Int32)
    case float(Float)
    /// A 64-bit `ulong` parameter (a generator state).
    case ulong(UInt64)
}

/// A kernel object. `clSetKernelArg` mutates it, so a kernel belongs to one backend (one thread).
final class OpenCLKernel {
    let name: String
    let handle: cl_kernel
    let program: OpenCLProgram   // kept alive as long as its kernels

    init(program: OpenCLProgram, name: String) throws(OpenCLError) {
        self.program = program
        self.name = name
        var status: cl_int = CL_SUCCESS
        guard let kernel = clCreateKernel(program.handle, name, &status), status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateKernel(\(name))", code: status)
        }
        handle = kernel
    }

    deinit { clReleaseKernel(handle) }

    /// The largest work-group this kernel may be launched with on the program's device.
    func maxWorkGroupSize() throws(OpenCLError) -> Int {
        var size = 0
        try checkCL(clGetKernelWorkGroupInfo(handle, program.context.device.id,
                                             cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                             MemoryLayout<Int>.size, &size, nil),
                    "clGetKernelWorkGroupInfo(\(name))")
        return size
    }

    func setArguments(_ arguments: [KernelArgument]) throws(OpenCLError) {
        for (i, argument) in arguments.enumerated() {
            let index = cl_uint(i)
            let status: cl_int
            switch argument {
            case .buffer(let buffer):
                var mem: cl_mem? = buffer.handle
                status = clSetKernelArg(handle, index, MemoryLayout<cl_mem?>.size, &mem)
            case .int(let value):
                var v = cl_int(value)
                status = clSetKernelArg(handle, index, MemoryLayout<cl_int>.size, &v)
            case .float(let value):
                var v = cl_float(value)
                status = clSetKernelArg(handle, index, MemoryLayout<cl_float>.size, &v)
            case .ulong(let value):
                var v = cl_ulong(value)
                status = clSetKernelArg(handle, index, MemoryLayout<cl_ulong>.size, &v)
            }
            try checkCL(status, "clSetKernelArg(\(name), argument \(i))")
        }
    }
}

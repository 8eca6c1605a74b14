import COpenCL

/// One argument of a kernel launch, in the kernel's parameter order.
package enum KernelArgument {
    case buffer(OpenCLBuffer)
    /// A 32-bit `int` parameter; callers have checked that sizes fit (`OperationChecks.fitsKernelInt`).
    case int(Int32)
    case float(Float)
    /// A 64-bit `ulong` parameter (a generator state).
    case ulong(UInt64)
}

/// A kernel object. `clSetKernelArg` mutates it, so a kernel belongs to one backend (one thread).
package final class OpenCLKernel {
    package let name: String
    let handle: cl_kernel
    let program: OpenCLProgram   // kept alive as long as its kernels
    /// CL_KERNEL_WORK_GROUP_SIZE and CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE on the program's
    /// device, read once: the 2-D launches choose their groups from them (`LocalWorkSize`).
    let workGroupLimit: Int
    let preferredWorkGroupMultiple: Int

    init(program: OpenCLProgram, name: String) throws(OpenCLError) {
        self.program = program
        self.name = name
        var status: cl_int = CL_SUCCESS
        guard let kernel = clCreateKernel(program.handle, name, &status), status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateKernel(\(name))", code: status)
        }
        handle = kernel
        workGroupLimit = try Self.workGroupInfo(kernel, program, CL_KERNEL_WORK_GROUP_SIZE, "CL_KERNEL_WORK_GROUP_SIZE", name)
        preferredWorkGroupMultiple = try Self.workGroupInfo(kernel, program, CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE,
                                                            "CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE", name)
    }

    private static func workGroupInfo(_ kernel: cl_kernel, _ program: OpenCLProgram, _ info: Int32, _ infoName: String,
                                      _ name: String) throws(OpenCLError) -> Int {
        var value = 0
        let status = clGetKernelWorkGroupInfo(kernel, program.context.device.id, cl_kernel_work_group_info(info),
                                              MemoryLayout<Int>.size, &value, nil)
        if status != CL_SUCCESS { clReleaseKernel(kernel) }
        try checkCL(status, "clGetKernelWorkGroupInfo(\(name), \(infoName))")
        return value
    }

    deinit { clReleaseKernel(handle) }

    /// The largest work-group this kernel may be launched with on the program's device.
    package func maxWorkGroupSize() throws(OpenCLError) -> Int {
        var size = 0
        try checkCL(clGetKernelWorkGroupInfo(handle, program.context.device.id,
                                             cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                             MemoryLayout<Int>.size, &size, nil),
                    "clGetKernelWorkGroupInfo(\(name))")
        return size
    }

    package func setArguments(_ arguments: [KernelArgument]) throws(OpenCLError) {
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

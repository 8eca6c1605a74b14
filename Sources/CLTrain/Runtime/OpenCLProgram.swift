import COpenCL
import Foundation

/// A program built for one device: from a cached binary when a valid one exists, else from source.
final class OpenCLProgram: @unchecked Sendable {
    let name: String
    let context: OpenCLContext
    let handle: cl_program

    private init(name: String, context: OpenCLContext, handle: cl_program) {
        self.name = name
        self.context = context
        self.handle = handle
    }

    deinit { clReleaseProgram(handle) }

    func makeKernel(_ kernelName: String) throws(OpenCLError) -> OpenCLKernel {
        try OpenCLKernel(program: self, name: kernelName)
    }

    static func build(name: String, source: String, options: String, context: OpenCLContext,
                      cache: ProgramBinaryCache?) throws -> OpenCLProgram {
        let device = context.device
        let key = cache.map { _ in ProgramBinaryCache.Key(device: device, source: source, options: options) }
        // A cached binary that the driver refuses (stale, corrupt, other driver) is dropped and
        // rebuilt from source: the cache can only ever save time.
        if let cache, let key, let binary = cache.load(key) {
            if let program = try? fromBinary(binary, name: name, options: options, context: context) {
                return program
            }
            cache.remove(key)
        }
        let program = try fromSource(source, name: name, options: options, context: context)
        if let cache, let key, let binary = try? program.binary() {
            cache.store(binary, for: key)
        }
        return program
    }

    private static func fromSource(_ source: String, name: String, options: String,
                                   context: OpenCLContext) throws -> OpenCLProgram {
        var status: cl_int = CL_SUCCESS
        let handle: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(context.handle, 1, &pointer, &length, &status)
        }
        guard let handle, status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateProgramWithSource(\(name))", code: status)
        }
        let program = OpenCLProgram(name: name, context: context, handle: handle)
        try program.compile(options: options)
        return program
    }

    private static func fromBinary(_ binary: [UInt8], name: String, options: String,
                                   context: OpenCLContext) throws -> OpenCLProgram {
        var status: cl_int = CL_SUCCESS
        var binaryStatus: cl_int = CL_SUCCESS
        var device: cl_device_id? = context.device.id
        var length = binary.count
        let handle: cl_program? = binary.withUnsafeBufferPointer { bytes in
            var pointer: UnsafePointer<UInt8>? = bytes.baseAddress
            return clCreateProgramWithBinary(context.handle, 1, &device, &length, &pointer, &binaryStatus, &status)
        }
        guard let handle, status == CL_SUCCESS, binaryStatus == CL_SUCCESS else {
            if let handle { clReleaseProgram(handle) }
            throw OpenCLError(call: "clCreateProgramWithBinary(\(name))", code: status != CL_SUCCESS ? status : binaryStatus)
        }
        let program = OpenCLProgram(name: name, context: context, handle: handle)
        try program.compile(options: options)
        return program
    }

    private func compile(options: String) throws {
        var device: cl_device_id? = context.device.id
        let status = clBuildProgram(handle, 1, &device, options, nil, nil)
        if status == CL_BUILD_PROGRAM_FAILURE || status == CL_INVALID_BUILD_OPTIONS {
            throw OpenCLBuildError(program: name, device: context.device.name, options: options,
                                   log: (try? buildLog()) ?? "(no build log)")
        }
        try checkCL(status, "clBuildProgram(\(name))")
    }

    func buildLog() throws(OpenCLError) -> String {
        var size = 0
        let param = cl_program_build_info(CL_PROGRAM_BUILD_LOG)
        try checkCL(clGetProgramBuildInfo(handle, context.device.id, param, 0, nil, &size), "clGetProgramBuildInfo(\(name))")
        var bytes = [UInt8](repeating: 0, count: max(size, 1))
        try checkCL(clGetProgramBuildInfo(handle, context.device.id, param, size, &bytes, nil), "clGetProgramBuildInfo(\(name))")
        let end = bytes.firstIndex(of: 0) ?? bytes.endIndex
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// The device binary, for the disk cache (one device per program, so one binary).
    func binary() throws(OpenCLError) -> [UInt8] {
        var size = 0
        try checkCL(clGetProgramInfo(handle, cl_program_info(CL_PROGRAM_BINARY_SIZES), MemoryLayout<Int>.size, &size, nil),
                    "clGetProgramInfo(\(name), CL_PROGRAM_BINARY_SIZES)")
        guard size > 0 else { throw OpenCLError(call: "clGetProgramInfo(\(name), CL_PROGRAM_BINARY_SIZES)", code: CL_INVALID_BINARY) }
        var bytes = [UInt8](repeating: 0, count: size)
        let status = bytes.withUnsafeMutableBufferPointer { buffer in
            var pointer: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return clGetProgramInfo(handle, cl_program_info(CL_PROGRAM_BINARIES),
                                    MemoryLayout<UnsafeMutablePointer<UInt8>?>.size, &pointer, nil)
        }
        try checkCL(status, "clGetProgramInfo(\(name), CL_PROGRAM_BINARIES)")
        return bytes
    }
}

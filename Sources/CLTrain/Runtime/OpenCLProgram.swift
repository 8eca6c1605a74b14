import COpenCL
import Foundation
import Logging
import Synchronization

/// A program built for one device: from a cached binary when a valid one exists, else from source.
package final class OpenCLProgram: @unchecked Sendable {
    let name: String
    let context: OpenCLContext
    let handle: cl_program
    /// Where the program came from: for the tests, and for whoever reads a log.
    private(set) var origin: Origin = .compiled

    enum Origin: Equatable, Sendable {
        /// Compiled from source (no usable cache entry, or no cache).
        case compiled
        /// Loaded from a cache entry that passed every check.
        case cached
        /// Compiled from source after the cache entry was evicted, for this reason.
        case rebuilt(evictedBecause: String)
    }

    private init(name: String, context: OpenCLContext, handle: cl_program) {
        self.name = name
        self.context = context
        self.handle = handle
    }

    deinit { clReleaseProgram(handle) }

    /// The cache entry a `.cached` program was loaded from.
    private var entry: (cache: ProgramBinaryCache, key: ProgramBinaryCache.Key)?

    package func makeKernel(_ kernelName: String) throws(OpenCLError) -> OpenCLKernel {
        do {
            return try OpenCLKernel(program: self, name: kernelName)
        } catch {
            // A kernel `build` was not told to check for, missing from a cached binary: remove the
            // entry, so that the next run compiles from source instead of failing the same way.
            if error.code == CL_INVALID_KERNEL_NAME, let entry, entry.cache.evict(entry.key) {
                Self.cacheLogger.warning("kernel cache entry \(entry.cache.fileURL(entry.key).path) lacks kernel \(kernelName); removed it, the next run rebuilds \(name) from source")
            }
            throw error
        }
    }

    static let cacheLogger = Logger(label: "cltrain.kernel-cache")
    /// A cache that cannot be written is said once per process at warning level, then at debug.
    private static let storeFailureLogged = Mutex(false)

    /// Builds `source` for the context's device, using `cache` when it holds a valid entry.
    ///
    /// An entry that fails to load or to work — its header or checksum (`ProgramBinaryCache`),
    /// `clCreateProgramWithBinary` or the device's binary status, `clBuildProgram` on the binary,
    /// or `clCreateKernel` of any of `kernels` — is evicted and the program rebuilt from source
    /// once, with one warning naming the file and the reason. The fresh binary replaces the entry.
    ///
    /// - Parameters:
    ///   - name: the program's name in errors, logs and the cache key (the kernel family's file name).
    ///   - kernels: the entry points the caller will create; a cached binary must provide each.
    ///   - warn: where an eviction or a failed write is said (default: a warning in the
    ///     "cltrain.kernel-cache" log; the first failed write per process, later ones at debug).
    /// - Throws: `OpenCLBuildError` (with the build log) if the source does not compile, else
    ///   `OpenCLError`. Cache trouble never throws.
    static func build(name: String, source: String, options: String, kernels: [String], context: OpenCLContext,
                      cache: ProgramBinaryCache?, warn: ((String) -> Void)? = nil) throws -> OpenCLProgram {
        let report = warn ?? { cacheLogger.warning("\($0)") }
        let key = cache.map { _ in ProgramBinaryCache.Key(program: name, device: context.device, source: source, options: options) }
        var evicted: String?
        if let cache, let key {
            switch cache.load(key) {
            case .miss:
                break
            case .hit(let binary):
                do {
                    let program = try fromBinary(binary, name: name, options: options, context: context)
                    // A binary of another program under this key would fail only at first use.
                    for kernel in kernels { _ = try program.makeKernel(kernel) }
                    program.origin = .cached
                    program.entry = (cache, key)
                    return program
                } catch let error as OpenCLBuildError {
                    evicted = "the driver refused it: clBuildProgram: \(OpenCLError.name(of: error.code))"
                } catch {
                    evicted = "the driver refused it: \(error)"
                }
            case .invalid(let reason):
                evicted = reason
            }
            if let evicted {
                let removed = cache.evict(key) ? "removed it" : "could not remove it"
                report("kernel cache entry \(cache.fileURL(key).path) is unusable: \(evicted); \(removed), rebuilding \(name) from source")
            }
        }
        let program = try fromSource(source, name: name, options: options, context: context)
        if let evicted { program.origin = .rebuilt(evictedBecause: evicted) }
        if let cache, let key {
            do {
                try cache.store(try program.binary(), for: key)
            } catch {
                let message = "cannot write kernel cache entry \(cache.fileURL(key).path): \(error); kernels will be compiled again next run (CLTRAIN_CACHE_DIR=off turns the cache off)"
                if let warn {
                    warn(message)
                } else if storeFailureLogged.withLock({ logged in defer { logged = true }; return !logged }) {
                    cacheLogger.warning("\(message)")
                } else {
                    cacheLogger.debug("\(message)")
                }
            }
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
        if status == CL_BUILD_PROGRAM_FAILURE || status == CL_INVALID_BUILD_OPTIONS || status == CL_COMPILE_PROGRAM_FAILURE {
            throw OpenCLBuildError(program: name, device: "OpenCL device \(context.device.index) (\(context.device.name))",
                                   options: options, code: status, log: (try? buildLog()) ?? "")
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

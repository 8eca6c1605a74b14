import COpenCL
import Synchronization

/// One OpenCL device with its context and the programs built for it.
///
/// Shared by every backend (command queue) on that device: buffers created here may be used on any
/// of its queues, and each program is built once per process, or loaded from the on-disk binary
/// cache. Thread-safe.
public final class OpenCLContext: @unchecked Sendable {
    public let device: OpenCLDeviceDescription
    let handle: cl_context
    private let programs = Mutex<[ProgramKey: OpenCLProgram]>([:])
    private let binaryCache: ProgramBinaryCache?

    struct ProgramKey: Hashable {
        let name: String
        let source: String
        let options: String
    }

    init(device: OpenCLDeviceDescription, binaryCache: ProgramBinaryCache? = .default) throws(OpenCLError) {
        self.device = device
        self.binaryCache = binaryCache
        var status: cl_int = CL_SUCCESS
        var id: cl_device_id? = device.id
        guard let context = clCreateContext(nil, 1, &id, nil, nil, &status), status == CL_SUCCESS else {
            throw OpenCLError(call: "clCreateContext(\(device.name))", code: status)
        }
        self.handle = context
    }

    deinit { clReleaseContext(handle) }

    /// A command queue with profiling enabled (so benchmarks can read kernel times from events).
    public func makeQueue() throws(OpenCLError) -> OpenCLQueue {
        try OpenCLQueue(context: self)
    }

    /// A device buffer of `byteCount` bytes (at least one byte: OpenCL refuses empty buffers).
    func makeBuffer(byteCount: Int) throws(OpenCLError) -> OpenCLBuffer {
        try OpenCLBuffer(context: self, byteCount: byteCount)
    }

    /// The program `name` built from `source` with `options`: from memory, else from the disk cache,
    /// else compiled (and then cached). `kernels` are the entry points the caller will create: a
    /// cached binary that lacks one is evicted and rebuilt. A build failure throws
    /// `OpenCLBuildError` with the log.
    package func program(name: String, source: String, options: String, kernels: [String]) throws -> OpenCLProgram {
        let key = ProgramKey(name: name, source: source, options: options)
        if let built = programs.withLock({ $0[key] }) { return built }
        // Built outside the lock: compiling can take seconds, and two threads building the same
        // program at once only costs time, never correctness.
        let program = try OpenCLProgram.build(name: name, source: source, options: options, kernels: kernels,
                                              context: self, cache: binaryCache)
        return programs.withLock { table in
            if let raced = table[key] { return raced }
            table[key] = program
            return program
        }
    }
}

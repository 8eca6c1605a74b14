import CLTrain
import COpenCL
import Foundation

/// CLBlast's `CLBlastSgemm`, loaded at run time with dlopen so that CLTrain neither links nor
/// needs it: where libclblast is not installed (Debian: libclblast-dev), the reference column
/// stays empty. Runs on the backend's own queue and buffers.
final class CLBlastReference: GemmReference {
    // From clblast_c.h (CLBlast 1.5):
    //   CLBlastStatusCode CLBlastSgemm(const CLBlastLayout layout, const CLBlastTranspose a_transpose,
    //       const CLBlastTranspose b_transpose, const size_t m, const size_t n, const size_t k,
    //       const float alpha, const cl_mem a_buffer, const size_t a_offset, const size_t a_ld,
    //       const cl_mem b_buffer, const size_t b_offset, const size_t b_ld, const float beta,
    //       cl_mem c_buffer, const size_t c_offset, const size_t c_ld,
    //       cl_command_queue* queue, cl_event* event);
    // The enums are C ints; offsets are in elements.
    private typealias Sgemm = @convention(c) (
        Int32, Int32, Int32, Int, Int, Int, Float,
        cl_mem?, Int, Int, cl_mem?, Int, Int, Float, cl_mem?, Int, Int,
        UnsafeMutablePointer<cl_command_queue?>?, UnsafeMutablePointer<cl_event?>?) -> Int32
    private static let layoutRowMajor: Int32 = 101
    private static let transposeNo: Int32 = 111, transposeYes: Int32 = 112

    let name: String
    private let backend: OpenCLBackend
    private let sgemm: Sgemm

    private init(name: String, backend: OpenCLBackend, sgemm: Sgemm) {
        self.name = name
        self.backend = backend
        self.sgemm = sgemm
    }

    /// The file names tried, in order: the runtime package's soname, then the development link.
    static let libraryNames = ["libclblast.so.1", "libclblast.so"]

    /// CLBlast for `backend`, or nil with the reason when the library cannot be loaded. The
    /// handle is never closed: CLBlast keeps compiled programs for the life of the process.
    static func load(for backend: OpenCLBackend) -> (reference: CLBlastReference?, note: String?) {
        guard let handle = libraryNames.lazy.compactMap({ dlopen($0, RTLD_NOW | RTLD_LOCAL) }).first else {
            return (nil, "CLBlast not found (\(libraryNames.joined(separator: ", "))); install libclblast-dev for the reference column")
        }
        guard let symbol = dlsym(handle, "CLBlastSgemm") else {
            return (nil, "CLBlastSgemm not found in libclblast")
        }
        return (CLBlastReference(name: "CLBlast" + loadedVersion(), backend: backend,
                                 sgemm: unsafeBitCast(symbol, to: Sgemm.self)), nil)
    }

    /// " 1.5.3" from the real name of the loaded file (libclblast.so.1.5.3), as the process's
    /// memory map lists it, or "" where that does not tell.
    private static func loadedVersion() -> String {
        guard let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8),
              let line = maps.split(separator: "\n").first(where: { $0.contains("libclblast.so") }),
              let path = line.split(separator: " ").last,
              let range = path.range(of: "libclblast.so.") else { return "" }
        return " " + path[range.upperBound...]
    }

    /// A buffer and the first element of an operand in it.
    private typealias Operand = (memory: cl_mem, elementOffset: Int)

    /// Timed as CLTrain's own cases are, on the device clock: from the end of a marker enqueued
    /// before the call to the end of the event CLBlast returns for its last kernel. Any helper
    /// kernels it runs first (to pad or transpose operands) lie between the two on the in-order queue.
    func prepareGemm(_ shape: GemmShape, _ operands: (a: Tensor, b: Tensor, c: Tensor)) throws -> PreparedGemm {
        let a = try backend.unsafeMemoryObject(of: operands.a)
        let b = try backend.unsafeMemoryObject(of: operands.b)
        let c = try backend.unsafeMemoryObject(of: operands.c)
        let leading = (a: operands.a.shape[1], b: operands.b.shape[1], c: operands.c.shape[1])
        return PreparedGemm(run: { [self] in try run(shape, a, b, c, leading: leading) },
                            result: { [backend] in try backend.download(operands.c) })
    }

    private func run(_ shape: GemmShape, _ a: Operand, _ b: Operand, _ c: Operand,
                     leading: (a: Int, b: Int, c: Int)) throws -> Double {
        let before = try backend.queue.marker()
        var queue: cl_command_queue? = backend.queue.unsafeHandle
        var event: cl_event? = nil
        let status = sgemm(Self.layoutRowMajor,
                           shape.transposeA ? Self.transposeYes : Self.transposeNo,
                           shape.transposeB ? Self.transposeYes : Self.transposeNo,
                           shape.m, shape.n, shape.k, 1,
                           a.memory, a.elementOffset, leading.a,
                           b.memory, b.elementOffset, leading.b, 0,
                           c.memory, c.elementOffset, leading.c,
                           &queue, &event)
        let done = event.map { OpenCLEvent(adopting: $0) }   // released however this ends
        guard status == 0, let done else {
            throw CLTrainError.invalidArgument(
                "CLBlastSgemm(\(shape.transposes) \(shape.m)x\(shape.n)x\(shape.k)) on \(backend.name) "
                + "returned status \(status)\(event == nil ? " and no event" : "") (see CLBlastStatusCode in clblast_c.h)")
        }
        let start = try before.profilingNanoseconds(.ended), end = try done.profilingNanoseconds(.ended)
        guard end >= start else {
            throw CLTrainError.invalidArgument("CLBlastSgemm on \(backend.name): its event ended before the marker ahead of it")
        }
        return Double(end - start) * 1e-9
    }
}

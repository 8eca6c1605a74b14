import CBLAS
import CLTrain
import Foundation

/// The CPU backend's peak, by the rule the bench's roofline kernels follow on OpenCL devices but
/// with the host's best tools: a large OpenBLAS sgemm for FLOP/s (OpenBLAS's kernels are the
/// fastest FMA code the host has) and a large memcpy for bytes/s (reads plus writes). Wall clock,
/// median of several runs after a warm-up.
enum HostPeak {
    static func measure(quick: Bool) throws -> DevicePeak {
        let runs = quick ? 1 : 5
        let n = quick ? 512 : 2048
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let sgemm = try WallClock.timings(runs: runs) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(n), blasint(n), blasint(n),
                        1, a, blasint(n), b, blasint(n), 0, &c, blasint(n))
        }.median

        let megabytes = quick ? 16 : 256
        let bytes = megabytes << 20
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { source.deallocate(); destination.deallocate() }
        memset(source, 1, bytes)
        memset(destination, 0, bytes)
        let copy = try WallClock.timings(runs: runs) { memcpy(destination, source, bytes) }.median

        let flops = 2 * pow(Double(n), 3) / sgemm
        return DevicePeak(flopsPerSecond: flops, bytesPerSecond: Double(2 * bytes) / copy,
                          method: "OpenBLAS sgemm \(n)³ for FLOP/s, memcpy of \(megabytes) MiB for bytes/s; "
                                  + "wall clock, median of \(runs)")
    }

    /// Advice when OpenBLAS (built with DYNAMIC_ARCH) runs kernels older than the CPU's vector
    /// unit, as it does where a virtual CPU hides its model: OPENBLAS_CORETYPE picks the kernels.
    /// On a 2-core AVX-512 machine that reported "Prescott", SkylakeX made sgemm about 10× faster.
    static func coreTypeAdvice(blasConfiguration: String) -> String? {
        let oldCores: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai"]
        guard let core = blasConfiguration.split(separator: " ").map(String.init).first(where: oldCores.contains),
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let suggestion = flags.contains("avx512f") ? "SkylakeX" : flags.contains("avx2") ? "Haswell" : nil
        return suggestion.map {
            "OpenBLAS runs its \(core) kernels on a CPU with \($0 == "SkylakeX" ? "AVX-512" : "AVX2"): "
            + "OPENBLAS_CORETYPE=\($0) makes the CPU backend and its peak much faster"
        }
    }
}

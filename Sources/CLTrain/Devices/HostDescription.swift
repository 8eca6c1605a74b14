import CBLAS
import Foundation

/// What the CPU backend runs on: the host's processor, cores and memory, and the BLAS build.
public struct HostDescription: Sendable, Codable, Equatable {
    /// The processor's model name from /proc/cpuinfo, or "CPU" where that is not readable.
    public let name: String
    public let activeProcessors: Int
    public let memoryBytes: UInt64
    /// OpenBLAS's build configuration, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    public let blasConfiguration: String

    /// The version word of `blasConfiguration`, e.g. "0.3.21", or the whole configuration.
    public var blasVersion: String {
        let words = blasConfiguration.split(separator: " ")
        return words.count > 1 && words[0] == "OpenBLAS" ? String(words[1]) : blasConfiguration
    }

    public static var current: HostDescription {
        HostDescription(
            name: cpuModelName() ?? "CPU",
            activeProcessors: ProcessInfo.processInfo.activeProcessorCount,
            memoryBytes: ProcessInfo.processInfo.physicalMemory,
            blasConfiguration: openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS")
    }

    /// The first "model name" line of /proc/cpuinfo (Linux on x86; ARM kernels often omit it).
    private static func cpuModelName() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if !name.isEmpty { return name }
        }
        return nil
    }
}

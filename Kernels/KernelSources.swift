// The OpenCL C sources in this folder, embedded into the binary at build time (SwiftPM's
// `.embedInCode`), so an executable copied to another machine needs no resource files.

/// One family of kernels: one `.cl` file in Kernels/.
public enum KernelFamily: String, CaseIterable, Sendable {
    case elementwise
    case matmul
    /// The fast gemm over whole tiles (matmul_tiled.cl); `matmul` is the direct kernel for the rest.
    case matmulTiled = "matmul_tiled"
    case softmax
    case lstm
    /// The benchmark's roofline kernels (peak FLOP/s and bytes/s); no backend operation uses them.
    case roofline

    /// The file's OpenCL C source.
    public var source: String {
        let bytes: [UInt8] = switch self {
        case .elementwise: PackageResources.elementwise_cl
        case .matmul: PackageResources.matmul_cl
        case .matmulTiled: PackageResources.matmul_tiled_cl
        case .softmax: PackageResources.softmax_cl
        case .lstm: PackageResources.lstm_cl
        case .roofline: PackageResources.roofline_cl
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public var fileName: String { "\(rawValue).cl" }
}

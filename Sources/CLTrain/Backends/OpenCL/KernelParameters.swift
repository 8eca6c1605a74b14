import CLTrainKernels

/// Tunable sizes for the kernels, passed as `-D NAME=value` build options over the `#ifndef`
/// defaults in Kernels/*.cl. Chosen per device (`forDevice`): a row the tuner wrote for this device
/// and driver (`GemmTuningFile`), else the built-in table (vendor → device → vendor default),
/// else the generic default, as CLBlast does.
struct KernelParameters: Equatable, Sendable {
    /// The direct gemm (matmul.cl): tile of C per work-group (tileM × tileN), depth of the staged
    /// K slab, and the block each work-item accumulates (workPerItemM × workPerItemN).
    var tileM = 64, tileN = 64, tileK = 16
    var workPerItemM = 4, workPerItemN = 4
    /// The tiled gemm (matmul_tiled.cl); nil: the direct kernel computes every gemm.
    var tiledGemm: TiledGemmParameters? = .generic
    /// Work-group size of the row reductions (softmax, cross-entropy, sum of squares); a power of two.
    var reductionGroupSize = 256
    /// Elements each work-item of a softmax chunk holds in registers (a chunk is
    /// reductionGroupSize × this); more means fewer partial pairs but more registers.
    var softmaxItemsPerWorkItem = 16

    /// The work-group shape the direct gemm kernels are compiled for: (along N, along M).
    var gemmGroup: (n: Int, m: Int) { (tileN / workPerItemN, tileM / workPerItemM) }

    func buildOptions(for family: KernelFamily) -> String {
        let defines: [(String, Int)] = switch family {
        case .matmul: [("TSM", tileM), ("TSN", tileN), ("TSK", tileK), ("WPTM", workPerItemM), ("WPTN", workPerItemN)]
        case .matmulTiled: (tiledGemm ?? .generic).defines
        case .softmax: [("WGS", reductionGroupSize), ("ITEMS", softmaxItemsPerWorkItem)]
        case .elementwise: [("WGS", reductionGroupSize)]
        case .lstm, .roofline: []
        }
        return Self.buildOptions(defines)
    }

    static func buildOptions(_ defines: [(String, Int)]) -> String {
        (["-cl-std=CL1.2"] + defines.map { "-D \($0.0)=\($0.1)" }).joined(separator: " ")
    }

    /// Where a device's tiled gemm parameters came from, for the log line and `cltrain devices`.
    enum Source: Equatable, Sendable, CustomStringConvertible {
        case tuningFile, deviceRow(String), vendorDefault(String), genericDefault

        var description: String {
            switch self {
            case .tuningFile: "the tuning file"
            case .deviceRow(let name): "the built-in row for '\(name)'"
            case .vendorDefault(let vendor): "the built-in default for vendor '\(vendor)'"
            case .genericDefault: "the generic default"
            }
        }
    }

    /// The parameters for `device`: the tuning file's entry for its name and driver version, else
    /// its own row of the built-in table, else its vendor's default, else the generic default.
    static func forDevice(_ device: OpenCLDeviceDescription,
                          tuning: GemmTuningFile = .loadedDefault) -> (parameters: KernelParameters, source: Source) {
        var (parameters, source) = builtIn(vendor: device.vendor, name: device.name)
        if let tuned = tuning.entry(deviceName: device.name, driverVersion: device.driverVersion) {
            parameters.tiledGemm = tuned.parameters
            source = .tuningFile
        }
        return (parameters, source)
    }

    static func builtIn(vendor: String, name: String) -> (KernelParameters, Source) {
        let vendor = vendor.lowercased()
        for entry in table where vendor.contains(entry.vendor) {
            if let row = entry.devices.first(where: { name.contains($0.name) }) { return (row.parameters, .deviceRow(row.name)) }
            return (entry.vendorDefault, .vendorDefault(entry.vendor))
        }
        return (KernelParameters(), .genericDefault)
    }

    private struct VendorEntry {
        let vendor: String   // lower-case substring of CL_DEVICE_VENDOR
        let vendorDefault: KernelParameters
        let devices: [(name: String, parameters: KernelParameters)]   // name: substring of CL_DEVICE_NAME
    }

    /// Measured rows only: `cltrain-bench tune` prints the row to paste here, e.g.
    ///     VendorEntry(vendor: "nvidia", vendorDefault: KernelParameters(),
    ///                 devices: [("H100", KernelParameters(tiledGemm: TiledGemmParameters(...)))])
    /// Until the tuner has run on a device, its vendor's default is the generic default, which is
    /// correct everywhere and reasonable on GPUs and CPUs alike.
    private static let table: [VendorEntry] = []
}

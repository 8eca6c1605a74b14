import CLTrainKernels

/// Tunable sizes for the kernels, passed as `-D NAME=value` build options over the `#ifndef`
/// defaults in Kernels/*.cl. Chosen per device from a small table (vendor → device → default),
/// as CLBlast does; the tuner of the fast-kernels work fills in more rows.
struct KernelParameters: Equatable, Sendable {
    /// gemm: tile of C per work-group (tileM × tileN), depth of the staged K slab, and the block
    /// each work-item accumulates (workPerItemM × workPerItemN).
    var tileM = 64, tileN = 64, tileK = 16
    var workPerItemM = 4, workPerItemN = 4
    /// Work-group size of the row reductions (softmax, cross-entropy, sum of squares); a power of two.
    var reductionGroupSize = 256
    /// Elements each work-item of a softmax chunk holds in registers (a chunk is
    /// reductionGroupSize × this); more means fewer partial pairs but more registers.
    var softmaxItemsPerWorkItem = 16

    /// The work-group shape gemm kernels are compiled for: (along N, along M).
    var gemmGroup: (n: Int, m: Int) { (tileN / workPerItemN, tileM / workPerItemM) }

    func buildOptions(for family: KernelFamily) -> String {
        let defines: [(String, Int)] = switch family {
        case .matmul: [("TSM", tileM), ("TSN", tileN), ("TSK", tileK), ("WPTM", workPerItemM), ("WPTN", workPerItemN)]
        case .softmax: [("WGS", reductionGroupSize), ("ITEMS", softmaxItemsPerWorkItem)]
        case .elementwise: [("WGS", reductionGroupSize)]
        case .lstm, .roofline: []
        }
        return (["-cl-std=CL1.2"] + defines.map { "-D \($0.0)=\($0.1)" }).joined(separator: " ")
    }

    /// The parameters for `device`: its own row if the table has one, else its vendor's, else the default.
    static func forDevice(_ device: OpenCLDeviceDescription) -> KernelParameters {
        let vendor = device.vendor.lowercased()
        for entry in table where vendor.contains(entry.vendor) {
            if let row = entry.devices.first(where: { device.name.contains($0.name) }) { return row.parameters }
            return entry.vendorDefault
        }
        return KernelParameters()
    }

    private struct VendorEntry {
        let vendor: String   // lower-case substring of CL_DEVICE_VENDOR
        let vendorDefault: KernelParameters
        let devices: [(name: String, parameters: KernelParameters)]
    }

    /// Measured rows only. Until the tuner has run on a device, its vendor's default is the
    /// generic default, which is correct everywhere and reasonable on GPUs and CPUs alike.
    private static let table: [VendorEntry] = []
}

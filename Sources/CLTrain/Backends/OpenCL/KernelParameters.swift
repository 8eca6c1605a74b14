import CLTrainKernels

/// Tunable sizes for the kernels, passed as `-D NAME=value` build options over the `#ifndef`
/// defaults in Kernels/*.cl. Chosen per device (`forDevice`): a row the tuner wrote for this device
/// and driver (`GemmTuningFile`), else the built-in table (vendor → device → vendor default),
/// else the generic default, as CLBlast does.
package struct KernelParameters: Equatable, Sendable {
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

    package func buildOptions(for family: KernelFamily) -> String {
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
        forDevice(vendor: device.vendor, name: device.name, driverVersion: device.driverVersion, tuning: tuning)
    }

    /// The same choice from a device's CL_DEVICE_VENDOR, CL_DEVICE_NAME and CL_DRIVER_VERSION, over
    /// `table` (the built-in one unless a test passes its own).
    static func forDevice(vendor: String, name: String, driverVersion: String, tuning: GemmTuningFile,
                          table: [VendorEntry] = table) -> (parameters: KernelParameters, source: Source) {
        var (parameters, source) = builtIn(vendor: vendor, name: name, table: table)
        if let tuned = tuning.entry(deviceName: name, driverVersion: driverVersion) {
            parameters.tiledGemm = tuned.parameters
            source = .tuningFile
        }
        return (parameters, source)
    }

    static func builtIn(vendor: String, name: String, table: [VendorEntry] = table) -> (KernelParameters, Source) {
        let vendor = vendor.lowercased()
        for entry in table where vendor.contains(entry.vendor) {
            if let row = entry.devices.first(where: { $0.matches(name) }) { return (row.parameters, .deviceRow(row.name)) }
            return (entry.vendorDefault, .vendorDefault(entry.vendor))
        }
        return (KernelParameters(), .genericDefault)
    }

    /// One vendor's part of the built-in table: its default and its measured devices.
    struct VendorEntry: Sendable {
        /// Lower-case substring of CL_DEVICE_VENDOR, e.g. "nvidia" for "NVIDIA Corporation".
        let vendor: String
        let vendorDefault: KernelParameters
        let devices: [DeviceRow]

        init(vendor: String, vendorDefault: KernelParameters = KernelParameters(), devices: [DeviceRow]) {
            (self.vendor, self.vendorDefault, self.devices) = (vendor, vendorDefault, devices)
        }
    }

    /// A measured device: `name` is a substring of CL_DEVICE_NAME (case matters, as the driver
    /// spells it). `alsoFor` lists further substrings that share the measurement, such as another
    /// part of the same chip (the H100 and the H200 are both Hopper GH100, with the same FP32
    /// units, so one tuned row serves both until each is measured).
    struct DeviceRow: Sendable {
        let name: String
        var alsoFor: [String] = []
        let parameters: KernelParameters

        init(_ name: String, alsoFor: [String] = [], _ parameters: KernelParameters) {
            (self.name, self.alsoFor, self.parameters) = (name, alsoFor, parameters)
        }

        func matches(_ deviceName: String) -> Bool {
            ([name] + alsoFor).contains { deviceName.contains($0) }
        }
    }

    /// The key `cltrain-bench tune` prints for a CL_DEVICE_VENDOR: the known GPU vendors' short
    /// names, else the whole vendor string in lower case (a substring of itself). Not "amd": PoCL
    /// reports the host CPU's vendor ("AuthenticAMD", "GenuineIntel"), which a GPU's row must not match.
    static func vendorKey(_ vendor: String) -> String {
        let lower = vendor.lowercased()
        for known in ["nvidia", "advanced micro devices", "intel(r)", "apple", "qualcomm", "imagination"]
        where lower.contains(known) {
            return known
        }
        return lower
    }

    /// The Swift text of a built-in table entry holding one tuned device row, as
    /// `cltrain-bench tune` prints it for pasting into `table` below.
    package static func tableEntryLiteral(vendor: String, deviceName: String, tiledGemm: TiledGemmParameters) -> String {
        func quoted(_ text: String) -> String {
            "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return """
            VendorEntry(vendor: \(quoted(vendorKey(vendor))), devices: [
                DeviceRow(\(quoted(deviceName)), KernelParameters(tiledGemm: \(tiledGemm.swiftLiteral))),
            ]),
            """
    }

    /// Measured rows only, each from `cltrain-bench tune` on that device (it prints the entry to
    /// paste here; add a DeviceRow to an existing vendor's `devices` rather than a second entry for
    /// the vendor, since the first vendor match wins). The NVIDIA Hopper row goes here once a GPU
    /// session has tuned it, in the shape
    ///     VendorEntry(vendor: "nvidia", devices: [
    ///         DeviceRow("H200", alsoFor: ["H100"], KernelParameters(tiledGemm: TiledGemmParameters(...))),
    ///     ]),
    /// Until the tuner has run on a device, its vendor's default is the generic default, which is
    /// correct everywhere and reasonable on GPUs and CPUs alike.
    static let table: [VendorEntry] = []
}

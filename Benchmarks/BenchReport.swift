import CLTrain
import Foundation

/// Everything one run of cltrain-bench measured: what `--json` writes and the table prints.
struct BenchReport: Codable {
    struct Options: Codable {
        let quick: Bool
        let warmup: Int
        let repeats: Int
        let filter: String?
        /// `--suite`, if given.
        var suite: String? = nil
        /// nil: the default, 50 GFLOP on devices that are not GPUs and no limit on GPUs.
        let maxGigaflop: Double?
    }

    /// A case over the device's GFLOP limit (`--max-gflop`, or the default for its kind).
    struct Skipped: Codable {
        let device: String
        let `case`: String
        let gigaflop: Double
        let limitGigaflop: Double
    }

    /// ISO 8601, UTC.
    let date: String
    let commandLine: [String]
    let host: HostDescription
    let options: Options
    var devices: [DeviceRecord] = []
    var results: [CaseResult] = []
    var skipped: [Skipped] = []
    /// Devices that could not start and cases that failed, in words.
    var errors: [String] = []

    /// Also a reference library that failed on a case.
    var failed: Bool { !errors.isEmpty || results.contains { $0.error != nil || $0.referenceError != nil } }

    func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    static let tableHeaders = ["device", "case", "median ms", "p10 ms", "p90 ms", "GFLOP/s", "GB/s", "% peak",
                               "reference", "ref ms", "ref GFLOP/s", "% of ref"]

    var table: TextTable {
        TextTable(headers: Self.tableHeaders, rows: results.map(\.tableRow))
    }
}

/// One device as the report describes it.
struct DeviceRecord: Codable {
    /// As `--device` takes it: an OpenCL index or "cpu".
    let label: String
    /// "opencl gpu", "opencl" (another OpenCL device type, such as PoCL's CPU device) or "cpu".
    let kind: String
    let name: String
    let platform: String
    let driverVersion: String
    let computeUnits: Int
    var timing: String?
    var peak: DevicePeak?
    /// The gemm reference library and version, or nil.
    var reference: String?
    /// Why there is no reference, if there is none.
    var referenceNote: String?
    /// OpenCL: the median span of two markers with nothing between them.
    var timerFloorSeconds: Double?
    /// Anything the reader should know about the figures, e.g. a BLAS using too old kernels.
    var note: String?
}

/// One case on one device.
struct CaseResult: Codable {
    struct Reference: Codable {
        let name: String
        let time: TimingSummary
        let gigaflopsPerSecond: Double?
        /// CLTrain's rate as a percentage of the reference's (100: as fast).
        let percentOfReference: Double?
    }

    let device: String
    let `case`: String
    let summary: String
    var flops: Double?
    var bytes: Double?
    var time: TimingSummary?
    var gigaflopsPerSecond: Double?
    var gigabytesPerSecond: Double?
    /// Of the device's FLOP/s peak for cases counted in FLOPs, else of its bytes/s peak.
    var percentOfPeak: Double?
    var reference: Reference?
    var referenceError: String?
    var error: String?

    init(device: String, case name: String, summary: String, cost: OperationCost, time: TimingSummary, peak: DevicePeak) {
        self.device = device
        self.case = name
        self.summary = summary
        flops = cost.flops
        bytes = cost.bytes
        self.time = time
        guard time.median > 0 else { return }
        gigaflopsPerSecond = cost.flops.map { $0 / time.median / 1e9 }
        gigabytesPerSecond = cost.bytes.map { $0 / time.median / 1e9 }
        if let flops = cost.flops, peak.flopsPerSecond > 0 {
            percentOfPeak = 100 * flops / time.median / peak.flopsPerSecond
        } else if cost.flops == nil, let bytes = cost.bytes, peak.bytesPerSecond > 0 {
            percentOfPeak = 100 * bytes / time.median / peak.bytesPerSecond
        }
    }

    init(device: String, case name: String, summary: String, error: String) {
        self.device = device
        self.case = name
        self.summary = summary
        self.error = error
    }

    mutating func setReference(_ name: String, time: TimingSummary) {
        let rate = time.median > 0 ? flops.map { $0 / time.median / 1e9 } : nil
        let share = rate.flatMap { rate in rate > 0 ? gigaflopsPerSecond.map { 100 * $0 / rate } : nil }
        reference = Reference(name: name, time: time, gigaflopsPerSecond: rate, percentOfReference: share)
    }

    var tableRow: [String] {
        guard let time else { return [device, self.case + " (failed)"] + Array(repeating: "-", count: 6) }
        // Bytes are shown only for memory-bound cases: a gemm's GB/s says little.
        let bandwidth = flops == nil ? gigabytesPerSecond : nil
        var row = [device, self.case, format(time.median * 1e3), format(time.p10 * 1e3), format(time.p90 * 1e3),
                   format(gigaflopsPerSecond), format(bandwidth), format(percentOfPeak)]
        if let reference {
            row += [reference.name, format(reference.time.median * 1e3), format(reference.gigaflopsPerSecond),
                    format(reference.percentOfReference)]
        } else if referenceError != nil {
            row += ["failed"]
        }
        return row
    }
}

/// A figure with four significant digits and no exponent ("0.01234", "12.35", "98765"), or "-".
func format(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "-" }
    let magnitude = value == 0 ? 0 : Int(log10(abs(value)).rounded(.down))
    return String(format: "%.\(min(max(3 - magnitude, 0), 6))f", value)
}

import Foundation

/// A whole verification run, as `cltrain verify --json` writes it: the devices, then every row.
public struct VerificationReport: Sendable, Codable, Equatable {
    /// An OpenCL device that was verified, identified as its backend names it in the rows.
    public struct Device: Sendable, Codable, Equatable {
        public let index: Int
        public let name: String
        public let platform: String
        public let driverVersion: String
        /// The `device` column of this device's rows.
        public let backend: String

        public init(_ description: OpenCLDeviceDescription, backend: String) {
            index = description.index
            name = description.name
            platform = description.platformName
            driverVersion = description.driverVersion
            self.backend = backend
        }
    }

    public let devices: [Device]
    /// The reference backend's name and the host it ran on.
    public let reference: String
    public let host: HostDescription
    public let results: [VerificationResult]
    public let passed: Int
    public let failed: Int
    /// Cases the device declined (`VerificationResult.skipped`): neither passed nor failed.
    public let skipped: Int

    public init(devices: [Device], reference: String, host: HostDescription, results: [VerificationResult]) {
        self.devices = devices
        self.reference = reference
        self.host = host
        self.results = results
        passed = results.count { $0.passed }
        skipped = results.count { $0.skipped != nil }
        failed = results.count { $0.failed }
    }

    /// Whether no case failed (skipped ones do not count): `cltrain verify`'s exit status.
    public var succeeded: Bool { failed == 0 }

    /// Pretty-printed JSON with sorted keys; infinite or NaN errors are written as "inf", "-inf", "nan".
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }
}

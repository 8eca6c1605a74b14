import Testing
@testable import CLTrain

/// Every verification case on every OpenCL device, against the CPU reference.
@Suite("OpenCL devices against the CPU reference")
struct DeviceVerificationTests {
    static var devices: [OpenCLDeviceDescription] { DeviceRegistry.shared.openCLDevices }

    @Test(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty,
                   "no OpenCL platform: OpenCL tests skipped, CPU tests still run"),
          arguments: devices, VerificationSuite.standard.cases)
    func matchesTheReference(device: OpenCLDeviceDescription, verificationCase: VerificationCase) throws {
        let backend = try DeviceRegistry.shared.makeBackend(.openCL(device.index))
        let result = verificationCase.run(reference: CPUBackend(), device: backend)
        #expect(result.passed, "\(result)")
    }
}

extension OpenCLDeviceDescription: CustomTestStringConvertible {
    public var testDescription: String { "OpenCL device \(index) (\(name))" }
}

import Testing
@testable import CLTrain

@Suite("Device selection")
struct DeviceSelectionTests {
    let registry = DeviceRegistry.shared

    @Test(arguments: [
        ("0,1", [DeviceSelection.openCL(0), .openCL(1)]),
        ("cpu", [.cpu]),
        ("1,cpu", [.openCL(1), .cpu]),
        (" 0 , CPU ", [.openCL(0), .cpu]),
        ("1,1", [.openCL(1)]),
    ])
    func parsesDeviceLists(text: String, expected: [DeviceSelection]) throws {
        #expect(try DeviceSelection.parseList(text) == expected)
    }

    @Test(arguments: ["", "a", "0,,1", "-1", "0,", "1.5"])
    func rejectsMalformedLists(text: String) {
        let error = #expect(throws: CLTrainError.self) { try DeviceSelection.parseList(text) }
        guard case .invalidArgument(let detail) = error else {
            Issue.record("expected invalidArgument, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("'\(text)'"))
    }

    @Test func aDeviceThatDoesNotExistNamesTheAvailableOnes() {
        let missing = registry.openCLDevices.count
        let error = #expect(throws: CLTrainError.self) { try registry.description(ofOpenCLDevice: missing) }
        guard case .deviceNotFound(let detail) = error else {
            Issue.record("expected deviceNotFound, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("OpenCL device \(missing) does not exist"))
        #expect(detail.contains("cpu"))
        for device in registry.openCLDevices {
            #expect(detail.contains("\(device.index) (\(device.name))"))
        }
    }

    @Test func withoutCLTRAIN_DEVICESEveryOpenCLDeviceElseTheCPU() throws {
        let expected: [DeviceSelection] = registry.openCLDevices.isEmpty
            ? [.cpu] : registry.openCLDevices.map { .openCL($0.index) }
        #expect(try registry.defaultSelection(environment: [:]) == expected)
        #expect(try registry.defaultSelection(environment: ["CLTRAIN_DEVICES": ""]) == expected)
    }

    @Test func CLTRAIN_DEVICESChoosesTheDevices() throws {
        #expect(try registry.defaultSelection(environment: ["CLTRAIN_DEVICES": "cpu"]) == [.cpu])
        if let last = registry.openCLDevices.last {
            #expect(try registry.defaultSelection(environment: ["CLTRAIN_DEVICES": "\(last.index),cpu"])
                    == [.openCL(last.index), .cpu])
        }
    }

    @Test func aDeviceOptionTakesPrecedenceOverCLTRAIN_DEVICES() throws {
        #expect(try registry.requestedSelection(list: nil, environment: [:]) == nil)
        #expect(try registry.requestedSelection(list: nil, environment: ["CLTRAIN_DEVICES": ""]) == nil)
        #expect(try registry.requestedSelection(list: nil, environment: ["CLTRAIN_DEVICES": "cpu"]) == [.cpu])
        let bad = ["CLTRAIN_DEVICES": "\(registry.openCLDevices.count)"]  // names a device that does not exist
        #expect(try registry.requestedSelection(list: "cpu", environment: bad) == [.cpu])
        #expect(throws: CLTrainError.self) { try registry.requestedSelection(list: "cpu,x", environment: [:]) }
    }

    @Test func CLTRAIN_DEVICESIsValidated() {
        #expect(throws: CLTrainError.self) { try registry.defaultSelection(environment: ["CLTRAIN_DEVICES": "x"]) }
        let missing = registry.openCLDevices.count
        let error = #expect(throws: CLTrainError.self) {
            try registry.defaultSelection(environment: ["CLTRAIN_DEVICES": "cpu,\(missing)"])
        }
        guard case .deviceNotFound = error else {
            Issue.record("expected deviceNotFound, got \(String(describing: error))")
            return
        }
    }
}

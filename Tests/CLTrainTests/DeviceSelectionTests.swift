import Testing
@testable import CLTrain

/// The one parser of device lists, and what `CLTRAIN_DEVICES` selects, hides and refuses. Runs with
/// any number of OpenCL devices (checks that need one or two say so and are skipped otherwise).
@Suite("Device selection")
struct DeviceSelectionTests {
    let registry = DeviceRegistry.shared
    var count: Int { registry.openCLDevices.count }

    // MARK: The parser

    @Test(arguments: [
        ("0,1", [DeviceSelection.openCL(0), .openCL(1)]),
        ("cpu", [.cpu]),
        ("1,cpu", [.openCL(1), .cpu]),
        (" 0 , CPU ", [.openCL(0), .cpu]),
        ("\t2\n", [.openCL(2)]),
        ("007", [.openCL(7)]),
        ("9223372036854775807", [.openCL(Int.max)]),
    ])
    func parsesDeviceLists(text: String, expected: [DeviceSelection]) throws {
        #expect(try DeviceSelection.parseList(text, source: "CLTRAIN_DEVICES") == expected)
    }

    /// Every malformed form, with the words its error must contain (beside the source).
    static let malformed: [(text: String, mentions: [String])] = [
        ("", ["empty"]), (" ", ["empty"]),
        ("abc", ["'abc'", "neither a device index nor 'cpu'"]),
        ("1,,2", ["entry 2 of 3 is empty"]), ("0,", ["entry 2 of 2 is empty"]), (",0", ["entry 1 of 2 is empty"]),
        (",", ["entry 1 of 2 is empty"]),
        ("-1", ["'-1'", "negative"]), ("0,-3", ["'-3'", "negative"]),
        ("99999999999999999999", ["'99999999999999999999'", "too large"]),
        ("1.5", ["'1.5'"]), ("+1", ["'+1'"]), ("0x1", ["'0x1'"]), ("１", ["'１'"]), ("0;1", ["'0;1'"]),
        ("0 1", ["'0 1'"]), ("cpu0", ["'cpu0'"]), ("auto", ["'auto'"]), ("gpu", ["'gpu'"]), ("-", ["'-'"]),
        ("0,0", ["'0' is listed twice"]), ("cpu,CPU", ["'cpu' is listed twice"]), ("1,2,01", ["'1' is listed twice"]),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedListsNamingTheSourceAndTheEntry(_ example: (text: String, mentions: [String])) {
        for source in ["CLTRAIN_DEVICES", "--device"] {
            let error = #expect(throws: CLTrainError.self) { try DeviceSelection.parseList(example.text, source: source) }
            guard case .invalidArgument(let detail) = error else {
                Issue.record("expected invalidArgument for '\(example.text)', got \(String(describing: error))")
                continue
            }
            #expect(detail.hasPrefix(source == "--device" ? "--device '\(example.text)'" : "CLTRAIN_DEVICES='\(example.text)'"), "\(detail)")
            for mention in example.mentions { #expect(detail.contains(mention), "\(detail)") }
        }
    }

    @Test func repeatsAreKeptWhereEachEntryIsALayerOrShard() throws {
        #expect(try DeviceSelection.parseList("0, 0,cpu,cpu", repeats: .allowed) == [.openCL(0), .openCL(0), .cpu, .cpu])
        #expect(throws: CLTrainError.self) { try DeviceSelection.parseList("0,0") }
        #expect(throws: CLTrainError.self) { try DeviceSelection.parseList("1,,1", repeats: .allowed) }
    }

    // MARK: CLTRAIN_DEVICES

    @Test func unsetEveryOpenCLDeviceElseTheCPU() throws {
        let expected: [DeviceSelection] = count == 0 ? [.cpu] : registry.openCLDevices.map { .openCL($0.index) }
        #expect(try registry.defaultSelection(environment: [:]) == expected)
        #expect(try registry.visibility(environment: [:]).visibleOpenCL == Array(0..<count))
        #expect(try registry.requestedSelection(nil, environment: [:]) == nil)
        #expect(try registry.visibleOpenCLDevices(environment: [:]).count == count)
        // No GPU among PoCL's devices: auto is the CPU backend.
        if !registry.openCLDevices.contains(where: \.isGPU) {
            #expect(try registry.automaticDevice(environment: [:]) == .cpu)
        }
    }

    @Test(arguments: ["", " "])
    func emptyHidesEveryOpenCLDeviceAndKeepsTheCPU(_ value: String) throws {
        let environment = ["CLTRAIN_DEVICES": value]
        #expect(try registry.visibility(environment: environment).visibleOpenCL.isEmpty)
        #expect(try registry.visibleOpenCLDevices(environment: environment).isEmpty)
        #expect(try registry.defaultSelection(environment: environment) == [.cpu])
        #expect(try registry.requestedSelection(nil, environment: environment) == nil)
        #expect(try registry.automaticDevice(environment: environment) == .cpu)
        #expect(try registry.requestedSelection([.cpu], environment: environment) == [.cpu])
        for index in 0..<count {
            expectHidden(.openCL(index), environment: environment)
        }
    }

    @Test func cpuKeepsEveryOpenCLDeviceOff() throws {
        let environment = ["CLTRAIN_DEVICES": "cpu"]
        #expect(try registry.defaultSelection(environment: environment) == [.cpu])
        #expect(try registry.automaticDevice(environment: environment) == .cpu)
        #expect(try registry.visibleOpenCLDevices(environment: environment).isEmpty)
        for index in 0..<count { expectHidden(.openCL(index), environment: environment) }
    }

    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2, "needs two OpenCL devices (POCL_DEVICES=\"pthread pthread\")"))
    func aListSelectsItsDevicesInItsOrderAndHidesTheOthers() throws {
        let environment = ["CLTRAIN_DEVICES": "1,cpu"]
        #expect(try registry.defaultSelection(environment: environment) == [.openCL(1), .cpu])
        #expect(try registry.requestedSelection(nil, environment: environment) == [.openCL(1), .cpu])
        #expect(try registry.visibility(environment: environment).visibleOpenCL == [1])
        // Not a GPU, but the user's first choice.
        #expect(try registry.automaticDevice(environment: environment) == .openCL(1))
        #expect(try registry.requestedSelection([.openCL(1)], environment: environment) == [.openCL(1)])
        expectHidden(.openCL(0), environment: environment)
        #expect(try registry.defaultSelection(environment: ["CLTRAIN_DEVICES": "1,0"]) == [.openCL(1), .openCL(0)])
    }

    @Test(arguments: ["x", "1,,2", "-1", "99999999999999999999", "0,0", "cpu,cpu"])
    func aMalformedValueFailsEveryUseNamingTheVariable(_ value: String) {
        let environment = ["CLTRAIN_DEVICES": value]
        let uses: [(String, () throws -> Void)] = [
            ("visibility", { _ = try registry.visibility(environment: environment) }),
            ("defaultSelection", { _ = try registry.defaultSelection(environment: environment) }),
            ("requestedSelection(nil)", { _ = try registry.requestedSelection(nil, environment: environment) }),
            // A device option does not make a malformed variable acceptable.
            ("requestedSelection([cpu])", { _ = try registry.requestedSelection([.cpu], environment: environment) }),
            ("automaticDevice", { _ = try registry.automaticDevice(environment: environment) }),
            ("check(cpu)", { try registry.check(.cpu, environment: environment) }),
        ]
        for (use, body) in uses {
            let error = #expect(throws: CLTrainError.self, "\(use)") { try body() }
            #expect(error?.description.contains("CLTRAIN_DEVICES='\(value)'") == true, "\(use): \(String(describing: error))")
        }
    }

    @Test func anIndexThatDoesNotExistNamesTheVariableAndTheDevicesThereAre() {
        let error = #expect(throws: CLTrainError.self) {
            try registry.defaultSelection(environment: ["CLTRAIN_DEVICES": "cpu,\(count)"])
        }
        guard case .deviceNotFound(let detail) = error else {
            Issue.record("expected deviceNotFound, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("CLTRAIN_DEVICES='cpu,\(count)'") && detail.contains("OpenCL device \(count) does not exist"), "\(detail)")
        expectListsTheDevices(detail)
    }

    // MARK: Device options

    @Test func anOptionNamingADeviceThatDoesNotExistListsTheDevices() {
        let error = #expect(throws: CLTrainError.self) {
            try registry.requestedSelection([.cpu, .openCL(count + 5)], option: "--device", environment: [:])
        }
        guard case .deviceNotFound(let detail) = error else {
            Issue.record("expected deviceNotFound, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("--device \(count + 5): OpenCL device \(count + 5) does not exist"), "\(detail)")
        expectListsTheDevices(detail)
        #expect(throws: CLTrainError.self) { try registry.requestedSelection(list: "cpu,x", environment: [:]) }
        #expect(throws: CLTrainError.self) { try registry.check(.openCL(Int.max)) }
    }

    @Test func aDeviceThatDoesNotExistNamesTheAvailableOnes() {
        let error = #expect(throws: CLTrainError.self) { try registry.description(ofOpenCLDevice: count) }
        guard case .deviceNotFound(let detail) = error else {
            Issue.record("expected deviceNotFound, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("OpenCL device \(count) does not exist"))
        expectListsTheDevices(detail)
    }

    @Test(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty, "needs an OpenCL device"))
    func noContextOrBackendIsEverMadeOnAHiddenDevice() throws {
        let hiding = DeviceRegistry(environment: ["CLTRAIN_DEVICES": "cpu"])
        #expect(throws: CLTrainError.self) { _ = try hiding.context(ofOpenCLDevice: 0) }
        #expect(throws: CLTrainError.self) { _ = try hiding.makeBackend(.openCL(0)) }
        #expect(throws: CLTrainError.self) {
            _ = try Placement.manual(layerDevices: [.openCL(0)], softmaxDevices: nil, layers: 1, vocabularySize: 4, registry: hiding)
        }
        #expect(try hiding.makeBackend(.cpu) is CPUBackend)
        let malformed = DeviceRegistry(environment: ["CLTRAIN_DEVICES": "zero"])
        #expect(throws: CLTrainError.self) { _ = try malformed.makeBackend(.cpu) }
    }

    // MARK: Helpers

    func expectHidden(_ device: DeviceSelection, environment: [String: String],
                      sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: CLTrainError.self, sourceLocation: sourceLocation) {
            try registry.requestedSelection([device], option: "--device", environment: environment)
        }
        let text = error?.description ?? ""
        #expect(text.contains("--device \(device)") && text.contains("hidden by CLTRAIN_DEVICES="), "\(text)",
                sourceLocation: sourceLocation)
        #expect(throws: CLTrainError.self, sourceLocation: sourceLocation) { try registry.check(device, environment: environment) }
    }

    func expectListsTheDevices(_ detail: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(detail.contains("cpu"), sourceLocation: sourceLocation)
        for device in registry.openCLDevices {
            #expect(detail.contains("\(device.index) (\(device.name))"), "\(detail)", sourceLocation: sourceLocation)
        }
    }
}

import Foundation
import Logging
import Synchronization

/// Every device this process can use: the OpenCL devices of all platforms, and the CPU backend.
///
/// Enumeration happens once per process (`DeviceRegistry.shared`). OpenCL contexts, and with them
/// the programs built for each device, are created on first use and shared by all backends on
/// that device. With no OpenCL platform at all, the CPU backend is the only device and that is
/// said once in the log.
///
/// `CLTRAIN_DEVICES` decides which OpenCL devices may be used at all, as `CUDA_VISIBLE_DEVICES`
/// does for CUDA, but without renumbering: indices stay those `cltrain devices` prints.
/// - unset: every OpenCL device;
/// - a list ("0,1", "1,cpu", "cpu"; `DeviceSelection.parseList`): only the OpenCL devices it
///   names, and it is the default selection of commands that run on several devices;
/// - empty (`CLTRAIN_DEVICES=`): no OpenCL device.
/// The CPU backend is never hidden. A malformed value, an index that does not exist or a repeat is
/// an error naming the variable and the entry, for every use of the registry; a device option
/// naming a hidden device is an error too. No context is ever created on a hidden device.
public final class DeviceRegistry: @unchecked Sendable {
    public let openCLDevices: [OpenCLDeviceDescription]
    /// Why OpenCL enumeration failed, if it did (the devices list is then empty).
    public let enumerationError: OpenCLError?
    /// The environment the registry was made with: `CLTRAIN_DEVICES` is read from it unless a
    /// call passes another.
    let environment: [String: String]
    private let contexts = Mutex<[Int: OpenCLContext]>([:])
    private let logger = Logger(label: "cltrain.devices")

    public static let shared = DeviceRegistry()

    /// The environment variable that hides OpenCL devices.
    public static let variable = "CLTRAIN_DEVICES"

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        do {
            openCLDevices = try OpenCLPlatform.enumerateDevices()
            enumerationError = nil
        } catch {
            openCLDevices = []
            enumerationError = error
        }
        if openCLDevices.isEmpty {
            let reason = enumerationError.map { " (\($0))" } ?? ""
            logger.notice("no OpenCL device found\(reason); everything runs on the CPU backend")
        }
    }

    // MARK: CLTRAIN_DEVICES

    /// What `CLTRAIN_DEVICES` says, checked against the devices there are.
    public struct Visibility: Equatable, Sendable {
        /// The variable's value; nil when it is unset.
        public let text: String?
        /// The devices it lists, in its order: nil when unset, empty when set to "".
        public let listed: [DeviceSelection]?
        /// The OpenCL devices that may be used, in index order.
        public let visibleOpenCL: [Int]

        /// The CPU backend is always usable; an OpenCL device when the variable lets it through.
        public func isVisible(_ device: DeviceSelection) -> Bool {
            switch device {
            case .cpu: true
            case .openCL(let index): visibleOpenCL.contains(index)
            }
        }

        /// "CLTRAIN_DEVICES='0,cpu'" or "CLTRAIN_DEVICES unset", for messages.
        public var setting: String { text.map { "\(DeviceRegistry.variable)='\($0)'" } ?? "\(DeviceRegistry.variable) unset" }
    }

    /// Reads `CLTRAIN_DEVICES` from `environment` (default: the registry's).
    /// - Throws: `CLTrainError.invalidArgument` for a malformed list or a repeat, and
    ///   `CLTrainError.deviceNotFound` for an index that does not exist; each names the variable,
    ///   the entry and, for a missing device, the devices there are.
    public func visibility(environment: [String: String]? = nil) throws -> Visibility {
        let environment = environment ?? self.environment
        guard let text = environment[Self.variable] else {
            return Visibility(text: nil, listed: nil, visibleOpenCL: openCLDevices.map(\.index))
        }
        // Set but empty (or blank) hides every OpenCL device, as CUDA_VISIBLE_DEVICES="" does.
        if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return Visibility(text: text, listed: [], visibleOpenCL: [])
        }
        let listed = try DeviceSelection.parseList(text, source: Self.variable)
        for case .openCL(let index) in listed where !openCLDevices.indices.contains(index) {
            throw CLTrainError.deviceNotFound("\(Self.variable)='\(text)': OpenCL device \(index) does not exist; \(availableDevices)")
        }
        let visible = listed.compactMap { if case .openCL(let index) = $0 { index } else { nil } }.sorted()
        return Visibility(text: text, listed: listed, visibleOpenCL: visible)
    }

    /// The OpenCL devices `CLTRAIN_DEVICES` lets through (all of them when it is unset).
    public func visibleOpenCLDevices(environment: [String: String]? = nil) throws -> [OpenCLDeviceDescription] {
        try visibility(environment: environment).visibleOpenCL.map { openCLDevices[$0] }
    }

    // MARK: Selections

    /// The devices of a command that runs on several when no option says which: the list of
    /// `CLTRAIN_DEVICES` when it names any, else every visible OpenCL device, else the CPU.
    public func defaultSelection(environment: [String: String]? = nil) throws -> [DeviceSelection] {
        let visibility = try visibility(environment: environment)
        if let listed = visibility.listed, !listed.isEmpty { return listed }
        return visibility.visibleOpenCL.isEmpty ? [.cpu] : visibility.visibleOpenCL.map { .openCL($0) }
    }

    /// The devices the user asked for: `list` (a command's device option, already parsed) if
    /// given, each checked to exist and to be visible, else the list of `CLTRAIN_DEVICES`; nil
    /// when neither names a device, so that each command can apply its own default over
    /// `visibleOpenCLDevices`. `CLTRAIN_DEVICES` is validated in either case.
    /// - Parameter option: the option `list` came from, for errors (e.g. "--device").
    public func requestedSelection(_ list: [DeviceSelection]?, option: String = "--device",
                                   environment: [String: String]? = nil) throws -> [DeviceSelection]? {
        let visibility = try visibility(environment: environment)
        guard let list else {
            guard let listed = visibility.listed, !listed.isEmpty else { return nil }
            return listed
        }
        for device in list { try check(device, option: option, visibility: visibility) }
        return list
    }

    /// As `requestedSelection(_:option:environment:)`, for a list not yet parsed.
    public func requestedSelection(list: String?, option: String = "--device",
                                   environment: [String: String]? = nil) throws -> [DeviceSelection]? {
        try requestedSelection(list.map { try DeviceSelection.parseList($0, source: option) }, option: option,
                               environment: environment)
    }

    /// The one device of `--device auto`: with `CLTRAIN_DEVICES` naming devices, its first GPU,
    /// else its first entry (the user chose those); otherwise the first visible GPU, else the CPU
    /// backend (an OpenCL CPU device such as PoCL is slower than OpenBLAS, so not those).
    public func automaticDevice(environment: [String: String]? = nil) throws -> DeviceSelection {
        let visibility = try visibility(environment: environment)
        if let listed = visibility.listed, let first = listed.first {
            return listed.first { if case .openCL(let index) = $0 { openCLDevices[index].isGPU } else { false } } ?? first
        }
        return visibility.visibleOpenCL.first { openCLDevices[$0].isGPU }.map { .openCL($0) } ?? .cpu
    }

    /// Throws unless `device` exists and `CLTRAIN_DEVICES` lets it through.
    /// - Parameter option: the option that named it (e.g. "--layer-devices"), for the error.
    public func check(_ device: DeviceSelection, option: String? = nil, environment: [String: String]? = nil) throws {
        try check(device, option: option, visibility: visibility(environment: environment))
    }

    private func check(_ device: DeviceSelection, option: String?, visibility: Visibility) throws {
        guard case .openCL(let index) = device else { return }
        let context = option.map { "\($0) \(device): " } ?? ""
        guard openCLDevices.indices.contains(index) else {
            throw CLTrainError.deviceNotFound("\(context)OpenCL device \(index) does not exist; \(availableDevices)")
        }
        guard visibility.isVisible(device) else {
            let usable = visibility.visibleOpenCL.map { "\($0) (\(openCLDevices[$0].name))" } + ["cpu"]
            throw CLTrainError.deviceNotFound(
                "\(context)OpenCL device \(index) (\(openCLDevices[index].name)) is hidden by \(visibility.setting); usable: \(usable.joined(separator: ", "))")
        }
    }

    /// "available: 0 (name), 1 (name), cpu", or that there are none.
    private var availableDevices: String {
        openCLDevices.isEmpty
            ? "there are no OpenCL devices (only 'cpu')"
            : "available: " + openCLDevices.map { "\($0.index) (\($0.name))" }.joined(separator: ", ") + ", cpu"
    }

    // MARK: Devices, contexts and backends

    /// The OpenCL device with `index`, or an error listing the devices there are. (Describing a
    /// hidden device is allowed; using one is not.)
    public func description(ofOpenCLDevice index: Int) throws -> OpenCLDeviceDescription {
        guard openCLDevices.indices.contains(index) else {
            throw CLTrainError.deviceNotFound("OpenCL device \(index) does not exist; \(availableDevices)")
        }
        return openCLDevices[index]
    }

    /// The shared context of OpenCL device `index`, created on first use; an error if the device
    /// does not exist or `CLTRAIN_DEVICES` hides it.
    public func context(ofOpenCLDevice index: Int) throws -> OpenCLContext {
        try check(.openCL(index))
        let device = openCLDevices[index]
        if let context = contexts.withLock({ $0[index] }) { return context }
        let created = try OpenCLContext(device: device)
        return contexts.withLock { table in
            if let raced = table[index] { return raced }
            table[index] = created
            return created
        }
    }

    /// A new backend on `selection`: for OpenCL, with a command queue of its own.
    public func makeBackend(_ selection: DeviceSelection) throws -> Backend {
        switch selection {
        case .cpu:
            try check(.cpu)   // validates CLTRAIN_DEVICES, which never hides the CPU
            return CPUBackend()
        case .openCL(let index):
            return try OpenCLBackend(context: context(ofOpenCLDevice: index))
        }
    }
}

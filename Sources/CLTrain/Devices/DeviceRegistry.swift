import Foundation
import Logging
import Synchronization

/// Every device this process can use: the OpenCL devices of all platforms, and the CPU backend.
///
/// Enumeration happens once per process (`DeviceRegistry.shared`). OpenCL contexts, and with them
/// the programs built for each device, are created on first use and shared by all backends on
/// that device. With no OpenCL platform at all, the CPU backend is the only device and that is
/// said once in the log.
public final class DeviceRegistry: @unchecked Sendable {
    public let openCLDevices: [OpenCLDeviceDescription]
    /// Why OpenCL enumeration failed, if it did (the devices list is then empty).
    public let enumerationError: OpenCLError?
    private let contexts = Mutex<[Int: OpenCLContext]>([:])
    private let logger = Logger(label: "cltrain.devices")

    public static let shared = DeviceRegistry()

    init() {
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

    /// The devices `CLTRAIN_DEVICES` selects, else every OpenCL device, else the CPU.
    public func defaultSelection(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [DeviceSelection] {
        try requestedSelection(list: nil, environment: environment)
            ?? (openCLDevices.isEmpty ? [.cpu] : openCLDevices.map { .openCL($0.index) })
    }

    /// The devices the user asked for, each checked to exist: `list` (a command's `--device`
    /// option) if given, which takes precedence over CLTRAIN_DEVICES; nil when neither is set, so
    /// that each command can apply its own default.
    public func requestedSelection(list: String?,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [DeviceSelection]? {
        guard let text = list ?? environment["CLTRAIN_DEVICES"].flatMap({ $0.isEmpty ? nil : $0 }) else { return nil }
        let selection = try DeviceSelection.parseList(text)
        for case .openCL(let index) in selection { _ = try description(ofOpenCLDevice: index) }
        return selection
    }

    /// The OpenCL device with `index`, or an error listing the devices there are.
    public func description(ofOpenCLDevice index: Int) throws -> OpenCLDeviceDescription {
        guard openCLDevices.indices.contains(index) else {
            let available = openCLDevices.isEmpty
                ? "there are no OpenCL devices (only 'cpu')"
                : "available: " + openCLDevices.map { "\($0.index) (\($0.name))" }.joined(separator: ", ") + ", cpu"
            throw CLTrainError.deviceNotFound("OpenCL device \(index) does not exist; \(available)")
        }
        return openCLDevices[index]
    }

    /// The shared context of OpenCL device `index`, created on first use.
    public func context(ofOpenCLDevice index: Int) throws -> OpenCLContext {
        let device = try description(ofOpenCLDevice: index)
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
            return CPUBackend()
        case .openCL(let index):
            return try OpenCLBackend(context: context(ofOpenCLDevice: index))
        }
    }
}

import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List every device: the OpenCL devices by index, and the CPU backend, with what CLTRAIN_DEVICES selects.",
        discussion: """
            The 'selected' column: 'default' for the devices a command uses without --device, 'hidden' for \
            OpenCL devices CLTRAIN_DEVICES leaves out (no command may use them), 'usable' for the others.
            """
    )

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        let registry = DeviceRegistry.shared
        let visibility = try registry.visibility()
        let defaults = try registry.defaultSelection()
        func status(_ device: DeviceSelection) -> String {
            defaults.contains(device) ? "default" : visibility.isVisible(device) ? "usable" : "hidden"
        }
        var table = TextTable(headers: ["index", "platform", "name", "compute units", "memory (GiB)", "driver version",
                                        "backend", "selected"])
        for device in registry.openCLDevices {
            table.append(["\(device.index)", device.platformName, device.name, "\(device.computeUnits)",
                          gibibytes(device.globalMemoryBytes), device.driverVersion, "opencl", status(.openCL(device.index))])
        }
        let host = HostDescription.current
        table.append(["cpu", "OpenBLAS", host.name, "\(host.activeProcessors)", gibibytes(host.memoryBytes),
                      host.blasVersion, "cpu", status(.cpu)])
        print(table.rendered())
        if registry.openCLDevices.isEmpty {
            let reason = registry.enumerationError.map { " (\($0))" } ?? ""
            print("No OpenCL platform was found\(reason): everything runs on the CPU backend.")
        }
        let hidden = registry.openCLDevices.map(\.index).filter { !visibility.visibleOpenCL.contains($0) }
        let hiddenText = hidden.isEmpty ? "no device hidden" : "hidden: " + hidden.map(String.init).joined(separator: ", ")
        print("\(visibility.setting): \(hiddenText); default selection: \(defaults.map(\.description).joined(separator: ", ")); "
              + "--device auto: \(try registry.automaticDevice())")
    }

    private func gibibytes(_ bytes: UInt64) -> String {
        String(format: "%.1f", Double(bytes) / Double(1 << 30))
    }
}

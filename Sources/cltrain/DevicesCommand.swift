import ArgumentParser
import CLTrain
import Foundation

struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List every device: the OpenCL devices by index, and the CPU backend."
    )

    func run() throws {
        let registry = DeviceRegistry.shared
        var table = TextTable(headers: ["index", "platform", "name", "compute units", "memory (GiB)", "driver version", "backend"])
        for device in registry.openCLDevices {
            table.append(["\(device.index)", device.platformName, device.name, "\(device.computeUnits)",
                          gibibytes(device.globalMemoryBytes), device.driverVersion, "opencl"])
        }
        let host = HostDescription.current
        table.append(["cpu", "OpenBLAS", host.name, "\(host.activeProcessors)", gibibytes(host.memoryBytes),
                      host.blasVersion, "cpu"])
        print(table.rendered())
        if registry.openCLDevices.isEmpty {
            let reason = registry.enumerationError.map { " (\($0))" } ?? ""
            print("No OpenCL platform was found\(reason): everything runs on the CPU backend.")
        }
    }

    private func gibibytes(_ bytes: UInt64) -> String {
        String(format: "%.1f", Double(bytes) / Double(1 << 30))
    }
}

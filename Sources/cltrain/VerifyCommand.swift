import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation
import Logging

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Run every operation on each selected OpenCL device and compare it with the CPU reference.",
        discussion: """
            Inputs are seeded per case, so both backends see the same data. Each output must satisfy
            |x − ref| ≤ 32·ε·√n·(|ref| + mean|ref|), n being the operation's reduction length.
            An operation a device declines (its backend does not support it) is shown as SKIP
            with the reason. The exit status is non-zero if any case fails; a skip does not count.
            """
    )

    @OptionGroup var logging: LoggingOptions

    @OptionGroup var devices: DeviceOptions

    @Option(help: ArgumentHelp("Run only the cases whose name contains TEXT, e.g. 'gemm' or '7x33'.", valueName: "TEXT"))
    var filter: String?

    @Option(help: ArgumentHelp("Also write the results as JSON to FILE once the run is complete: a regular file is replaced atomically, a symbolic link's target likewise (the link stays), a device or FIFO is written through.",
                               valueName: "FILE"))
    var json: String?

    func validate() throws {
        guard let json else { return }
        // Fail now rather than after a long run.
        // Through any symbolic link: the file written is the one it points to.
        let url = URL(fileURLWithPath: json).resolvingSymlinksInPath()
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        if exists, isDirectory.boolValue {
            throw ValidationError("--json: '\(json)' is a directory")
        }
        var info = stat()
        if exists, lstat(url.path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
            // A device or FIFO is written through: it must be writable itself.
            guard access(url.path, W_OK) == 0 else { throw ValidationError("--json: cannot write to '\(json)'") }
        } else if !FileManager.default.isWritableFile(atPath: directory) {
            throw ValidationError("--json: cannot write into '\(directory)'")
        }
    }

    func run() throws {
        let registry = DeviceRegistry.shared
        let selection = try devices.selection(in: registry)
        let suite = VerificationSuite.standard.filtered(by: filter)
        guard !suite.cases.isEmpty else {
            throw CLTrainError.invalidArgument("no verification case matches '\(filter ?? "")'")
        }
        let indices = selection.compactMap { if case .openCL(let index) = $0 { index } else { nil } }
        guard !indices.isEmpty else {
            print("No OpenCL device to verify against the CPU reference: the selection is only 'cpu'.")
            return
        }

        let reference = CPUBackend()
        var devicesReport: [VerificationReport.Device] = []
        var results: [VerificationResult] = []
        for index in indices {
            let description = try registry.description(ofOpenCLDevice: index)
            let progress = Progress(total: suite.cases.count, device: "OpenCL device \(index) (\(description.name))")
            do {
                let backend = try registry.makeBackend(.openCL(index))
                devicesReport.append(VerificationReport.Device(description, backend: backend.name))
                results += suite.run(reference: reference, device: backend, progress: progress.step)
            } catch {
                devicesReport.append(VerificationReport.Device(description, backend: progress.device))
                results.append(VerificationResult(operation: "(backend)", shape: "-", device: progress.device,
                                                  passed: false, message: "could not start: \(error)"))
            }
            progress.finish()
        }

        let report = VerificationReport(devices: devicesReport, reference: reference.name,
                                        host: .current, results: results)
        print(TextTable(headers: VerificationResult.tableHeaders, rows: results.map(\.tableRow)).rendered())
        // Failures first, then what a device declined, each with its reason.
        for failure in results where failure.failed {
            print(failure)
        }
        for skip in results where skip.skipped != nil {
            print(skip)
        }
        print("\(report.passed) passed, \(report.failed) failed" + (report.skipped > 0 ? ", \(report.skipped) skipped" : ""))
        if let json {
            // Atomic for a regular file; a device, FIFO or link stays what it is (see AtomicFile).
            try AtomicFile.write(report.jsonData(), to: URL(fileURLWithPath: json))
        }
        if !report.succeeded {
            throw ExitCode.failure
        }
    }
}

/// "[12/110] gemm 7×33×129 NN" on the progress line, after a line naming the device.
private final class Progress {
    let total: Int
    let device: String
    private var done = 0
    private let line = ProgressLine(logger: Logger(label: "cltrain.verify"))

    init(total: Int, device: String) {
        self.total = total
        self.device = device
        try? FileHandle.standardError.write(contentsOf: Data("verifying \(total) cases on \(device)\n".utf8))
    }

    func step(_ result: VerificationResult) {
        done += 1
        line.show("[\(done)/\(total)] \(result.operation) \(result.shape)")
    }

    func finish() { line.clear() }
}

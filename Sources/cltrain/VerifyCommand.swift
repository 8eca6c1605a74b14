import ArgumentParser
import CLTrain
import Foundation

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Run every operation on each selected OpenCL device and compare it with the CPU reference.",
        discussion: """
            Inputs are seeded per case, so both backends see the same data. Each output must satisfy
            |x − ref| ≤ 32·ε·√n·(|ref| + mean|ref|), n being the operation's reduction length.
            The exit status is non-zero if any case fails.
            """
    )

    @OptionGroup var devices: DeviceOptions

    @Option(help: ArgumentHelp("Run only the cases whose name contains TEXT, e.g. 'gemm' or '7x33'.", valueName: "TEXT"))
    var filter: String?

    @Option(help: ArgumentHelp("Also write the results as JSON to FILE, replacing it once the run is complete.",
                               valueName: "FILE"))
    var json: String?

    func validate() throws {
        guard let json else { return }
        // Fail now rather than after a long run.
        let url = URL(fileURLWithPath: json)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError("--json: '\(json)' is a directory")
        }
        guard FileManager.default.isWritableFile(atPath: directory) else {
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
        for failure in results where !failure.passed {
            print(failure)
        }
        print("\(report.passed) passed, \(report.failed) failed")
        if let json {
            // .atomic writes a temporary file beside the target and renames it over the target.
            try report.jsonData().write(to: URL(fileURLWithPath: json), options: .atomic)
        }
        if report.failed > 0 {
            throw ExitCode.failure
        }
    }
}

/// "[12/110] gemm 7×33×129 NN" on one self-overwriting line, when stderr is a terminal.
private final class Progress {
    let total: Int
    let device: String
    private var done = 0
    private let interactive = isatty(STDERR_FILENO) != 0

    init(total: Int, device: String) {
        self.total = total
        self.device = device
        standardError("verifying \(total) cases on \(device)\n")
    }

    func step(_ result: VerificationResult) {
        done += 1
        if interactive { standardError("\r\u{1B}[K[\(done)/\(total)] \(result.operation) \(result.shape)") }
    }

    func finish() {
        if interactive { standardError("\r\u{1B}[K") }
    }
}

private func standardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cltrain-bench",
        abstract: "Time CLTrain's operations on each device (the default, `measure`), or tune its gemm kernel (`tune`).",
        subcommands: [MeasureCommand.self, TuneCommand.self],
        defaultSubcommand: MeasureCommand.self
    )

    /// Logging first: the registry that reads CLTRAIN_DEVICES logs.
    static func main() {
        CommandLineLogging.bootstrap()
        main(nil)
    }

    /// CLTRAIN_DEVICES is read first, for every subcommand: a malformed value fails at once.
    func validate() throws {
        do { _ = try DeviceRegistry.shared.visibility() } catch { throw ValidationError("\(error)") }
    }
}

struct MeasureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "measure",
        abstract: "Time CLTrain's operations (gemm, softmax, cross-entropy, elementwise, LSTM) on each device.",
        discussion: """
            OpenCL devices are timed on the device clock (profiling markers around each run), the CPU \
            backend by the wall clock. Each case is run --warmup times untimed, then --repeats times; \
            the table gives the median, 10th and 90th percentile, the rate (GFLOP/s for gemm and LSTM, \
            GB/s for memory-bound operations), its share of the device's measured peak, and the same \
            gemm in a reference library on the same device: CLBlast on OpenCL devices (when libclblast \
            is installed), OpenBLAS's cblas_sgemm called directly on the CPU. FLOP and byte counts are \
            defined in Benchmarks/OperationCost.swift.

            The exit status is non-zero if any device, case or reference run fails, or if a reference \
            computes a different result.
            """
    )

    @OptionGroup var logging: LoggingOptions

    @Option(name: .customLong("device"), help: ArgumentHelp(
        "Devices as `cltrain devices` lists them: OpenCL indices and/or 'cpu', e.g. '0,cpu'. Default: CLTRAIN_DEVICES, else every OpenCL device and the CPU backend.",
        valueName: "LIST"), transform: DeviceList.parse)
    var deviceList: DeviceList?

    @Option(help: ArgumentHelp("Run only the cases whose name contains TEXT (ignoring case), e.g. 'gemm 128x4000' or 'lstm'.",
                               valueName: "TEXT"))
    var filter: String?

    @Option(help: ArgumentHelp(
        "Run only the cases of a named suite: gpu-session (what scripts/gpu-session.sh times beside PyTorch: the LSTM's and the 80k decoder's gemms, 1024³, 4096³, softmax and softmax+xent at 128×80000, 1 and 4 LSTM layers at H 1000 B 128 T 50). --filter narrows it further.",
        valueName: "NAME"))
    var suite: Suite?

    @Option(help: ArgumentHelp("Timed runs per case (default 10; 1 with --quick).", valueName: "N"))
    var repeats: Int?

    @Option(help: ArgumentHelp("Untimed runs per case before the timed ones (default 2; 0 with --quick).", valueName: "N"))
    var warmup: Int?

    @Flag(help: "A smoke run: every case once at small shapes, a short peak measurement, the reference on one gemm per device.")
    var quick = false

    @Option(name: .customLong("max-gflop"), help: ArgumentHelp(
        "Skip cases of more than X GFLOP on every device ('inf': none). Default: 50 on devices that are not GPUs (the CPU backend, PoCL), no limit on GPUs.",
        valueName: "X"))
    var maxGigaflop: Double?

    @Option(help: ArgumentHelp("Also write every figure as JSON to FILE, replacing it once the run is complete.",
                               valueName: "FILE"))
    var json: String?

    @Flag(help: "List the cases (with --quick: at their quick shapes) and exit.")
    var list = false

    func validate() throws {
        if let repeats, repeats < 1 { throw ValidationError("--repeats must be at least 1") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if let maxGigaflop, !(maxGigaflop >= 0) { throw ValidationError("--max-gflop must be a number ≥ 0, or 'inf'") }
        if let json {
            // Fail now rather than after a long run.
            let url = URL(fileURLWithPath: json)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw ValidationError("--json: '\(json)' is a directory")
            }
            guard FileManager.default.isWritableFile(atPath: url.deletingLastPathComponent().path) else {
                throw ValidationError("--json: cannot write into '\(url.deletingLastPathComponent().path)'")
            }
        }
    }

    func run() throws {
        let cases = CaseCatalog.cases(quick: quick).filter { item in
            (suite.map { item.suites.contains($0) } ?? true)
                && (filter.map { item.name.localizedCaseInsensitiveContains($0) } ?? true)
        }
        guard !cases.isEmpty else {
            let what = [suite.map { "suite \($0.rawValue)" }, filter.map { "'\($0)'" }].compactMap { $0 }.joined(separator: " and ")
            throw ValidationError("no case matches \(what); --list shows them")
        }
        if list {
            var table = TextTable(headers: ["case", "GFLOP", "MB moved", "what"])
            for item in cases {
                table.append([item.name, format(item.cost.flops.map { $0 / 1e9 }), format(item.cost.bytes.map { $0 / 1e6 }), item.summary])
            }
            print(table.rendered())
            return
        }

        let registry = DeviceRegistry.shared
        let warmup = self.warmup ?? (quick ? 0 : 2), repeats = self.repeats ?? (quick ? 1 : 10)
        var report = BenchReport(
            date: ISO8601DateFormatter().string(from: Date()), commandLine: CommandLine.arguments, host: .current,
            options: .init(quick: quick, warmup: warmup, repeats: repeats, filter: filter, suite: suite?.rawValue,
                          maxGigaflop: maxGigaflop))

        for selection in try selection(in: registry) {
            standardError("device \(selection): measuring its peak\n")
            let device: BenchDevice
            do {
                device = try BenchDevice(selection, registry: registry, quick: quick)
            } catch {
                report.errors.append("device \(selection) could not be benchmarked: \(error)")
                continue
            }
            report.devices.append(device.record)
            let limit = maxGigaflop ?? (device.isCPUType ? 50 : .infinity)
            // --quick calls the reference once per device: enough to show it works, while CLBlast
            // compiling its kernels for each new shape on PoCL would take most of the smoke run.
            var referenceCalled = false
            for (number, item) in cases.enumerated() {
                guard item.gigaflops <= limit else {
                    report.skipped.append(.init(device: device.record.label, case: item.name, gigaflop: item.gigaflops,
                                                limitGigaflop: limit))
                    continue
                }
                standardError("device \(selection) [\(number + 1)/\(cases.count)] \(item.name)")
                do {
                    let result = try device.run(item, warmup: warmup, repeats: repeats,
                                                withReference: !quick || !referenceCalled)
                    referenceCalled = referenceCalled || result.reference != nil || result.referenceError != nil
                    standardError(": \(format(result.time.map { $0.median * 1e3 })) ms\n")
                    if let referenceError = result.referenceError { standardError("  reference failed: \(referenceError)\n") }
                    report.results.append(result)
                } catch {
                    standardError(": failed: \(error)\n")
                    report.results.append(CaseResult(device: device.record.label, case: item.name, summary: item.summary,
                                                     error: "\(error)"))
                }
            }
        }

        print(render(report))
        if let json {
            // Atomic for a regular file; a device, FIFO or symbolic link stays what it is.
            try AtomicFile.write(report.jsonData(), to: URL(fileURLWithPath: json))
        }
        if report.failed { throw ExitCode.failure }
    }

    /// `--device`, else CLTRAIN_DEVICES, else every OpenCL device and the CPU backend.
    private func selection(in registry: DeviceRegistry) throws -> [DeviceSelection] {
        try registry.requestedSelection(deviceList?.devices, option: "--device") ?? (registry.visibleOpenCLDevices().map { .openCL($0.index) } + [.cpu])
    }

    /// The devices with their peaks, the table, then what was skipped and what failed.
    private func render(_ report: BenchReport) -> String {
        var lines: [String] = []
        for device in report.devices {
            lines.append("device \(device.label): \(device.name) — \(device.platform)"
                         + (device.kind == "cpu" ? ", \(device.computeUnits) cores"
                                                 : ", driver \(device.driverVersion), \(device.computeUnits) compute units"))
            if let peak = device.peak {
                lines.append("  peak \(format(peak.flopsPerSecond / 1e9)) GFLOP/s, \(format(peak.bytesPerSecond / 1e9)) GB/s "
                             + "(\(peak.method))")
            }
            var timing = "  timed by \(device.timing ?? "-")"
            if let floor = device.timerFloorSeconds { timing += " (empty span \(format(floor * 1e3)) ms)" }
            lines.append(timing + "; reference: " + (device.reference ?? device.referenceNote ?? "none"))
            if let note = device.note { lines.append("  note: \(note)") }
        }
        if report.options.quick {
            lines += ["", "--quick: small shapes, one run each without warm-up (first-run costs such as kernel "
                      + "compilation included), the reference on one gemm per device: a smoke test, not a measurement."]
        }
        lines += ["", report.table.rendered()]
        if !report.skipped.isEmpty {
            let why = report.options.maxGigaflop == nil ? "the default for devices that are not GPUs" : "--max-gflop"
            lines.append("")
            for device in report.devices {
                let skipped = report.skipped.filter { $0.device == device.label }
                guard let limit = skipped.first?.limitGigaflop else { continue }
                lines.append("skipped on device \(device.label), over \(format(limit)) GFLOP (\(why); --max-gflop inf runs "
                             + "them): " + skipped.map { "\($0.case) (\(format($0.gigaflop)))" }.joined(separator: ", "))
            }
        }
        let failures = report.errors + report.results.compactMap { result in
            result.error.map { "\(result.case) on device \(result.device): \($0)" }
        } + report.results.compactMap { result in
            result.referenceError.map { "reference for \(result.case) on device \(result.device): \($0)" }
        }
        if !failures.isEmpty { lines += [""] + failures.map { "FAILED: \($0)" } }
        return lines.joined(separator: "\n")
    }
}

func standardError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

import ArgumentParser
import CLTrain
import Foundation

/// `cltrain-bench tune`: searches the tiled gemm's parameters on each selected OpenCL device
/// (`GemmTuner` holds the search; this is its command line and report).
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Tune the tiled gemm kernel's parameters on each OpenCL device.",
        discussion: """
            For each device: every legal parameter set of the search space (a sample of at most \
            --max-candidates of them) is built, verified against the CPU reference on a shape with \
            ragged edges and a K tail in all four transpose cases, aligned and at an offset (any \
            failure under the tolerance rule of `cltrain verify` rejects it), then timed on the \
            shapes on the device clock. The objective is the geometric mean over the shapes of the \
            median GFLOP/s, timed through the backend's gemm as training runs it (direct-kernel \
            strips and small-shape fallbacks included). The best set is written to the tuning file \
            in the cache folder, keyed by device name and driver version, which OpenCL backends on \
            that device then use; the row to paste into the built-in table (KernelParameters.swift) \
            is printed too.
            """
    )

    @Option(name: .customLong("device"), help: ArgumentHelp(
        "OpenCL devices as `cltrain devices` lists them, e.g. '0,1'. Default: the OpenCL devices of CLTRAIN_DEVICES, else every OpenCL device.",
        valueName: "LIST"))
    var deviceList: String?

    @Flag(help: "A small search space and small shapes, few runs: for CI and CPU OpenCL devices (PoCL).")
    var quick = false

    @Option(name: .customLong("shape"), help: ArgumentHelp(
        "A shape to time, MxNxK with an optional transpose case (e.g. 128x4000x2000 or 128x4000x2000:NT); repeatable. Default: the issue's 128x4000x2000, 128x80000x1000, 4096x4096x4096, 8192x8192x8192 (with --quick: 128x512x256, 256x256x256).",
        valueName: "MxNxK"))
    var shapes: [String] = []

    @Option(name: .customLong("max-candidates"), help: ArgumentHelp(
        "Try at most N legal parameter sets, a fixed-seed sample (default 250; --quick tries all of its few).", valueName: "N"))
    var maxCandidates: Int?

    @Option(help: ArgumentHelp("Timed runs per shape (default 10; 3 with --quick).", valueName: "N"))
    var repeats: Int?

    @Option(help: ArgumentHelp("Untimed runs per shape first (default 2; 1 with --quick).", valueName: "N"))
    var warmup: Int?

    @Option(help: ArgumentHelp("Rows of the table of best candidates (default 10).", valueName: "N"))
    var top = 10

    @Option(help: ArgumentHelp(
        "The tuning file to update. Default: gemm-tuning.json in the tuning cache folder ($CLTRAIN_CACHE_DIR/tuning, else $XDG_CACHE_HOME/cltrain/tuning, else ~/.cache/cltrain/tuning).",
        valueName: "FILE"))
    var output: String?

    func validate() throws {
        if let repeats, repeats < 1 { throw ValidationError("--repeats must be at least 1") }
        if let warmup, warmup < 0 { throw ValidationError("--warmup must not be negative") }
        if let maxCandidates, maxCandidates < 1 { throw ValidationError("--max-candidates must be at least 1") }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        for shape in shapes where GemmTuner.Shape(parsing: shape) == nil {
            throw ValidationError("--shape '\(shape)' is not MxNxK with positive sizes, optionally followed by :NN, :NT, :TN or :TT")
        }
        if let deviceList {
            do { _ = try DeviceSelection.parseList(deviceList) } catch { throw ValidationError("--device: \(error)") }
        }
    }

    /// One candidate's outcome: its GFLOP/s per shape and their geometric mean, or why it was rejected.
    struct Outcome {
        let label: String
        let parameters: TiledGemmParameters?
        var gigaflops: [Double] = []
        var rejection: String?
        var score: Double { GemmTuner.geometricMean(gigaflops) }
    }

    func run() throws {
        let registry = DeviceRegistry.shared
        let shapes = self.shapes.isEmpty ? (quick ? GemmTuner.quickShapes : GemmTuner.issueShapes)
                                         : self.shapes.compactMap(GemmTuner.Shape.init(parsing:))
        let warmup = self.warmup ?? (quick ? 1 : 2), repeats = self.repeats ?? (quick ? 3 : 10)
        let file = output.map { URL(fileURLWithPath: $0) } ?? GemmTuningFile.defaultLocation()
        let selection = try registry.requestedSelection(list: deviceList) ?? registry.visibleOpenCLDevices().map { .openCL($0.index) }
        let devices = selection.compactMap { item -> Int? in
            if case .openCL(let index) = item { return index }
            standardError("tune: skipping '\(item)': only OpenCL devices have kernels to tune\n")
            return nil
        }
        guard !devices.isEmpty else { throw ValidationError("no OpenCL device selected; `cltrain devices` lists them") }

        var failed = false
        for index in devices {
            do {
                try tune(device: index, shapes: shapes, warmup: warmup, repeats: repeats, file: file)
            } catch {
                standardError("tune: device \(index) failed: \(error)\n")
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }

    private func tune(device index: Int, shapes: [GemmTuner.Shape], warmup: Int, repeats: Int, file: URL?) throws {
        let registry = DeviceRegistry.shared
        let context = try registry.context(ofOpenCLDevice: index)
        let device = context.device
        let space = GemmTuner.searchSpace(quick: quick)
        let candidates = GemmTuner.candidates(from: space, device: device, limit: quick ? nil : (maxCandidates ?? 250))
        print("device \(index): \(device.name) — \(device.platformName), driver \(device.driverVersion), "
              + "\(device.computeUnits) compute units")
        print("  \(candidates.count) candidates (of \(space.count) in the \(quick ? "quick" : "full") space), shapes "
              + shapes.map(\.description).joined(separator: ", ") + ", \(warmup) warm-up and \(repeats) timed runs each")
        let reference = CPUBackend()

        func time(_ backend: OpenCLBackend) throws -> [Double] {
            try shapes.map { $0.flops / 1e9 / (try GemmTuner.medianSeconds(backend, shape: $0, warmup: warmup, repeats: repeats)) }
        }

        // The direct kernel alone: the baseline every candidate must beat.
        var baseline = Outcome(label: "direct kernel only", parameters: nil)
        baseline.gigaflops = try time(OpenCLBackend(context: context, tiledGemm: nil, dispatch: .automatic))

        var outcomes: [Outcome] = []
        for (number, parameters) in candidates.enumerated() {
            standardError("device \(index) [\(number + 1)/\(candidates.count)] \(parameters)")
            var outcome = Outcome(label: "\(parameters)", parameters: parameters)
            do {
                let checked = try OpenCLBackend(context: context, tiledGemm: parameters, dispatch: .tiledWherePossible)
                if let failure = try GemmTuner.verify(checked, reference: reference,
                                                      shape: GemmTuner.verificationShape(parameters)) {
                    outcome.rejection = "wrong result: \(failure)"
                } else {
                    outcome.gigaflops = try time(OpenCLBackend(context: context, tiledGemm: parameters, dispatch: .automatic))
                }
            } catch {
                outcome.rejection = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            }
            standardError(outcome.rejection.map { ": rejected: \($0)\n" } ?? ": \(format(outcome.score)) GFLOP/s\n")
            outcomes.append(outcome)
        }

        let ranked = outcomes.filter { $0.rejection == nil }.sorted { $0.score > $1.score }
        var table = TextTable(headers: ["rank", "parameters"] + shapes.map { "\($0) GFLOP/s" } + ["geomean"])
        for (rank, outcome) in ranked.prefix(top).enumerated() {
            table.append(["\(rank + 1)", outcome.label] + outcome.gigaflops.map { format($0) } + [format(outcome.score)])
        }
        table.append(["-", baseline.label] + baseline.gigaflops.map { format($0) } + [format(baseline.score)])
        print(table.rendered())
        let rejected = outcomes.filter { $0.rejection != nil }
        if !rejected.isEmpty {
            print("  \(rejected.count) rejected:")
            for outcome in rejected.prefix(10) { print("    \(outcome.label): \(outcome.rejection ?? "")") }
            if rejected.count > 10 { print("    … and \(rejected.count - 10) more") }
        }
        guard let best = ranked.first, let parameters = best.parameters else {
            throw CLTrainError.invalidArgument("no candidate passed verification on \(device.name)")
        }
        let objective = "geometric mean over \(shapes.count) shape\(shapes.count == 1 ? "" : "s") of the median GFLOP/s (\(repeats) runs)"
        print("  best: \(parameters): \(format(best.score)) GFLOP/s (\(objective)); direct kernel alone "
              + "\(format(baseline.score))")

        if let file {
            var tuning = GemmTuningFile.load(from: file) { standardError("tune: \($0)\n") }
            tuning.record(.init(deviceName: device.name, driverVersion: device.driverVersion, platformName: device.platformName,
                                parameters: parameters, objective: objective, score: best.score,
                                shapes: shapes.map(\.description), date: ISO8601DateFormatter().string(from: Date())))
            try tuning.write(to: file)
            print("  written to \(file.path) for \(device.name), driver \(device.driverVersion)")
        } else {
            print("  not saved: caches are off (CLTRAIN_CACHE_DIR=off) and no --output was given")
        }
        print("  row for KernelParameters.table (Sources/CLTrain/Backends/OpenCL/KernelParameters.swift):")
        print("    (\"\(device.name)\", KernelParameters(tiledGemm: \(parameters.swiftLiteral))),")
    }
}

import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation

/// `cltrain-bench tune`: searches the tiled gemm's parameters on each selected OpenCL device
/// (`GemmTuner` holds the search; this is its command line and report).
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Tune the tiled gemm kernel's parameters on each OpenCL device.",
        discussion: """
            For each device: the Hopper seeds (GemmTuner.hopperSeeds: 128×128 and 64×128 tiles, \
            8×8 per work-item, float8 loads) that are legal there, then the generic default, then a \
            fixed-seed sample of the rest of the search space (at most --max-candidates sets in all; \
            --time-budget stops the search early, keeping the best verified set so far), each one \
            built, verified against the CPU reference on a shape with \
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

    @OptionGroup var logging: LoggingOptions

    @Option(name: .customLong("device"), help: ArgumentHelp(
        "OpenCL devices as `cltrain devices` lists them, e.g. '0,1'. Default: the OpenCL devices of CLTRAIN_DEVICES, else every OpenCL device.",
        valueName: "LIST"), transform: DeviceList.parse)
    var deviceList: DeviceList?

    @Flag(help: "A small search space and small shapes, few runs: for CI and CPU OpenCL devices (PoCL).")
    var quick = false

    @Option(name: .customLong("shape"), help: ArgumentHelp(
        "A shape to time, MxNxK with an optional transpose case (e.g. 128x4000x2000 or 128x4000x2000:NT); repeatable. Default: the issue's 128x4000x2000, 128x80000x1000, 4096x4096x4096, 8192x8192x8192 (with --quick: 128x512x256, 256x256x256).",
        valueName: "MxNxK"))
    var shapes: [String] = []

    @Option(name: .customLong("max-candidates"), help: ArgumentHelp(
        "Try at most N legal parameter sets, a fixed-seed sample (default 250; --quick tries all of its few).", valueName: "N"))
    var maxCandidates: Int?

    @Option(name: .customLong("time-budget"), help: ArgumentHelp(
        "Stop trying candidates once SECONDS have passed on this device (checked before each candidate, so the last may end a little later) and keep the best verified set so far. Without --max-candidates, the whole legal space is then the sample. Default: no budget.",
        valueName: "SECONDS"))
    var timeBudget: Double?

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
        if let timeBudget, !(timeBudget > 0 && timeBudget < 1e7) {
            throw ValidationError("--time-budget must be a number of seconds above 0 (and under 10 000 000)")
        }
        if top < 1 { throw ValidationError("--top must be at least 1") }
        for shape in shapes where GemmTuner.Shape(parsing: shape) == nil {
            throw ValidationError("--shape '\(shape)' is not MxNxK with positive sizes, optionally followed by :NN, :NT, :TN or :TT")
        }
    }

    func run() throws {
        let registry = DeviceRegistry.shared
        let shapes = self.shapes.isEmpty ? (quick ? GemmTuner.quickShapes : GemmTuner.issueShapes)
                                         : self.shapes.compactMap(GemmTuner.Shape.init(parsing:))
        let warmup = self.warmup ?? (quick ? 1 : 2), repeats = self.repeats ?? (quick ? 3 : 10)
        let file = output.map { URL(fileURLWithPath: $0) } ?? GemmTuningFile.defaultLocation()
        let selection = try registry.requestedSelection(deviceList?.devices, option: "--device") ?? registry.visibleOpenCLDevices().map { .openCL($0.index) }
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
        // --quick tries its few sets alone; a time budget without a count may try the whole space.
        let limit = quick ? nil : maxCandidates ?? (timeBudget == nil ? 250 : nil)
        let candidates = GemmTuner.candidates(from: space, seeds: quick ? [] : GemmTuner.hopperSeeds, device: device, limit: limit)
        print("device \(index): \(device.name) — \(device.platformName), driver \(device.driverVersion), "
              + "\(device.computeUnits) compute units")
        print("  \(candidates.count) candidates (\(quick ? "the quick space" : "the legal Hopper seeds, then a sample of the full space of \(space.count)")), shapes "
              + shapes.map(\.description).joined(separator: ", ") + ", \(warmup) warm-up and \(repeats) timed runs each"
              + (timeBudget.map { ", time budget \(format($0)) s" } ?? ""))
        let reference = CPUBackend()
        let started = WallClock.now

        func time(_ backend: OpenCLBackend) throws -> [Double] {
            try shapes.map { $0.flops / 1e9 / (try GemmTuner.medianSeconds(backend, shape: $0, warmup: warmup, repeats: repeats)) }
        }

        // The direct kernel alone: the baseline every candidate must beat.
        let baseline = GemmTuner.Outcome(parameters: .generic,
                                         gigaflops: try time(OpenCLBackend(context: context, tiledGemm: nil, dispatch: .automatic)))
        let objective = "geometric mean over \(shapes.count) shape\(shapes.count == 1 ? "" : "s") of the median GFLOP/s (\(repeats) runs)"
        var saved = false

        let budgetLeft = timeBudget.map { $0 - WallClock.seconds(since: started) }
        var number = 0
        let search = try GemmTuner.search(candidates, budgetSeconds: budgetLeft.map { max($0, 0) }, evaluate: { parameters in
            number += 1
            standardError("device \(index) [\(number)/\(candidates.count)] \(parameters)")
            let checked = try OpenCLBackend(context: context, tiledGemm: parameters, dispatch: .tiledWherePossible)
            if let failure = try GemmTuner.verify(checked, reference: reference, shape: GemmTuner.verificationShape(parameters)) {
                return GemmTuner.Outcome(parameters: parameters, rejection: "wrong result: \(failure)")
            }
            return GemmTuner.Outcome(parameters: parameters,
                                     gigaflops: try time(OpenCLBackend(context: context, tiledGemm: parameters, dispatch: .automatic)))
        }, onOutcome: { outcome, isNewBest in
            standardError(outcome.rejection.map { ": rejected: \($0)\n" } ?? ": \(format(outcome.score)) GFLOP/s\(isNewBest ? " (best so far)" : "")\n")
            // Saved at once, so that a run stopped from outside (a session's time limit) keeps it.
            if isNewBest, let file {
                try save(outcome, device: device, objective: objective, shapes: shapes, to: file)
                saved = true
            }
        })

        let outcomes = search.outcomes
        let ranked = outcomes.filter { $0.rejection == nil }.sorted { $0.score > $1.score }
        var table = TextTable(headers: ["rank", "parameters"] + shapes.map { "\($0) GFLOP/s" } + ["geomean"])
        for (rank, outcome) in ranked.prefix(top).enumerated() {
            table.append(["\(rank + 1)", "\(outcome.parameters)"] + outcome.gigaflops.map { format($0) } + [format(outcome.score)])
        }
        table.append(["-", "direct kernel only"] + baseline.gigaflops.map { format($0) } + [format(baseline.score)])
        print(table.rendered())
        let rejected = outcomes.filter { $0.rejection != nil }
        if !rejected.isEmpty {
            print("  \(rejected.count) rejected:")
            for outcome in rejected.prefix(10) { print("    \(outcome.parameters): \(outcome.rejection ?? "")") }
            if rejected.count > 10 { print("    … and \(rejected.count - 10) more") }
        }
        print("  tried \(outcomes.count) of \(candidates.count) candidates in \(format(WallClock.seconds(since: started))) s"
              + (search.stoppedByBudget ? "; the time budget stopped the search with \(search.untried) untried" : ""))
        guard let best = search.best else {
            throw CLTrainError.invalidArgument("no candidate passed verification on \(device.name)")
        }
        let parameters = best.parameters
        print("  best: \(parameters): \(format(best.score)) GFLOP/s (\(objective)); direct kernel alone "
              + "\(format(baseline.score))")
        if let file, saved {
            print("  written to \(file.path) for \(device.name), driver \(device.driverVersion)")
        } else if file == nil {
            print("  not saved: caches are off (CLTRAIN_CACHE_DIR=off) and no --output was given")
        }
        print("  entry for KernelParameters.table (Sources/CLTrain/Backends/OpenCL/KernelParameters.swift; "
              + "into an existing entry of the vendor, add the DeviceRow line alone):")
        for line in GemmTuner.builtInTableEntry(for: device, parameters: parameters).split(separator: "\n") {
            print("    " + line)
        }
    }

    /// Records `outcome` as this device's entry of the tuning file `file`, replacing any earlier one.
    private func save(_ outcome: GemmTuner.Outcome, device: OpenCLDeviceDescription, objective: String,
                      shapes: [GemmTuner.Shape], to file: URL) throws {
        var tuning = GemmTuningFile.load(from: file) { standardError("tune: \($0)\n") }
        tuning.record(.init(deviceName: device.name, driverVersion: device.driverVersion, platformName: device.platformName,
                            parameters: outcome.parameters, objective: objective, score: outcome.score,
                            shapes: shapes.map(\.description), date: ISO8601DateFormatter().string(from: Date())))
        try tuning.write(to: file)
    }
}

import Foundation
import Testing
@testable import CLTrain

/// Chrome traces (`train --trace`, `plan --trace`): the file is Trace Event Format, a worker's
/// and a device's busy time in it are what the run reports, a pipelined run on two PoCL devices
/// shows its layers working at once, and tracing changes nothing the run computes.
@Suite("Chrome traces")
struct TraceTests {
    // MARK: The format

    /// What is wrong with `document` as Trace Event Format, as Perfetto and chrome://tracing read
    /// the JSON object form: `traceEvents` an array of objects; each with `ph`; a complete event
    /// ("X") with a string `name` and `cat`, numbers `ts` and `dur` ≥ 0, integers `pid` and `tid`,
    /// an object `args` if any; a metadata event ("M") naming a process or thread (or sorting
    /// one) with its `args`; and every track an event uses named by one.
    static func schemaProblems(_ document: Any) -> [String] {
        guard let root = document as? [String: Any] else { return ["the document is not a JSON object"] }
        guard let events = root["traceEvents"] as? [Any] else { return ["no traceEvents array"] }
        var problems: [String] = []
        if let unit = root["displayTimeUnit"], unit as? String != "ms" && unit as? String != "ns" {
            problems.append("displayTimeUnit \(unit) is neither ms nor ns")
        }
        var processes = Set<Int>(), threads = Set<[Int]>(), used = Set<[Int]>()
        func integer(_ value: Any?) -> Int? {
            guard let number = value as? NSNumber else { return nil }
            let double = number.doubleValue
            return double == double.rounded() && abs(double) < 1e15 ? number.intValue : nil
        }
        for (i, item) in events.enumerated() {
            guard let event = item as? [String: Any] else { problems.append("event \(i) is not an object"); continue }
            guard let pid = integer(event["pid"]), let tid = integer(event["tid"]) else {
                problems.append("event \(i): pid and tid must be integers"); continue
            }
            switch event["ph"] as? String {
            case "X":
                if !(event["name"] is String) { problems.append("event \(i): name is not a string") }
                if !(event["cat"] is String) { problems.append("event \(i): cat is not a string") }
                guard let ts = event["ts"] as? NSNumber, let dur = event["dur"] as? NSNumber, ts.doubleValue.isFinite,
                      dur.doubleValue.isFinite, dur.doubleValue >= 0 else {
                    problems.append("event \(i): ts and dur must be finite numbers, dur ≥ 0"); continue
                }
                if let args = event["args"], !(args is [String: Any]) { problems.append("event \(i): args is not an object") }
                used.insert([pid, tid])
            case "M":
                let args = event["args"] as? [String: Any]
                switch event["name"] as? String {
                case "process_name":
                    if args?["name"] is String { processes.insert(pid) } else { problems.append("event \(i): process_name without a name") }
                case "thread_name":
                    if args?["name"] is String { threads.insert([pid, tid]) } else { problems.append("event \(i): thread_name without a name") }
                case "process_sort_index", "thread_sort_index":
                    if integer(args?["sort_index"]) == nil { problems.append("event \(i): a sort index that is not an integer") }
                default:
                    problems.append("event \(i): metadata \(String(describing: event["name"])) is not one CLTrain writes")
                }
            default:
                problems.append("event \(i): ph \(String(describing: event["ph"])) is neither X nor M")
            }
        }
        for track in used.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            if !processes.contains(track[0]) { problems.append("pid \(track[0]) has no process_name") }
            if !threads.contains(track) { problems.append("pid \(track[0]) tid \(track[1]) has no thread_name") }
        }
        return problems
    }

    /// A written trace, parsed with Foundation's JSONSerialization, its schema checked.
    struct ParsedTrace {
        let events: [[String: Any]]
        /// pid → process name, [pid, tid] → thread name.
        let processes: [Int: String]
        let threads: [[Int]: String]

        init(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let document = try JSONSerialization.jsonObject(with: try Data(contentsOf: url))
            let problems = TraceTests.schemaProblems(document)
            #expect(problems.isEmpty, "\(problems.prefix(5))", sourceLocation: sourceLocation)
            let all = ((document as? [String: Any])?["traceEvents"] as? [[String: Any]]) ?? []
            var processes: [Int: String] = [:], threads: [[Int]: String] = [:]
            for event in all where event["ph"] as? String == "M" {
                let pid = (event["pid"] as? Int) ?? -1, tid = (event["tid"] as? Int) ?? -1
                let name = ((event["args"] as? [String: Any])?["name"] as? String) ?? ""
                if event["name"] as? String == "process_name" { processes[pid] = name }
                if event["name"] as? String == "thread_name" { threads[[pid, tid]] = name }
            }
            events = all.filter { $0["ph"] as? String == "X" }
            self.processes = processes
            self.threads = threads
        }

        /// The complete events of `category` with their track's names and times in µs.
        func spans(_ category: String) -> [(process: String, thread: String, name: String, start: Double, end: Double)] {
            events.filter { $0["cat"] as? String == category }.map { event in
                let pid = (event["pid"] as? Int) ?? -1, tid = (event["tid"] as? Int) ?? -1
                let start = (event["ts"] as? Double) ?? 0, duration = (event["dur"] as? Double) ?? 0
                return (processes[pid] ?? "?", threads[[pid, tid]] ?? "?", (event["name"] as? String) ?? "", start, start + duration)
            }
        }

        /// Seconds of `category` per "process / thread".
        func busySeconds(_ category: String) -> [String: Double] {
            spans(category).reduce(into: [:]) { $0["\($1.process) / \($1.thread)", default: 0] += ($1.end - $1.start) * 1e-6 }
        }
    }

    @Test func aRecorderWritesTraceEventFormat() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let recorder = TraceRecorder()
        let worker = TraceTrack(process: "host", thread: "worker 0"), queue = TraceTrack(process: "device d", thread: "queue")
        recorder.declare(queue)
        let start = recorder.origin
        recorder.record("layer 0 forward, steps 0..<5", category: TraceCategory.task, on: worker, from: start + 1_000, to: start + 3_500,
                        arguments: ["shape": .shape([20, 8]), "bytes": 640])
        recorder.append(TraceEvent(name: "gemm", category: TraceCategory.kernel, track: queue, start: 1.5, duration: 0.25))
        recorder.appendLater { [TraceEvent(name: "later", category: TraceCategory.kernel, track: queue, start: 2, duration: 1)] }
        recorder.isRecording = false
        recorder.record("dropped", category: TraceCategory.task, on: worker, from: start, to: start + 10)
        let url = scratch.url.appendingPathComponent("trace.json")
        try recorder.write(to: url)

        let trace = try ParsedTrace(url)
        #expect(trace.events.count == 3)
        #expect(Set(trace.processes.values) == ["host", "device d"] && Set(trace.threads.values) == ["worker 0", "queue"])
        // Declared first, listed first.
        #expect(trace.processes[1] == "device d")
        let task = trace.spans(TraceCategory.task)
        #expect(task.count == 1 && task.first.map { $0.start == 1 && $0.end == 3.5 } == true, "\(task)")
        let args = trace.events.first { $0["name"] as? String == "layer 0 forward, steps 0..<5" }?["args"] as? [String: Any]
        #expect(args?["shape"] as? String == "20×8" && args?["bytes"] as? Int == 640)
        #expect(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) is [String: Any])

        // The check can fail: a complete event without its dur, one on an unnamed track, a negative dur.
        #expect(!Self.schemaProblems(["traceEvents": [["ph": "X", "name": "x", "cat": "c", "ts": 0, "pid": 1, "tid": 1]]]).isEmpty)
        #expect(!Self.schemaProblems(["traceEvents": [["ph": "X", "name": "x", "cat": "c", "ts": 0, "dur": 1, "pid": 1, "tid": 1]]]).isEmpty)
        #expect(!Self.schemaProblems(["traceEvents": [["ph": "X", "name": "x", "cat": "c", "ts": 0, "dur": -1, "pid": 1, "tid": 1]]]).isEmpty)
        #expect(!Self.schemaProblems(["events": []]).isEmpty)
    }

    @Test func aTracePathThatCannotBeWrittenIsRefusedNamingIt() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let missing = scratch.path("no-such-folder/trace.json")
        let error = #expect(throws: CLTrainError.self) { try TraceRecorder.checkWritable(missing) }
        #expect(error.map { "\($0)".contains("does not exist") && "\($0)".contains("no-such-folder") } == true, "\(String(describing: error))")
        let folder = #expect(throws: CLTrainError.self) { try TraceRecorder.checkWritable(scratch.url.path) }
        #expect(folder.map { "\($0)".contains("is a directory") } == true)
        try TraceRecorder.checkWritable(scratch.path("trace.json"))
    }

    // MARK: The runtime's trace

    /// Two CPU backends, layer 0 on one and layer 1 + the softmax on the other, pipelined.
    static func pipelinedModel(_ run: SmallRun, seed: UInt64) throws -> LanguageModel {
        let backends = [CPUBackend(), CPUBackend(), CPUBackend()]
        return try LanguageModel(configuration: run.configuration,
                                 devices: ModelDevices(layers: [backends[0], backends[1]],
                                                       softmaxShards: [(backends[2], 0..<run.vocabulary.count)]),
                                 seed: seed)
    }

    /// The trace's task time per worker is the utilization's busy time: both come from the same
    /// clock readings, so they agree to rounding (1 ns per span here); and its "pipelined phases"
    /// spans sum to the utilization's wall time.
    @Test func aWorkersTasksInTheTraceSumToTheBusyTimeTheRunReports() throws {
        let run = try SmallRun(batch: 3, bptt: 6, hidden: 8, layers: 2)
        let options = run.options(epochs: 1, steps: 4)
        let model = try Self.pipelinedModel(run, seed: options.seed)
        let executor = WavefrontExecutor(model: model, stepsPerRun: 2)
        let trainer = try Trainer(model: model, executor: executor, vocabulary: run.vocabulary, options: options, train: run.train,
                                  validation: nil, checkpointDirectory: nil)
        let recorder = TraceRecorder()
        // One step more than the run makes: the window is cut to the run's steps 2...4, then handed on.
        try trainer.traceSteps(4, into: recorder)
        var delivered = 0
        trainer.onTraceComplete = { _ in delivered += 1 }
        // The utilization of steps 2...4 alone: step 1's is taken off from what onStep saw after it.
        var afterFirst = PipelineUtilization()
        trainer.onStep = { report in if report.step == 1 { afterFirst = executor.utilization } }
        try trainer.run()
        #expect(delivered == 1 && trainer.tracedSteps == 2..<5)

        // The workers' tracks (the main thread's tasks, the embedding and the losses, are not a worker's).
        let busy = try recorder.busySeconds(category: TraceCategory.task).filter { $0.key.thread.hasPrefix("worker ") }
        let workers = try executor.pipelineWorkers()
        #expect(busy.count == workers.count, "\(busy.keys)")
        for (w, worker) in workers.enumerated() {
            let track = TraceTrack(process: ExecutionTrace.hostProcess, thread: "worker \(w): \(worker.name)")
            let reported = (executor.utilization.busySeconds[worker.name] ?? 0) - (afterFirst.busySeconds[worker.name] ?? 0)
            let traced = busy[track] ?? -1
            #expect(reported > 0 && abs(traced - reported) <= 1e-6, "\(worker.name): trace \(traced) s, utilization \(reported) s")
        }
        let phases = try recorder.contents().events.filter { $0.name == "pipelined phases" }.reduce(0) { $0 + $1.duration * 1e-6 }
        let wall = executor.utilization.wallSeconds - afterFirst.wallSeconds
        #expect(abs(phases - wall) <= 1e-6, "phases \(phases) s, utilization wall \(wall) s")
        let steps = try recorder.contents().events.filter { $0.track == ExecutionTrace.steps }.map(\.name)
        #expect(steps == ["step 2", "step 3", "step 4"])
    }

    /// A traced run computes what an untraced one does, losses and weights bit for bit.
    @Test(arguments: [ExecutionSchedule.sequential, .wavefront(stepsPerRun: 2)])
    func tracingChangesNothingTheRunComputes(schedule: ExecutionSchedule) throws {
        let run = try SmallRun(batch: 3, bptt: 6, hidden: 8, layers: 2)
        let options = run.options(epochs: 1, steps: 4)
        func train(traced: Bool) throws -> (losses: [Double], weights: [[Float]], events: Int) {
            let model = try Self.pipelinedModel(run, seed: options.seed)
            let executor = schedule.makeExecutor(for: model)
            let trainer = try Trainer(model: model, executor: executor, vocabulary: run.vocabulary, options: options, train: run.train,
                                      validation: run.validation, checkpointDirectory: nil)
            let recorder = TraceRecorder()
            if traced { try trainer.traceSteps(2, into: recorder) }
            var losses: [Double] = []
            trainer.onStep = { losses.append($0.loss) }
            try trainer.run()
            return (losses, try model.parameters.logicalTensors.map { try $0.gather(\.value) }, try recorder.contents().events.count)
        }
        let plain = try train(traced: false), traced = try train(traced: true)
        #expect(plain.losses == traced.losses && plain.weights == traced.weights)
        #expect(plain.events == 0 && traced.events > 0)
    }

    // MARK: The command line

    static let tinyPipelined = ["train", "--data", "synthetic", "--vocab", "40", "--hidden", "8", "--layers", "2", "--batch", "4",
                                "--bptt", "6", "--epochs", "1", "--sample-length", "0", "--pipeline", "--steps-per-run", "2"]

    /// The devices a pipelined run can use here: two OpenCL devices, else the CPU backend twice.
    static var twoDevices: String { DeviceRegistry.shared.openCLDevices.count >= 2 ? "0,1" : "cpu,cpu" }

    /// `train --trace` on a one-step run: the trace holds every training step, so each worker's
    /// busy share (its tasks over the "pipelined phases" span) is the share the run prints.
    @Test func aTrainingTraceShowsTheBusySharesTheRunPrints() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let path = scratch.path("run.json")
        let result = try CLI.run(Self.tinyPipelined + ["--steps-per-epoch", "1", "--layer-devices", Self.twoDevices, "--trace", path])
        #expect(result.status == 0 && !result.crashed && result.output.contains("trace of steps 1..<2"), "\(result)")
        let trace = try ParsedTrace(URL(fileURLWithPath: path))
        let wall = trace.spans(TraceCategory.step).filter { $0.name == "pipelined phases" }.reduce(0) { $0 + $1.end - $1.start }
        let busy = trace.busySeconds(TraceCategory.task)
        // "layer 0 on cpu   57.4%": the printed table's rows.
        var rows = 0
        for line in result.standardOutput.split(separator: "\n") where line.hasSuffix("%") && !line.hasPrefix("bubble") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let share = fields.last.flatMap({ Double($0.dropLast()) }) else { continue }
            let name = fields.dropLast().joined(separator: " ")
            guard let traced = busy.first(where: { $0.key.hasSuffix(": \(name)") })?.value else {
                Issue.record("no worker track for \(name) in \(busy.keys)"); continue
            }
            #expect(abs(100 * traced / (wall * 1e-6) - share) <= 0.1, "\(name): trace \(100 * traced / (wall * 1e-6))%, printed \(share)%")
            rows += 1
        }
        #expect(rows == 3 && wall > 0, "\(result.standardOutput)")
    }

    /// The 2014 wavefront on two PoCL devices: while layer 1 works on one run, layer 0 works on the
    /// next, on the host workers' tracks and on the devices' own clocks (their kernels).
    @Test(.enabled(if: DeviceRegistry.shared.openCLDevices.count >= 2,
                   "fewer than two OpenCL devices: the pipelined trace on PoCL skipped (POCL_DEVICES=\"pthread pthread\" gives two)"))
    func aPipelinedRunOnTwoPoCLDevicesShowsLayersOverlapping() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let path = scratch.path("pocl.json")
        let result = try CLI.run(["train", "--data", "synthetic", "--vocab", "64", "--hidden", "64", "--layers", "2", "--batch", "16",
                                  "--bptt", "16", "--epochs", "1", "--steps-per-epoch", "3", "--sample-length", "0",
                                  "--layer-devices", "0,1", "--pipeline", "--trace", path, "--trace-steps", "2"])
        #expect(result.status == 0 && !result.crashed, "\(result)")
        let trace = try ParsedTrace(URL(fileURLWithPath: path))
        func overlaps(_ a: [(start: Double, end: Double)], _ b: [(start: Double, end: Double)]) -> Bool {
            a.contains { x in b.contains { y in x.start < y.end && y.start < x.end } }
        }
        let tasks = trace.spans(TraceCategory.task)
        let layer0 = tasks.filter { $0.name.hasPrefix("layer 0 forward") }.map { ($0.start, $0.end) }
        let layer1 = tasks.filter { $0.name.hasPrefix("layer 1 forward") }.map { ($0.start, $0.end) }
        #expect(!layer0.isEmpty && !layer1.isEmpty && overlaps(layer0, layer1), "host tasks of layers 0 and 1 never overlap")
        #expect(Set(tasks.filter { $0.name.hasPrefix("layer 0") }.map(\.thread)).count == 1)
        let kernels = trace.spans(TraceCategory.kernel)
        let queue0 = kernels.filter { $0.process.hasPrefix("device opencl:0") && $0.thread == "queue: layer 0" }.map { ($0.start, $0.end) }
        let queue1 = kernels.filter { $0.process.hasPrefix("device opencl:1") && $0.thread.hasPrefix("queue: layer 1") }.map { ($0.start, $0.end) }
        #expect(!queue0.isEmpty && !queue1.isEmpty && overlaps(queue0, queue1),
                "no kernel of layer 0's queue overlaps one of layer 1's (\(queue0.count) and \(queue1.count) kernels)")
        // The device clock, mapped onto the host's, lies within the traced steps.
        let steps = trace.spans(TraceCategory.step).filter { $0.thread == "steps" }
        let (first, last) = (steps.map(\.start).min() ?? 0, steps.map(\.end).max() ?? 0)
        #expect(kernels.allSatisfy { $0.start >= first - 1_000 && $0.end <= last + 1_000 }, "kernels outside the steps \(first)...\(last) µs")
    }

    @Test func badTraceFlagsAreRefusedWithAClearErrorAndNoFile() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let tiny = CLIBadInputDevicesTests.tinyTrain
        let cases: [(arguments: [String], message: String)] = [
            (tiny + ["--trace", scratch.path("missing/t.json")], "does not exist"),
            (tiny + ["--trace", scratch.url.path], "is a directory"),
            (tiny + ["--trace", scratch.path("t.json"), "--trace-steps", "0"], "--trace-steps"),
            (tiny + ["--trace", scratch.path("t.json"), "--trace-steps", "101"], "--trace-steps"),
            (tiny + ["--trace", scratch.path("t.json"), "--trace-steps", "many"], "--trace-steps"),
            (tiny + ["--trace-steps", "2"], "add --trace"),
            (tiny + ["--trace", scratch.path("t.json"), "--profile"], "--profile"),
            (["plan", "--vocab", "16", "--layers", "1", "--hidden", "8", "--simulate-devices", "2", "--costs", "h100",
              "--trace", scratch.path("missing/p.json")], "does not exist"),
        ]
        for (arguments, message) in cases {
            let result = try CLI.run(arguments)
            #expect(result.status != 0 && !result.crashed && result.standardError.contains(message), "\(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.path("t.json")))
    }

    // MARK: The simulator's trace

    /// Each simulated device's spans sum to its predicted busy time and never overlap.
    @Test(arguments: [ExecutionSchedule.sequential, .wavefront(stepsPerRun: 1), .wavefront(stepsPerRun: 2, microBatches: 2)])
    func aPredictedTraceHoldsEachDevicesBusyTime(schedule: ExecutionSchedule) throws {
        let model = PipelineModel(layers: SimulatorTests.stages(2, forward: 0.01, backward: 0.02, weightGradient: 0.005),
                                  shards: SimulatorTests.stages(2, forward: 0.03, backward: 0.01, firstDevice: 2), steps: 4,
                                  activationBytes: 4096, rowBytes: 64, link: Presets.pcie4, deviceCopy: Presets.pcie4)
        let prediction = try PipelineSimulator.simulate(model, schedule: schedule)
        let recorder = TraceRecorder()
        prediction.record(into: recorder, process: "predicted", deviceNames: ["a", "b", "c", "d"])
        let busy = try recorder.busySeconds(category: TraceCategory.device)
        for (d, name) in ["a", "b", "c", "d"].enumerated() {
            let traced = busy[TraceTrack(process: "predicted, device \(name)", thread: "queues, in turn")] ?? 0
            #expect(abs(traced - prediction.busy[d]) <= 1e-9, "device \(name): \(traced) vs \(prediction.busy[d])")
        }
        let events = try recorder.contents().events
        for track in Set(events.map(\.track)) {
            let spans = events.filter { $0.track == track }.sorted { $0.start < $1.start }
            #expect(zip(spans, spans.dropFirst()).allSatisfy { $0.end <= $1.start + 1e-6 }, "\(track) overlaps itself")
        }
        #expect(events.contains { $0.name.hasPrefix("layer 1 forward, ") })
        #expect(abs((events.map(\.end).max() ?? 0) - prediction.stepTime * 1e6) <= 1e-3)
    }

    /// `plan --validate --trace` on timing devices: per schedule, the prediction and the measured
    /// step, whose devices' spans sum to the busy time the validation reports.
    @Test func aValidationTraceHoldsThePredictionAndTheMeasurement() throws {
        let plan = try PlanValidationTests.plan()
        let rows = try PlanValidation.validate(plan, targetSequentialSeconds: 0.05, measuredSteps: 1, tracing: true)
        for row in rows {
            let measured = try #require(row.measuredTrace)
            let busy = try measured.busySeconds(category: TraceCategory.device)
            for (d, name) in row.deviceNames.enumerated() {
                let traced = busy[TraceTrack(process: "device \(name)", thread: "queues, in turn")] ?? -1
                #expect(abs(traced - row.measuredBusy[d]) <= 1e-6, "\(row.schedule), \(name): trace \(traced) s, measured \(row.measuredBusy[d]) s")
            }
            #expect(try measured.contents().events.contains { $0.category == TraceCategory.task || $0.track == ExecutionTrace.main })
        }

        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let path = scratch.path("plan.json")
        let result = try CLI.run(["plan", "--vocab", "300", "--layers", "1", "--hidden", "64", "--batch", "8", "--bptt", "4",
                                  "--simulate-devices", "2", "--costs", "h100", "--layer-devices", "0", "--softmax-devices", "1",
                                  "--validate", "--validate-step-ms", "20", "--validate-steps", "1", "--trace", path])
        #expect(result.status == 0 && !result.crashed, "\(result)")
        let trace = try ParsedTrace(URL(fileURLWithPath: path))
        let processes = Set(trace.processes.values)
        for schedule in ["sequential (this placement)", "wavefront (2014), K = 1"] {
            for device in ["timing:0", "timing:1"] {
                #expect(processes.contains("predicted: \(schedule), device \(device)"), "\(processes)")
                #expect(processes.contains("measured: \(schedule), device \(device)"), "\(processes)")
            }
            #expect(processes.contains("measured: \(schedule), host"))
        }
        // Without --validate: the prediction alone, named by the placement's devices.
        let alone = scratch.path("alone.json")
        let predicted = try CLI.run(["plan", "--vocab", "300", "--layers", "2", "--hidden", "64", "--batch", "8", "--bptt", "4",
                                     "--simulate-devices", "3", "--costs", "h100", "--layer-devices", "0,1", "--softmax-devices", "2",
                                     "--micro-batches", "2", "--trace", alone])
        #expect(predicted.status == 0 && !predicted.crashed, "\(predicted)")
        let names = Set(try ParsedTrace(URL(fileURLWithPath: alone)).processes.values)
        #expect(names.count == 9 && names.allSatisfy { $0.hasPrefix("predicted: ") }, "\(names)")
    }
}

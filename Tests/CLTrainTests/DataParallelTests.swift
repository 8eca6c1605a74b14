import Foundation
import Testing
@testable import CLTrain

/// `cltrain train --data-parallel` under a real `mpirun` on loopback: N ranks at global batch B
/// train to the losses and weights of one process at batch B, within the reduction-order
/// tolerance (the data-parallel gradient sums N partial sums of T·B/N rows where one process sums
/// T·B rows at once: `Tolerance.relative(reductionLength: T·B)`); checkpoints resume on any
/// number of ranks asked for; a killed rank stops the job; mismatched ranks are refused.
@Suite("Data-parallel training under mpirun", .serialized, .enabled(if: MPIRun.isAvailable, MPIRun.skipReason))
struct DataParallelTests {
    /// A small run: synthetic words, 2 layers, dropout at all three sites (so the masks by global
    /// row are checked), 2 epochs of 6 steps (validation after each).
    static func arguments(batch: Int = 4, steps: Int = 6, epochs: Int = 2, extra: [String] = []) -> [String] {
        ["train", "--data", "synthetic", "--vocab", "50", "--layers", "2", "--hidden", "16", "--bptt", "5",
         "--batch", "\(batch)", "--epochs", "\(epochs)", "--steps-per-epoch", "\(steps)", "--log-every", "1",
         "--sample-length", "0", "--seed", "3", "--dropout", "0.3"] + extra
    }
    static let allSites = ["--dropout-at", "embedding,between,output"]
    /// T·B of `arguments`' windows: the reduction length of the tolerance.
    static let bound = Tolerance.relative(reductionLength: 5 * 4)

    /// The (type, loss) of every record of a `--metrics` file.
    static func losses(_ path: String) throws -> [(type: String, loss: Double)] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return ((object?["type"] as? String) ?? "?", (object?["loss"] as? Double) ?? .nan)
        }
    }

    /// Every tensor of a checkpoint's model file, by name.
    static func weights(_ folder: String) throws -> [String: [Float]] {
        let file = try SafeTensors.read(from: URL(fileURLWithPath: folder).appendingPathComponent(Checkpoint.modelFileName))
        return Dictionary(uniqueKeysWithValues: file.entries.map { ($0.name, $0.values) })
    }

    static func expectEqualRuns(_ one: (metrics: String, checkpoint: String), _ many: (metrics: String, checkpoint: String),
                                sourceLocation: SourceLocation = #_sourceLocation) throws {
        let a = try losses(one.metrics), b = try losses(many.metrics)
        #expect(a.count == b.count && !a.isEmpty, "\(a.count) records from one process, \(b.count) from the ranks", sourceLocation: sourceLocation)
        for (x, y) in zip(a, b) {
            #expect(x.type == y.type, sourceLocation: sourceLocation)
            #expect(abs(x.loss - y.loss) <= bound * abs(x.loss), "\(x.type) loss \(y.loss) on the ranks, \(x.loss) in one process",
                    sourceLocation: sourceLocation)
        }
        let w1 = try weights(one.checkpoint), w2 = try weights(many.checkpoint)
        #expect(w1.keys.sorted() == w2.keys.sorted(), sourceLocation: sourceLocation)
        for (name, values) in w1 {
            let other = w2[name] ?? []
            let scale = values.reduce(0) { $0 + Double(abs($1)) } / Double(max(values.count, 1))
            let worst = zip(values, other).map { abs(Double($0) - Double($1)) - bound * (Double(abs($0)) + scale) }.max() ?? 1
            #expect(other.count == values.count && worst <= 0, "'\(name)' differs beyond the tolerance", sourceLocation: sourceLocation)
        }
    }

    /// One process and 2 ranks at the same global batch, each with its metrics and checkpoint.
    /// Returns the ranks' run (nil where a run failed).
    @discardableResult
    static func compare(_ extra: [String], perRank: [String]? = nil, batch: Int = 4,
                        environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> CLIResult? {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let one = try CLI.run(arguments(batch: batch, extra: extra + ["--metrics", folder.path("one.jsonl"), "--checkpoint", folder.path("one")]),
                              environment: environment, timeout: 240)
        #expect(one.status == 0 && !one.crashed, "\(one)", sourceLocation: sourceLocation)
        let many = try MPIRun.run(ranks: 2, arguments(batch: batch, extra: (perRank ?? extra) + ["--data-parallel",
                                  "--metrics", folder.path("two.jsonl"), "--checkpoint", folder.path("two")]),
                                  environment: environment, timeout: 240)
        #expect(many.status == 0 && !many.crashed, "\(many)", sourceLocation: sourceLocation)
        guard one.status == 0, many.status == 0 else { return nil }
        try expectEqualRuns((folder.path("one.jsonl"), folder.path("one")), (folder.path("two.jsonl"), folder.path("two")),
                            sourceLocation: sourceLocation)
        // Only rank 0 prints the progress: one line per step, not two.
        let lines = many.standardError.components(separatedBy: "\n").filter { $0.contains("epoch 1 step 1/6") }
        #expect(lines.count == 1, "\(many)", sourceLocation: sourceLocation)
        #expect(many.standardError.contains("allreduce wait"), "\(many)", sourceLocation: sourceLocation)
        // --metrics records the ranks and the allreduce's wait and overlap.
        let records = try String(contentsOfFile: folder.path("two.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.filter { $0["type"] as? String == "step" }
        #expect(!records.isEmpty && records.allSatisfy { $0["ranks"] as? Int == 2 && $0["allreduce_wait_seconds"] is Double
                    && ($0["allreduce_overlap"] as? Double).map { (0...1).contains($0) } == true }, sourceLocation: sourceLocation)
        return many
    }

    /// The (buckets, pinned) counts of rank 0's "allreduce: N gradient bucket(s), P staged in pinned…" line.
    static func bucketStaging(_ run: CLIResult) -> (buckets: Int, pinned: Int)? {
        guard let line = run.standardError.components(separatedBy: "\n").first(where: { $0.contains("gradient bucket") }),
              let tail = line.components(separatedBy: "allreduce: ").last else { return nil }
        let words = tail.split(separator: " ")
        guard words.count > 3, let buckets = Int(words[0]), let pinned = Int(words[3]) else { return nil }
        return (buckets, pinned)
    }

    @Test("2 ranks equal 1 process at the same global batch on the CPU (dropout at every site)")
    func cpu() throws {
        let many = try Self.compare(["--device", "cpu"] + Self.allSites)
        // The CPU's buckets stay pageable host memory (nothing to pin).
        if let many { #expect(Self.bucketStaging(many).map { $0.buckets > 0 && $0.pinned == 0 } == true, "\(many)") }
    }

    @Test("2 ranks equal 1 process with Adam and the sequence-sum loss")
    func adam() throws {
        try Self.compare(["--device", "cpu", "--optimizer", "adam", "--loss-reduction", "sequence-sum"], batch: 6)
    }

    @Test("--pipeline with micro-batches inside each rank: 2 ranks equal 1 process")
    func pipelineInsideRanks() throws {
        try Self.compare(["--device", "cpu"],
                         perRank: ["--layer-devices", "cpu,cpu", "--softmax-devices", "cpu,cpu", "--pipeline", "--micro-batches", "2"],
                         batch: 8)
    }

    @Test("on PoCL, one OpenCL device per rank: 2 ranks equal 1 process",
          .enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty, "no OpenCL device (PoCL) to run the ranks on"))
    func pocl() throws {
        // Each rank sees one PoCL device of its own (POCL_DEVICES per rank; here the same for both).
        let many = try Self.compare(["--device", "0"] + Self.allSites, environment: ["POCL_DEVICES": "pthread", "CLTRAIN_DEVICES": "0"])
        // Every bucket is staged through pinned (mapped) host memory, which MPI reduces in place.
        if let many { #expect(Self.bucketStaging(many).map { $0.buckets > 0 && $0.pinned == $0.buckets } == true, "\(many)") }
    }

    @Test("resume: a 2-rank checkpoint continues on 2 ranks as one uninterrupted process")
    func resume() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let base = ["--device", "cpu"] + Self.allSites
        let one = try CLI.run(Self.arguments(epochs: 2, extra: base + ["--metrics", folder.path("one.jsonl"), "--checkpoint", folder.path("one")]),
                              timeout: 240)
        #expect(one.status == 0, "\(one)")
        let first = try MPIRun.run(ranks: 2, Self.arguments(epochs: 1, extra: base + ["--data-parallel", "--checkpoint", folder.path("two"),
                                                                                     "--metrics", folder.path("two.jsonl")]))
        #expect(first.status == 0, "\(first)")
        let state = try SafeTensors.readMetadata(from: URL(fileURLWithPath: folder.path("two")).appendingPathComponent("training-state-000000006.safetensors"))
        #expect(state[Checkpoint.rankCountKey] == "2", "the training state records the ranks")
        let second = try MPIRun.run(ranks: 2, Self.arguments(epochs: 2, extra: base + ["--data-parallel", "--resume", "--checkpoint", folder.path("two"),
                                                                                      "--metrics", folder.path("two.jsonl")]))
        #expect(second.status == 0, "\(second)")
        guard one.status == 0, first.status == 0, second.status == 0 else { return }
        try Self.expectEqualRuns((folder.path("one.jsonl"), folder.path("one")), (folder.path("two.jsonl"), folder.path("two")))
    }

    @Test("resume on another number of ranks: refused, unless --allow-rank-change (then the note says so)")
    func rankChange() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let base = ["--device", "cpu", "--checkpoint", folder.path("run")]
        let first = try MPIRun.run(ranks: 2, Self.arguments(epochs: 1, extra: base + ["--data-parallel"]))
        #expect(first.status == 0, "\(first)")
        let refused = try CLI.run(Self.arguments(epochs: 2, extra: base + ["--resume"]), timeout: 60)
        expectCleanFailure(refused, mentioning: ["trained on 2 data-parallel ranks", "this run has 1", "--allow-rank-change"])
        let allowed = try CLI.run(Self.arguments(epochs: 2, extra: base + ["--resume", "--allow-rank-change"]), timeout: 120)
        #expect(allowed.status == 0, "\(allowed)")
        #expect(allowed.standardError.contains("trained on 2 data-parallel ranks, this run has 1 (--allow-rank-change)"), "\(allowed)")
    }

    @Test("ranks with another model shape or other data are refused at start, naming what differs")
    func mismatchedOptions() throws {
        let shape = try MPIRun.run(perRank: [Self.arguments(extra: ["--device", "cpu", "--data-parallel"]),
                                             Self.arguments(extra: ["--device", "cpu", "--data-parallel", "--hidden", "8"])])
        expectCleanFailure(shape, mentioning: ["ranks disagree on the model's shape"])
        var other = Self.arguments(extra: ["--device", "cpu", "--data-parallel"])
        if let v = other.firstIndex(of: "--vocab") { other[v + 1] = "60" }
        let data = try MPIRun.run(perRank: [Self.arguments(extra: ["--device", "cpu", "--data-parallel"]), other])
        expectCleanFailure(data, mentioning: ["ranks disagree on", "the data"])
    }

    @Test("bad input: one rank, or a global batch the ranks do not divide")
    func badInput() throws {
        let alone = try CLI.run(Self.arguments(extra: ["--device", "cpu", "--data-parallel"]), timeout: 60)
        expectCleanFailure(alone, mentioning: ["--data-parallel needs at least 2 ranks", "mpirun -np N"])
        let uneven = try MPIRun.run(ranks: 2, Self.arguments(batch: 5, extra: ["--device", "cpu", "--data-parallel"]))
        expectCleanFailure(uneven, mentioning: ["--batch 5", "2 ranks, which must divide it"])
        let flag = try CLI.run(Self.arguments(extra: ["--device", "cpu", "--allow-rank-change"]), timeout: 60)
        expectCleanFailure(flag, mentioning: ["--allow-rank-change", "--resume"])
    }

    /// A job started in the background, with rank 1's pid once it has said it (and, if asked, once
    /// `waitFor` exists).
    final class BackgroundJob {
        let process = Process()
        let errURL: URL
        private let err: FileHandle

        init(_ arguments: [String], in folder: ScratchFolder) throws {
            guard let mpirun = MPIRun.path, let cltrain = CLI.executable else { throw CLIRunnerError("mpirun or cltrain missing") }
            process.executableURL = URL(fileURLWithPath: mpirun)
            process.arguments = MPIRun.options + ["-np", "2", cltrain.path] + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 }
            errURL = folder.url.appendingPathComponent("stderr-\(UUID().uuidString)")
            _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
            err = try FileHandle(forWritingTo: errURL)
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            try process.run()
        }

        deinit {
            if process.isRunning { process.terminate(); process.waitUntilExit() }
            try? err.close()
        }

        var standardError: String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }

        /// Rank 1's pid, once it has logged it and `waitFor` (if any) exists; nil if the job ended first.
        func rankOnePid(waitFor file: URL? = nil, timeout: TimeInterval = 120) -> Int32? {
            var pid: Int32?
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline {
                if pid == nil, let line = standardError.components(separatedBy: "\n").first(where: { $0.contains("data-parallel rank 1 of 2") }),
                   let last = line.components(separatedBy: "pid ").last { pid = Int32(last.trimmingCharacters(in: .whitespaces)) }
                if pid != nil && (file.map { FileManager.default.fileExists(atPath: $0.path) } ?? true) { return pid }
                usleep(20_000)
            }
            return nil
        }

        /// Seconds until the job ends (at most `limit`).
        func secondsToEnd(limit: TimeInterval = 60) -> TimeInterval {
            let start = Date()
            while process.isRunning && Date().timeIntervalSince(start) < limit { usleep(20_000) }
            return Date().timeIntervalSince(start)
        }
    }

    @Test("a rank killed mid-run stops the job within seconds, naming it; the last checkpoint resumes")
    func killedRank() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let checkpoint = folder.path("run")
        let run = ["--device", "cpu", "--checkpoint", checkpoint, "--checkpoint-every", "2"]
        let job = try BackgroundJob(Self.arguments(steps: 100, epochs: 1, extra: run + ["--data-parallel"]), in: folder)
        // Rank 1's pid from its start line; then wait for a mid-epoch checkpoint and kill it.
        let model = URL(fileURLWithPath: checkpoint).appendingPathComponent(Checkpoint.modelFileName)
        guard let pid = job.rankOnePid(waitFor: model), job.process.isRunning else {
            Issue.record("the job ended or never started before a rank could be killed: \(job.standardError)")
            return
        }
        kill(pid, SIGKILL)
        let stopped = job.secondsToEnd()
        #expect(!job.process.isRunning && stopped < 30, "the job went on \(stopped) s after rank 1 was killed")
        guard !job.process.isRunning else { return }
        #expect(job.process.terminationStatus != 0)
        #expect(job.standardError.contains("rank 1"), "the message names the killed rank: \(job.standardError.suffix(2000))")

        // The last checkpoint is whole: it resumes on 2 ranks and finishes.
        let resumed = try MPIRun.run(ranks: 2, Self.arguments(steps: 100, epochs: 1, extra: run + ["--data-parallel", "--resume"]), timeout: 600)
        #expect(resumed.status == 0 && resumed.standardError.contains("resumed from"), "\(resumed)")
    }

    @Test("a rank that stops without dying (SIGSTOP) is noticed by --hang-timeout: the job ends, saying why")
    func hungRank() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let job = try BackgroundJob(Self.arguments(steps: 2000, epochs: 1, extra: ["--device", "cpu", "--data-parallel", "--hang-timeout", "3"]),
                                    in: folder)
        guard let pid = job.rankOnePid(), job.process.isRunning else {
            Issue.record("the job ended or never started before a rank could be stopped: \(job.standardError)")
            return
        }
        usleep(500_000)   // into training
        kill(pid, SIGSTOP)
        let stopped = job.secondsToEnd()
        // Only while the job lives is the pid surely still its rank's (never signal a reused pid).
        if job.process.isRunning { kill(pid, SIGKILL) }
        #expect(!job.process.isRunning && stopped < 30, "the job went on \(stopped) s after rank 1 stopped")
        guard !job.process.isRunning else { return }
        #expect(job.process.terminationStatus != 0)
        #expect(job.standardError.contains("no window finished for") && job.standardError.contains("--hang-timeout 3"),
                "\(job.standardError.suffix(2000))")
    }
}

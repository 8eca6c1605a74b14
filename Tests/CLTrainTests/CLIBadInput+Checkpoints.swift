import Foundation
import Testing
@testable import CLTrain
#if canImport(Glibc)
import Glibc
#endif

/// The built `cltrain` on checkpoints and outputs, as a hostile user would try them: corrupt or
/// foreign checkpoint files, two trainers on one folder, files the run did not write, special
/// output targets, and a run that diverges. Every run is tiny (a second or less).
@Suite("cltrain keeps checkpoints and outputs whole")
struct CLICheckpointTests {
    /// A run of three steps on 16 synthetic tokens: every flag a test does not set.
    static let tiny = ["--data", "synthetic", "--vocab", "16", "--hidden", "8", "--layers", "1", "--batch", "4",
                       "--bptt", "5", "--steps-per-epoch", "3", "--sample-length", "0", "--device", "cpu"]

    static func train(_ extra: [String] = [], checkpoint: String, in folder: ScratchFolder) throws -> CLIResult {
        try CLI.run(["train"] + tiny + extra + ["--checkpoint", checkpoint], in: folder.url)
    }

    static func expectSuccess(_ result: CLIResult, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 0 && !result.crashed && !result.signalled, "\(result)", sourceLocation: sourceLocation)
    }

    // MARK: Divergence

    /// `--lr 1e38` leaves finite weights whose loss overflows a few steps on. Training stops with
    /// a non-zero exit naming the last good checkpoint, and that checkpoint is good: a resume from
    /// it takes the next step with a finite loss (the old checkpoint held the diverged update).
    /// At 1e38 the run diverges, but where depends on the BLAS kernel (OpenBLAS's Haswell kernel
    /// gives NaN at step 2 here, its Cooperlake one a few steps later): either the message names a
    /// checkpoint that resumes with a finite loss, or it says none was written and none is there.
    /// `CheckpointIntegrityTests` makes the first case happen on every machine, with poisoned weights.
    @Test func divergenceNamesACheckpointThatResumesFinitely() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let flags = ["--lr", "1e38", "--checkpoint-every", "1", "--steps-per-epoch", "6"]
        let diverged = try Self.train(flags, checkpoint: "run", in: folder)
        let modelFile = folder.url.appendingPathComponent("run/model.safetensors")
        guard !diverged.standardError.contains("no checkpoint was written") else {
            expectCleanFailure(diverged, mentioning: ["diverged", "at epoch 1, step 2"])
            #expect(!FileManager.default.fileExists(atPath: modelFile.path), "a checkpoint was written: \(diverged)")
            return
        }
        expectCleanFailure(diverged, mentioning: ["diverged", "the last good checkpoint is \(folder.path("run/model.safetensors"))"])

        let step = try #require(try Checkpoint.describe(modelFile: modelFile).position?.step)
        let resumed = try CLI.run(["train"] + Self.tiny + flags + ["--checkpoint", "run", "--resume", "--log-every", "1",
                                                                   "--metrics", "m.jsonl"], in: folder.url)
        #expect(!resumed.crashed, "\(resumed)")
        let lines = ((try? String(contentsOf: folder.url.appendingPathComponent("m.jsonl"), encoding: .utf8)) ?? "")
            .split(separator: "\n")
        let first = try #require(lines.first { $0.contains("\"type\":\"step\"") }, "the resumed run took no step: \(resumed)")
        #expect(first.contains("\"step\":\(step + 1)") && !first.contains("nonFinite"), "\(first)")
    }

    @Test func aNonFiniteValidationIsKeptInTheMetrics() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        // At 1e15 the loss is ~1e14: finite, but its perplexity overflows to inf. (Far below any
        // overflow in the forward pass, which would make the loss NaN on some BLAS kernels.)
        let result = try Self.train(["--lr", "1e15", "--metrics", "m.jsonl"], checkpoint: "run", in: folder)
        Self.expectSuccess(result)
        let text = try String(contentsOf: folder.url.appendingPathComponent("m.jsonl"), encoding: .utf8)
        let validation = try #require(text.split(separator: "\n").first { $0.contains("\"type\":\"validation\"") },
                                      "the validation record was dropped: \(text)")
        #expect(validation.contains("\"perplexity\":null") && validation.contains("\"nonFinite\":{\"perplexity\":\"inf\"}"), "\(validation)")
        let object = try JSONSerialization.jsonObject(with: Data(validation.utf8)) as? [String: Any]
        #expect((object?["loss"] as? Double).map { $0.isFinite } == true)
    }

    // MARK: One writer per folder

    @Test func aSecondTrainerOnALockedFolderIsRefusedNamingThePID() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let directory = folder.url.appendingPathComponent("run")
        // This test process holds the lock, as a running trainer would.
        let lock = try Checkpoint.prepareDirectory(directory)
        for extra in [[], ["--resume"]] {
            expectCleanFailure(try Self.train(extra, checkpoint: "run", in: folder),
                               mentioning: ["in use by process \(getpid())", directory.path])
        }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(Checkpoint.modelFileName).path))
        lock.release()
        Self.expectSuccess(try Self.train(checkpoint: "run", in: folder))
    }

    @Test func aLockLeftByADeadProcessDoesNotBlock() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let directory = folder.url.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Data("\(try deadPID())\n".utf8).write(to: directory.appendingPathComponent(CheckpointLock.fileName))
        Self.expectSuccess(try Self.train(checkpoint: "run", in: folder))
    }

    // MARK: Foreign and corrupt files

    @Test(arguments: [(["--seed", "2"], "--seed 2, not 1"), (["--batch", "2"], "--batch 2, not 4"), ([], "belongs to run")])
    func aStateFileOfAnotherRunIsRefused(other: [String], difference: String) throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        Self.expectSuccess(try Self.train(["--epochs", "1"], checkpoint: "mine", in: folder))
        Self.expectSuccess(try Self.train(other, checkpoint: "theirs", in: folder))
        let mine = try Checkpoint.describe(modelFile: folder.url.appendingPathComponent("mine/model.safetensors"))
        let theirs = try Checkpoint.describe(modelFile: folder.url.appendingPathComponent("theirs/model.safetensors"))
        let target = folder.url.appendingPathComponent("mine/\(try #require(mine.stateFile))")
        try FileManager.default.removeItem(at: target)
        try FileManager.default.copyItem(at: folder.url.appendingPathComponent("theirs/\(try #require(theirs.stateFile))"), to: target)
        let copied = try Data(contentsOf: target)
        let result = try Self.train(["--epochs", "2", "--resume"], checkpoint: "mine", in: folder)
        expectCleanFailure(result, mentioning: [target.path, "does not belong", difference])
        #expect(try Data(contentsOf: target) == copied)
    }

    @Test func resumingWithOtherDataNamesIt() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        for (name, seed) in [("a.txt", 1), ("b.txt", 2)] {
            var generator = SplitMix64(seed: UInt64(seed))
            let lines = (0..<400).map { _ in String((0..<30).map { _ in Character(UnicodeScalar(UInt8(97 + generator.next() % 8))) }) }
            try lines.joined(separator: "\n").write(to: folder.url.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        let flags = ["--hidden", "8", "--layers", "1", "--batch", "4", "--bptt", "5", "--steps-per-epoch", "3",
                     "--sample-length", "0", "--device", "cpu", "--checkpoint", "run"]
        Self.expectSuccess(try CLI.run(["train", "--data", "a.txt"] + flags, in: folder.url))
        let result = try CLI.run(["train", "--data", "b.txt", "--resume", "--epochs", "2"] + flags, in: folder.url)
        expectCleanFailure(result, mentioning: ["--data", "'a.txt'", "'b.txt'"])
    }

    /// Bad checkpoint files through `eval` and `train --resume`: each refused naming the problem.
    @Test func corruptCheckpointsAreRefused() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        Self.expectSuccess(try Self.train(["--checkpoint-every", "1", "--steps-per-epoch", "4"], checkpoint: "good", in: folder))
        let good = folder.url.appendingPathComponent("good/model.safetensors")
        let valid = try Data(contentsOf: good)
        let model = try SafeTensors.read(from: good)
        let length = (0..<8).reduce(0) { $0 | Int(valid[$1]) << (8 * $1) }

        func variant(_ name: String, _ bytes: Data) throws -> String {
            let directory = folder.url.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try bytes.write(to: directory.appendingPathComponent(Checkpoint.modelFileName))
            return name
        }
        var shorter = valid
        shorter.replaceSubrange(0..<8, with: (0..<8).map { UInt8(truncatingIfNeeded: (length - 1) >> (8 * $0)) })
        var nan = model
        let bias = try #require(nan.entries.firstIndex { $0.name == "decoder.bias" })
        nan.entries[bias] = .init(name: "decoder.bias", shape: nan.entries[bias].shape,
                                  values: [Float](repeating: .nan, count: nan.entries[bias].values.count))
        var huge = model
        huge.metadata["configuration"] = "{\"dropout\":0,\"embeddingSize\":1099511627776,\"hiddenSize\":1099511627776,\"layers\":1000000000,\"vocabularySize\":16}"
        let cases: [(String, Data, [String])] = [
            ("shifted", shorter, ["corrupt", "belong to no tensor"]),
            ("nan", try nan.encode(), ["tensor 'decoder.bias' holds nan"]),
            ("huge", try huge.encode(), ["huge/model.safetensors"]),
            ("truncated", valid.prefix(valid.count - 3), ["corrupt"]),
        ]
        for (name, bytes, mentions) in cases {
            let path = try variant(name, bytes)
            expectCleanFailure(try CLI.run(["eval", "--checkpoint", path, "--data", "synthetic", "--device", "cpu"], in: folder.url),
                               mentioning: mentions)
            expectCleanFailure(try Self.train(["--resume", "--epochs", "2", "--checkpoint-every", "1", "--steps-per-epoch", "4"],
                                              checkpoint: path, in: folder), mentioning: [])
            #expect(try Data(contentsOf: folder.url.appendingPathComponent("\(path)/model.safetensors")) == bytes, "\(name) changed")
        }
    }

    // MARK: Files the run did not write

    @Test func aFreshRunKeepsTheUsersFilesAndRemovesLeftovers() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let directory = folder.url.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let notes = directory.appendingPathComponent("training-state-notes.safetensors")
        try Data("my notes".utf8).write(to: notes)
        let leftover = directory.appendingPathComponent(".model.safetensors.\(try deadPID()).tmp")
        try Data(count: 10_000).write(to: leftover)
        Self.expectSuccess(try Self.train(["--checkpoint-every", "1", "--epochs", "2"], checkpoint: "run", in: folder))
        #expect(try Data(contentsOf: notes) == Data("my notes".utf8))
        #expect(!FileManager.default.fileExists(atPath: leftover.path), "the killed run's temporary is still there")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names == [CheckpointLock.fileName, "model.safetensors", "training-state-000000006.safetensors",
                          "training-state-notes.safetensors"])
    }

    @Test func anotherRunsStateFileStopsAFreshRunBeforeItIsReplaced() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        Self.expectSuccess(try Self.train(checkpoint: "theirs", in: folder))
        let directory = folder.url.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let foreign = directory.appendingPathComponent("training-state-000000003.safetensors")
        try FileManager.default.copyItem(at: folder.url.appendingPathComponent("theirs/training-state-000000003.safetensors"), to: foreign)
        let before = try Data(contentsOf: foreign)
        expectCleanFailure(try Self.train(checkpoint: "run", in: folder), mentioning: [foreign.path, "not written by this run"])
        #expect(try Data(contentsOf: foreign) == before)
    }

    // MARK: Output targets that are not regular files

    @Test(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty, "no OpenCL device: verify writes no report"))
    func verifyJSONKeepsDevicesLinksAndFIFOsWhatTheyAre() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanup() }
        let verify = ["verify", "--filter", "sgdUpdate 7", "--device", "0"]
        // /dev/full: the write fails with ENOSPC, named; the device node stays a device node.
        expectCleanFailure(try CLI.run(verify + ["--json", "/dev/full"]), mentioning: ["/dev/full", "No space left on device"])
        var info = stat()
        #expect(lstat("/dev/full", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)
        Self.expectSuccess(try CLI.run(verify + ["--json", "/dev/null"]))
        #expect(lstat("/dev/null", &info) == 0 && info.st_mode & S_IFMT == S_IFCHR)

        // A symbolic link stays a link; the file it points to gets the report.
        let real = folder.url.appendingPathComponent("real.json"), link = folder.url.appendingPathComponent("link.json")
        try Data("old".utf8).write(to: real)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "real.json")
        Self.expectSuccess(try CLI.run(verify + ["--json", "link.json"], in: folder.url))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "real.json")
        #expect(try JSONSerialization.jsonObject(with: Data(contentsOf: real)) is [String: Any])

        // A FIFO gets the report through it, and stays a FIFO.
        let fifo = folder.url.appendingPathComponent("report.fifo")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let reader = FIFOReader(fifo)
        Self.expectSuccess(try CLI.run(verify + ["--json", fifo.path]))
        let received = reader.wait()
        #expect((try? JSONSerialization.jsonObject(with: received ?? Data())) is [String: Any], "the FIFO got \(received?.count ?? 0) bytes")
        #expect(lstat(fifo.path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).sorted() == ["link.json", "real.json", "report.fifo"])
    }
}

/// Reads a FIFO to its end on a thread of its own.
private final class FIFOReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data: Data?
    private let url: URL

    init(_ url: URL) {
        self.url = url
        Thread {
            self.data = FileHandle(forReadingAtPath: url.path)?.readDataToEndOfFile()
            self.done.signal()
        }.start()
    }

    /// The bytes read, or nil if no writer came within 30 s (the reader is then released).
    func wait() -> Data? {
        if done.wait(timeout: .now() + 30) == .timedOut {
            let fd = open(url.path, O_WRONLY | O_NONBLOCK)   // lets the blocked reader's open return
            if fd >= 0 { close(fd) }
            _ = done.wait(timeout: .now() + 5)
            return nil
        }
        return data
    }
}

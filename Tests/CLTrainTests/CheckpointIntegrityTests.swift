import Foundation
import Testing
@testable import CLTrain
#if canImport(Glibc)
import Glibc
#endif

/// Expects `body` to throw an error whose description contains every one of `parts`.
private func expectFailure(mentioning parts: [String], sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an error mentioning \(parts)", sourceLocation: sourceLocation)
    } catch {
        for part in parts where !"\(error)".contains(part) {
            Issue.record("'\(error)' does not mention '\(part)'", sourceLocation: sourceLocation)
        }
    }
}

private func files(_ directory: URL) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
        files[name] = try Data(contentsOf: directory.appendingPathComponent(name))
    }
    return files
}

/// A pid that is certainly not alive: a child that has exited and been reaped.
func deadPID() throws -> pid_t {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
}

/// Checkpoints that can be trusted: verified before written, tied to their run, and never
/// replacing or deleting what the run did not write.
@Suite("Checkpoint integrity")
struct CheckpointIntegrityTests {
    let run: SmallRun

    init() throws { run = try SmallRun(batch: 4, bptt: 6, hidden: 12, layers: 2) }

    func options(seed: UInt64 = 7, steps: Int = 4, checkpointEvery: Int? = nil, epochs: Int = 1) -> TrainingOptions {
        var options = run.options(epochs: epochs, optimizer: .adam, steps: steps, checkpointEvery: checkpointEvery)
        options.seed = seed
        options.maxValidationSteps = 2
        return options
    }

    func trainer(_ options: TrainingOptions, in directory: URL?, batch: Int? = nil) throws -> Trainer {
        var train = run.train, validation = run.validation
        if let batch {
            train = try TokenStream(tokens: run.train.tokens, batch: batch, steps: run.train.steps)
            validation = try TokenStream(tokens: run.validation.tokens, batch: batch, steps: run.validation.steps)
        }
        let model = try LanguageModel(configuration: run.configuration, backend: CPUBackend(), seed: options.seed)
        return try Trainer(model: model, vocabulary: run.vocabulary, options: options, train: train,
                           validation: validation, checkpointDirectory: directory, dataSource: "small corpus")
    }

    // MARK: Divergence

    /// A learning rate of 10^38 leaves finite weights that give an infinite loss a few steps on.
    /// The checkpoint after that update must not be written: the one named is the one before,
    /// whose weights gave a finite loss, and a resume from it takes that step again, finitely.
    /// Finite weights whose next loss is infinite on every machine, whatever its BLAS: the output
    /// layer's weight all 0 and its bias alternating ±Float.greatestFiniteMagnitude, so every
    /// logit is exactly its bias (0 · h adds nothing, h being finite) and a target of odd id costs
    /// max − x_t = 2·FLT_MAX, infinite as a float. Not NaN from ±∞ products inside a gemm: whether
    /// those sum to NaN or to ±∞ depends on the BLAS kernel (OpenBLAS 0.3.21's sgemm here returns
    /// +∞ for a dot product of +∞ and −∞ terms, where its sdot returns NaN). Finite, so a
    /// checkpoint of them is encoded and waits, pending, for the loss that will judge them.
    static func poison(_ model: LanguageModel) throws {
        let big = Float.greatestFiniteMagnitude
        for shard in model.decoder {
            try shard.weight.backend.upload([Float](repeating: 0, count: shard.weight.count), to: shard.weight.value)
            // By the vocabulary row: odd ids get −FLT_MAX whichever shard holds them.
            try shard.bias.backend.upload(shard.bias.rows.map { $0 % 2 == 1 ? -big : big }, to: shard.bias.value)
        }
    }

    @Test func theCheckpointADivergenceNamesResumesWithAFiniteLoss() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let options = options(steps: 10, checkpointEvery: 1)
        let trainer = try trainer(options, in: directory)
        var written: [Int] = []
        trainer.onCheckpoint = { _ in written.append(trainer.position.step) }
        // Update 3 leaves weights whose loss is infinite: step 4 diverges.
        trainer.onStep = { report in if report.step == 3 { try? Self.poison(trainer.model) } }
        let modelFile = directory.appendingPathComponent(Checkpoint.modelFileName)
        var divergedAt = 0
        do {
            try trainer.run()
            Issue.record("training with poisoned weights did not diverge")
        } catch let error as TrainingError {
            guard case .diverged(_, let step, let loss, let last) = error else { Issue.record("\(error)"); return }
            #expect(!loss.isFinite)
            #expect(last == modelFile.path)
            #expect("\(error)".contains("the last good checkpoint is \(modelFile.path)"), "\(error)")
            divergedAt = step
        }
        // Step s diverged: the weights after update s − 1 are bad, so the last written is s − 2's.
        try #require(divergedAt == 4)
        #expect(written == Array(1...(divergedAt - 2)), "checkpoints written after steps \(written)")
        #expect(try Checkpoint.describe(modelFile: modelFile).position?.step == divergedAt - 2)

        let resumed = try self.trainer(options, in: directory)
        try resumed.resume(from: modelFile)
        var losses: [Double] = []
        resumed.onStep = { report in
            losses.append(report.loss)
            try? Self.poison(resumed.model)
        }
        #expect(throws: TrainingError.self) { try resumed.run() }
        #expect(losses.count == 1 && losses.allSatisfy(\.isFinite), "the resumed run's steps: \(losses)")
    }

    @Test func aNonFiniteValidationLossIsADivergenceAndWritesNothing() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try trainer(options(steps: 3), in: directory)
        trainer.onStep = { report in
            // After the epoch's last update: the validation pass is the first to see it.
            guard report.step == 3, let bias = trainer.model.parameters.last(where: { $0.name == "decoder.bias" }) else { return }
            try? bias.backend.upload([Float](repeating: .nan, count: bias.count), to: bias.value)
        }
        var validations: [Double] = []
        trainer.onValidation = { validations.append($0.loss) }
        expectFailure(mentioning: ["diverged", "no checkpoint was written"]) { try trainer.run() }
        #expect(validations.count == 1 && !(validations.first?.isFinite ?? true), "the validation was reported first")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(Checkpoint.modelFileName).path))
    }

    // MARK: The validation pass's state

    @Test func anEpochEndCheckpointHoldsNoCarriedStateAndAMidEpochOneTheTrainingState() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainer = try trainer(options(steps: 4, checkpointEvery: 2), in: directory)
        var carried: [Int: [String: [Float]]] = [:]
        var trainingState: [Int: [Float]] = [:]
        trainer.onStep = { report in
            if report.step == 2 { trainingState[2] = try? trainer.model.backend.download(trainer.model.carriedState[1].hidden) }
        }
        trainer.onCheckpoint = { url in
            guard let model = try? SafeTensors.readMetadata(from: url), let name = model["state_file"],
                  let state = try? SafeTensors.read(from: url.deletingLastPathComponent().appendingPathComponent(name)) else {
                Issue.record("unreadable checkpoint"); return
            }
            let step = Checkpoint.step(ofStateFile: name) ?? -1
            carried[step] = Dictionary(uniqueKeysWithValues: state.entries.filter { $0.name.hasPrefix("carried.") }.map { ($0.name, $0.values) })
        }
        try trainer.run()
        #expect(carried.keys.sorted() == [2, 4])
        #expect(carried[2]?["carried.hidden_l1"] == trainingState[2], "the mid-epoch checkpoint holds the training state")
        #expect(carried[4]?.isEmpty == true, "the epoch's end saved the validation pass's state: \(carried[4]?.keys.sorted() ?? [])")
    }

    // MARK: State files that belong to another run

    /// Trains `options` into a fresh folder and returns it with its state file's name.
    private func checkpoint(_ options: TrainingOptions, batch: Int? = nil) throws -> (URL, String) {
        let directory = temporaryDirectory()
        try trainer(options, in: directory, batch: batch).run()
        let name = try #require(try Checkpoint.describe(modelFile: directory.appendingPathComponent(Checkpoint.modelFileName)).stateFile)
        return (directory, name)
    }

    @Test func aStateFileFromAnotherRunIsRefusedNamingTheDifference() throws {
        let base = options(steps: 3, checkpointEvery: 2, epochs: 2)
        let (mine, stateName) = try checkpoint(base)
        defer { try? FileManager.default.removeItem(at: mine) }
        let stateURL = mine.appendingPathComponent(stateName)
        let myState = try Data(contentsOf: stateURL)
        let modelFile = mine.appendingPathComponent(Checkpoint.modelFileName)

        var otherSeed = base
        otherSeed.seed = 9
        var otherBatch = base
        otherBatch.batch = 2
        let cases: [(String, TrainingOptions, Int?, [String])] = [
            ("the same options, another run", base, nil, ["does not belong", "belongs to run"]),
            ("another seed", otherSeed, nil, ["belongs to run", "--seed 9, not 7"]),
            ("another batch", otherBatch, 2, ["belongs to run", "--batch 2, not 4"]),
        ]
        for (what, options, batch, mentions) in cases {
            let (other, otherName) = try checkpoint(options, batch: batch)
            defer { try? FileManager.default.removeItem(at: other) }
            try FileManager.default.removeItem(at: stateURL)
            try FileManager.default.copyItem(at: other.appendingPathComponent(otherName), to: stateURL)
            let before = try files(mine)
            let resumed = try trainer(base, in: mine)
            expectFailure(mentioning: mentions + [stateURL.path]) { try resumed.resume(from: modelFile) }
            #expect(try files(mine) == before, "\(what): a refused resume changed the folder")
            #expect(resumed.position == TrainingPosition(), "\(what): the refused resume moved the trainer")
        }
        try FileManager.default.removeItem(at: stateURL)
        try myState.write(to: stateURL)
        try trainer(base, in: mine).resume(from: modelFile)   // its own state still resumes
    }

    @Test func positionsOutsideTheDataAreRefused() throws {
        let base = options(steps: 3, checkpointEvery: 2, epochs: 2)
        let (directory, stateName) = try checkpoint(base)
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelFile = directory.appendingPathComponent(Checkpoint.modelFileName)
        let model = try SafeTensors.read(from: modelFile)
        let state = try SafeTensors.read(from: directory.appendingPathComponent(stateName))

        for position in ["{\"epoch\":0,\"window\":1000000000,\"step\":1000000000}", "{\"epoch\":-1000000,\"window\":0,\"step\":0}",
                         "{\"epoch\":0,\"window\":-1,\"step\":-1}", "{\"epoch\":1,\"window\":1,\"step\":9223372036854775807}"] {
            // Both files agree with each other (as a forger would make them); the position is impossible.
            let step = try JSONDecoder().decode(TrainingPosition.self, from: Data(position.utf8)).step
            let name = step >= 0 ? Checkpoint.stateFileName(step: step) : stateName
            var forgedModel = model, forgedState = state
            forgedModel.metadata["position"] = position
            forgedModel.metadata["state_file"] = name
            forgedState.metadata["position"] = position
            forgedState.metadata["optimizer_steps"] = String(step)
            try forgedModel.write(to: modelFile)
            try forgedState.write(to: directory.appendingPathComponent(name))
            let resumed = try trainer(base, in: directory)
            expectFailure(mentioning: ["no position in this data"]) { try resumed.resume(from: modelFile) }
        }
    }

    @Test func resumingOnOtherDataNamesIt() throws {
        let base = options(steps: 3, checkpointEvery: 2, epochs: 2)
        let (directory, _) = try checkpoint(base)
        defer { try? FileManager.default.removeItem(at: directory) }
        let shuffled = try TokenStream(tokens: run.train.tokens.reversed(), batch: run.train.batch, steps: run.train.steps)
        let model = try LanguageModel(configuration: run.configuration, backend: CPUBackend(), seed: base.seed)
        let other = try Trainer(model: model, vocabulary: run.vocabulary, options: base, train: shuffled,
                                validation: run.validation, checkpointDirectory: directory, dataSource: "other.txt")
        expectFailure(mentioning: ["--data", "'small corpus'", "'other.txt'"]) {
            try other.resume(from: directory.appendingPathComponent(Checkpoint.modelFileName))
        }
    }

    @Test func nonFiniteWeightsAreRefusedAtLoadWithTheTensorsName() throws {
        let (directory, _) = try checkpoint(options(steps: 2))
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelFile = directory.appendingPathComponent(Checkpoint.modelFileName)
        for value: Float in [.nan, .infinity, -.infinity] {
            var file = try SafeTensors.read(from: modelFile)
            let index = try #require(file.entries.firstIndex { $0.name == "rnn.weight_hh_l1" })
            var values = file.entries[index].values
            values[5] = value
            file.entries[index] = .init(name: file.entries[index].name, shape: file.entries[index].shape, values: values)
            let bad = directory.appendingPathComponent("bad.safetensors")
            try file.write(to: bad)
            expectFailure(mentioning: ["tensor 'rnn.weight_hh_l1' holds \(value) at index 5"]) {
                _ = try Checkpoint.loadModel(bad, backend: CPUBackend())
            }
        }
    }

    @Test func aHeaderClaimingAHugeModelIsRefusedBeforeAllocating() throws {
        let (directory, _) = try checkpoint(options(steps: 2))
        defer { try? FileManager.default.removeItem(at: directory) }
        let modelFile = directory.appendingPathComponent(Checkpoint.modelFileName)
        let file = try SafeTensors.read(from: modelFile)
        let base = run.configuration
        for claimed in [ModelConfiguration(vocabularySize: base.vocabularySize, embeddingSize: 1 << 40, hiddenSize: 1 << 40, layers: 2),
                        ModelConfiguration(vocabularySize: base.vocabularySize, embeddingSize: base.embeddingSize,
                                           hiddenSize: base.hiddenSize, layers: 1_000_000_000)] {
            var forged = file
            forged.metadata["configuration"] = String(decoding: try JSONEncoder().encode(claimed), as: UTF8.self)
            let bad = directory.appendingPathComponent("huge.safetensors")
            try forged.write(to: bad)
            expectFailure(mentioning: ["'\(bad.path)'"]) { _ = try Checkpoint.loadModel(bad, backend: CPUBackend()) }
        }
    }

    // MARK: Files the run did not write

    @Test func filesTheRunDidNotWriteSurvive() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let mine = ["training-state-notes.safetensors": Data("my notes".utf8),
                    "training-state-12.safetensors.bak": Data("a backup".utf8),
                    "notes.txt": Data("keep".utf8)]
        for (name, data) in mine { try data.write(to: directory.appendingPathComponent(name)) }
        try trainer(options(steps: 4, checkpointEvery: 1, epochs: 2), in: directory).run()
        for (name, data) in mine {
            #expect(try Data(contentsOf: directory.appendingPathComponent(name)) == data, "\(name) was changed or removed")
        }
        let stateFiles = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { Checkpoint.step(ofStateFile: $0) != nil }
        #expect(stateFiles == [Checkpoint.stateFileName(step: 8)])
    }

    @Test func anotherRunsStateFileIsNeverReplaced() throws {
        let (other, otherName) = try checkpoint(options(steps: 3))   // a state file of step 3
        defer { try? FileManager.default.removeItem(at: other) }
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let foreign = directory.appendingPathComponent(otherName)
        try FileManager.default.copyItem(at: other.appendingPathComponent(otherName), to: foreign)
        let before = try files(directory)
        expectFailure(mentioning: [foreign.path, "not written by this run"]) { try trainer(options(steps: 3), in: directory).run() }
        #expect(try files(directory).filter { $0.key != CheckpointLock.fileName } == before)
    }

    @Test func leftoversOfAKilledRunAreRemovedAtTheNextStart() throws {
        let base = options(steps: 3, checkpointEvery: 1, epochs: 2)
        let (directory, stateName) = try checkpoint(base)
        defer { try? FileManager.default.removeItem(at: directory) }
        let dead = try deadPID()
        // A kill mid-write leaves a temporary; a kill between the state and the model, a state file
        // of this run that no model names.
        let temporaries = [".model.safetensors.\(dead).tmp", ".\(stateName).\(dead).tmp"]
        for name in temporaries { try Data(count: 4096).write(to: directory.appendingPathComponent(name)) }
        let alive = ".notes.txt.1.tmp"   // pid 1 is alive: not a leftover
        try Data("x".utf8).write(to: directory.appendingPathComponent(alive))
        let state = try Data(contentsOf: directory.appendingPathComponent(stateName))
        let orphan = Checkpoint.stateFileName(step: 5)
        try state.write(to: directory.appendingPathComponent(orphan))

        let resumed = try trainer(base, in: directory)
        try resumed.resume(from: directory.appendingPathComponent(Checkpoint.modelFileName))
        resumed.stopRequested = true   // start, one step, stop
        try resumed.run()
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
        for name in temporaries + [orphan] { #expect(!names.contains(name), "\(name) is still there") }
        #expect(names.contains(alive))
    }

    // MARK: One writer per folder

    @Test func aSecondTrainerOnALockedFolderIsRefusedNamingThePID() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let lock = try Checkpoint.prepareDirectory(directory)
        expectFailure(mentioning: ["is in use by process \(getpid())", directory.path]) {
            try trainer(options(steps: 2), in: directory).run()
        }
        expectFailure(mentioning: ["process \(getpid())"]) { _ = try CheckpointLock.acquire(directory) }
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent(Checkpoint.modelFileName).path))
        lock.release()
        try trainer(options(steps: 2), in: directory).run()
    }

    @Test func aLockLeftByADeadProcessDoesNotBlock() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let lockFile = directory.appendingPathComponent(CheckpointLock.fileName)
        try Data("\(try deadPID())\n".utf8).write(to: lockFile)
        let lock = try CheckpointLock.acquire(directory)
        #expect(try String(contentsOf: lockFile, encoding: .utf8) == "\(getpid())\n")
        lock.release()
        try Data("not a pid at all, and longer than the real one\n".utf8).write(to: lockFile)
        try trainer(options(steps: 2), in: directory).run()
    }
}

/// The one writer, on targets that are not regular files.
@Suite("AtomicFile on special targets")
struct AtomicFileTargetTests {
    @Test func aSymbolicLinkStaysALinkAndItsTargetIsReplaced() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let real = directory.appendingPathComponent("real.json"), link = directory.appendingPathComponent("link.json")
        try Data("old".utf8).write(to: real)
        #expect(chmod(real.path, 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "real.json")
        try AtomicFile.write(Data("new".utf8), to: link)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "real.json")
        #expect(try Data(contentsOf: real) == Data("new".utf8))
        var info = stat()
        #expect(stat(real.path, &info) == 0 && info.st_mode & 0o777 == 0o600, "the permissions were not kept")
        // A dangling link: its target is created.
        let dangling = directory.appendingPathComponent("dangling.json")
        try FileManager.default.createSymbolicLink(atPath: dangling.path, withDestinationPath: "made.json")
        try AtomicFile.write(Data("made".utf8), to: dangling)
        #expect(try Data(contentsOf: directory.appendingPathComponent("made.json")) == Data("made".utf8))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dangling.path) == "made.json")
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full"), "no /dev/full"))
    func aDeviceIsWrittenThroughAndItsErrorsNamed() throws {
        let error = #expect(throws: CLTrainError.self) { try AtomicFile.write(Data("report".utf8), to: URL(fileURLWithPath: "/dev/full")) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("cannot write '/dev/full': No space left on device"))
        try AtomicFile.write(Data("report".utf8), to: URL(fileURLWithPath: "/dev/null"))
        for device in ["/dev/full", "/dev/null"] {
            var info = stat()
            #expect(lstat(device, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR, "\(device) is no longer a device")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "/dev").filter { $0.hasSuffix(".\(getpid()).tmp") }
        #expect(leftovers.isEmpty)
    }

    @Test func aFIFOIsWrittenThroughAndStaysAFIFO() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let fifo = directory.appendingPathComponent("pipe")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let payload = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0) })   // more than a pipe holds
        let received = LockedData()
        let reader = Thread {
            if let handle = FileHandle(forReadingAtPath: fifo.path) {
                received.set(handle.readDataToEndOfFile())
            }
        }
        reader.start()
        try AtomicFile.write(payload, to: fifo)
        for _ in 0..<500 where received.get() == nil { usleep(10_000) }
        #expect(received.get() == payload)
        var info = stat()
        #expect(lstat(fifo.path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["pipe"])
    }

    @Test func aFailedWriteLeavesNoTemporaryAndStaleOnesAreRemoved() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let target = directory.appendingPathComponent("report.json")
        let stale = directory.appendingPathComponent(".report.json.\(try deadPID()).tmp")
        let live = directory.appendingPathComponent(".report.json.1.tmp")
        let other = directory.appendingPathComponent(".other.json.999999999.tmp")
        for url in [stale, live, other] { try Data("partial".utf8).write(to: url) }
        try AtomicFile.write(Data("{}".utf8), to: target)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: directory.path))
        #expect(names == ["report.json", live.lastPathComponent, other.lastPathComponent])
        AtomicFile.removeStaleTemporaries(in: directory)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory.path)) == ["report.json", live.lastPathComponent])
    }
}

/// Data handed from a reader thread to the test.
private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?
    func set(_ value: Data) { lock.lock(); data = value; lock.unlock() }
    func get() -> Data? { lock.lock(); defer { lock.unlock() }; return data }
}

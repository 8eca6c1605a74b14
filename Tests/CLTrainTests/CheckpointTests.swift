import Foundation
import Testing
@testable import CLTrain
#if canImport(Glibc)
import Glibc
#endif

/// Every file in `directory`, name → bytes: compared before and after a failed load.
private func snapshot(_ directory: URL) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) {
        files[name] = try Data(contentsOf: directory.appendingPathComponent(name))
    }
    return files
}

/// Expects `body` to throw a `CLTrainError` whose message contains every one of `parts`.
private func expectError(mentioning parts: [String], sourceLocation: SourceLocation = #_sourceLocation,
                         _ body: () throws -> Void) {
    let error = #expect(throws: CLTrainError.self, sourceLocation: sourceLocation) { try body() }
    guard let error else { return }
    for part in parts {
        #expect("\(error)".contains(part), "'\(error)' does not mention '\(part)'", sourceLocation: sourceLocation)
    }
}

/// A safetensors file made by hand: `header` as JSON (padded to 8 bytes), then `payload` zero bytes.
private func handMade(header: [String: Any], payload: Int) throws -> Data {
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
    var data = Data((0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) })
    data.append(json)
    data.append(Data(count: payload))
    return data
}

/// The bytes 0..<8 of `bytes` as a little-endian UInt64, decoded here rather than by the library.
private func littleEndianLength(_ bytes: [UInt8]) -> UInt64 {
    (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
}

/// A small model (E ≠ H, three layers, so every name and shape is told apart) trained on
/// `SmallRun`'s text, checkpointing into its own temporary folder.
private struct CheckpointedRun {
    let run: SmallRun
    let configuration: ModelConfiguration
    let directory = temporaryDirectory()
    var modelFile: URL { directory.appendingPathComponent(Checkpoint.modelFileName) }

    init(embedding: Int = 10, hidden: Int = 16, layers: Int = 3) throws {
        run = try SmallRun(batch: 4, bptt: 8, hidden: hidden, layers: layers)
        configuration = ModelConfiguration(vocabularySize: run.vocabulary.count, embeddingSize: embedding,
                                           hiddenSize: hidden, layers: layers)
    }

    func options(_ optimizer: OptimizerKind = .adam, epochs: Int = 1, steps: Int = 3, checkpointEvery: Int? = nil) -> TrainingOptions {
        var options = run.options(epochs: epochs, optimizer: optimizer, steps: steps, checkpointEvery: checkpointEvery)
        options.maxValidationSteps = 2
        return options
    }

    /// A trainer checkpointing into `directory` (nil: not checkpointing), of `configuration` unless told.
    func trainer(_ options: TrainingOptions, configuration: ModelConfiguration? = nil, checkpointing: Bool = true) throws -> Trainer {
        let model = try LanguageModel(configuration: configuration ?? self.configuration, backend: CPUBackend(), seed: options.seed)
        return try Trainer(model: model, vocabulary: run.vocabulary, options: options, train: run.train,
                           validation: run.validation, checkpointDirectory: checkpointing ? directory : nil)
    }

    /// Trains with `options` and returns the trainer; its checkpoint is in `directory`.
    @discardableResult
    func train(_ options: TrainingOptions) throws -> Trainer {
        let trainer = try trainer(options)
        try trainer.run()
        return trainer
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

@Suite("Checkpoints")
struct CheckpointTests {
    // MARK: The safetensors format

    /// Values that must survive bit for bit, NaN, infinities, −0 and a subnormal included.
    let entries = [
        SafeTensors.Entry(name: "weight", shape: [2, 3], values: [1, -2, 0.5, .pi, -0.0, .leastNonzeroMagnitude]),
        SafeTensors.Entry(name: "bias", shape: [3], values: [.infinity, -.infinity, .greatestFiniteMagnitude]),
        SafeTensors.Entry(name: "scalar", shape: [], values: [.nan]),
        SafeTensors.Entry(name: "a.b_c0", shape: [1, 1, 1], values: [42]),
        SafeTensors.Entry(name: "empty", shape: [2, 0], values: []),
    ]
    let metadata = ["format": "test", "text": "ſ é \"quoted\" {\"json\": [1]}\n"]

    @Test func safeTensorsRoundTrip() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("t.safetensors")
        try SafeTensors(entries: entries, metadata: metadata).write(to: url)
        let decoded = try SafeTensors.read(from: url)
        #expect(decoded.metadata == metadata)
        #expect(decoded.entries.map(\.name) == entries.map(\.name))
        #expect(decoded.entries.map(\.shape) == entries.map(\.shape))
        #expect(decoded.entries.map { $0.values.map(\.bitPattern) } == entries.map { $0.values.map(\.bitPattern) })
        #expect(decoded["bias"]?.values == [.infinity, -.infinity, .greatestFiniteMagnitude])
        #expect(decoded["missing"] == nil)
        #expect(try SafeTensors.readMetadata(from: url) == metadata)

        // A slice of a larger buffer (its indices do not start at 0) decodes the same.
        let file = try Data(contentsOf: url)
        let slice = (Data([1, 2, 3]) + file).dropFirst(3)
        #expect(try SafeTensors.decode(slice).entries.map { $0.values.map(\.bitPattern) } == entries.map { $0.values.map(\.bitPattern) })
    }

    @Test func safeTensorsByteLayoutFollowsTheFormat() throws {
        let bytes = [UInt8](try SafeTensors(entries: entries, metadata: metadata).encode())
        let headerLength = littleEndianLength(bytes)
        let dataStart = 8 + Int(headerLength)
        #expect(dataStart % 8 == 0, "data starts at \(dataStart)")
        #expect(dataStart <= bytes.count)
        let object = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart]))
        let header = try #require(object as? [String: Any])
        #expect(Set(header.keys) == Set(entries.map(\.name) + ["__metadata__"]))
        #expect(header["__metadata__"] as? [String: String] == metadata)

        var end = 0   // the tensors' bytes follow each other from 0, in the order written
        for entry in entries {
            let info = try #require(header[entry.name] as? [String: Any], "\(entry.name)")
            #expect(info["dtype"] as? String == "F32")
            #expect(info["shape"] as? [Int] == entry.shape)
            let offsets = try #require(info["data_offsets"] as? [Int], "\(entry.name)")
            #expect(offsets == [end, end + 4 * entry.values.count], "\(entry.name)")
            let raw = entry.values.indices.map { i -> UInt32 in
                let p = dataStart + offsets[0] + 4 * i
                return UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24
            }
            #expect(raw == entry.values.map(\.bitPattern), "\(entry.name): little-endian float32")
            end = offsets[1]
        }
        #expect(bytes.count == dataStart + end)
    }

    // MARK: Model checkpoints

    @Test func modelCheckpointRoundTripsWithPyTorchNamesAndShapes() throws {
        let saved = try CheckpointedRun()
        defer { saved.remove() }
        let options = saved.options()
        let trainer = try saved.train(options)

        let (model, description) = try Checkpoint.loadModel(saved.modelFile, backend: CPUBackend())
        #expect(description.configuration == saved.configuration)
        #expect(model.configuration == saved.configuration)
        #expect(description.vocabulary == saved.run.vocabulary)
        #expect(description.options == options)
        #expect(description.stateFile == "training-state-000000003.safetensors")
        for (p, q) in zip(trainer.model.parameters, model.parameters) {
            #expect(p.name == q.name)
            #expect(try trainer.model.backend.download(p.value) == model.backend.download(q.value), "\(p.name)")
        }

        // nn.Embedding(V, E) + nn.LSTM(E, H, L) + nn.Linear(H, V), state_dict order.
        let (v, e, h) = (saved.configuration.vocabularySize, saved.configuration.embeddingSize, saved.configuration.hiddenSize)
        var expected: [(name: String, shape: [Int])] = [("embedding.weight", [v, e])]
        for l in 0..<saved.configuration.layers {
            expected += [("rnn.weight_ih_l\(l)", [4 * h, l == 0 ? e : h]), ("rnn.weight_hh_l\(l)", [4 * h, h]),
                         ("rnn.bias_ih_l\(l)", [4 * h]), ("rnn.bias_hh_l\(l)", [4 * h])]
        }
        expected += [("decoder.weight", [v, h]), ("decoder.bias", [v])]
        let file = try SafeTensors.read(from: saved.modelFile)
        #expect(file.entries.map(\.name) == expected.map(\.name))
        #expect(file.entries.map(\.shape) == expected.map(\.shape))
        #expect(model.parameters.map(\.name) == expected.map(\.name))
        #expect(file.metadata["format"] == "cltrain-lm-1")
    }

    @Test func onlyTheTrainingStateTheModelNamesRemains() throws {
        let saved = try CheckpointedRun()
        defer { saved.remove() }
        // Checkpoints after steps 2, 4, 5 (end of epoch), 6, 8 and 10 (end).
        let trainer = try saved.trainer(saved.options(epochs: 2, steps: 5, checkpointEvery: 2))
        var steps: [Int] = []
        trainer.onCheckpoint = { url in
            do {
                let names = try FileManager.default.contentsOfDirectory(atPath: saved.directory.path).sorted()
                let state = String(format: "training-state-%09d.safetensors", trainer.position.step)
                #expect(names == [CheckpointLock.fileName, Checkpoint.modelFileName, state], "after step \(trainer.position.step)")
                #expect(try SafeTensors.read(from: url).metadata["state_file"] == state)
                steps.append(trainer.position.step)
            } catch {
                Issue.record(error)
            }
        }
        try trainer.run()
        #expect(steps == [2, 4, 5, 6, 8, 10])
    }

    // MARK: Corrupt files

    @Test func corruptFilesAreClearErrorsNamingTheFile() throws {
        let saved = try CheckpointedRun(layers: 1)
        defer { saved.remove() }
        try saved.train(saved.options(steps: 1))
        let valid = try Data(contentsOf: saved.modelFile)
        let headerLength = Int(littleEndianLength([UInt8](valid)))
        var random = SplitMix64(seed: 11)
        let garbage = Data((0..<4096).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        let tensor = { (dtype: String, shape: [Int], offsets: [Int]) -> [String: Any] in
            ["dtype": dtype, "shape": shape, "data_offsets": offsets]
        }
        var longerHeader = valid
        longerHeader.replaceSubrange(0..<8, with: (0..<8).map { UInt8(truncatingIfNeeded: (valid.count + 1) >> (8 * $0)) })

        let cases: [(what: String, bytes: Data, problem: String)] = [
            ("empty", Data(), "file too short (0 bytes)"),
            ("cut inside the length", valid.prefix(5), "file too short (5 bytes)"),
            ("cut inside the header", valid.prefix(8 + headerLength / 2), "exceeds the file"),
            ("cut inside the data", valid.prefix(valid.count - 6), "does not fit its shape or the file"),
            ("garbage", garbage, "exceeds the file"),
            ("garbage after a plausible length", Data([64, 0, 0, 0, 0, 0, 0, 0]) + garbage.prefix(64), "header is not a JSON object"),
            ("header length larger than the file", longerHeader, "header length \(valid.count + 1) exceeds the file"),
            ("data_offsets shorter than the shape",
             try handMade(header: ["w": tensor("F32", [2, 2], [0, 12])], payload: 16), "tensor 'w' (shape 2×2, 16 bytes) has byte range 0..<12"),
            ("data_offsets past the end",
             try handMade(header: ["w": tensor("F32", [2, 2], [8, 24])], payload: 16), "tensor 'w' (shape 2×2, 16 bytes) has byte range 8..<24"),
            ("a negative dimension",
             try handMade(header: ["w": tensor("F32", [-2, -2], [0, 16])], payload: 16), "tensor 'w'"),
            ("a shape whose size overflows",
             try handMade(header: ["w": tensor("F32", [1 << 62, 4], [0, 16])], payload: 16), "tensor 'w'"),
            ("data_offsets near Int.max",
             try handMade(header: ["w": tensor("F32", [2], [Int.max - 8, Int.max])], payload: 16), "tensor 'w'"),
            ("dtype F16", try handMade(header: ["w": tensor("F16", [2], [0, 4])], payload: 4), "tensor 'w' has dtype F16; only F32"),
            ("dtype F64", try handMade(header: ["w": tensor("F64", [2], [0, 16])], payload: 16), "has dtype F64"),
            ("an entry without offsets", try handMade(header: ["w": ["dtype": "F32", "shape": [2]]], payload: 8), "malformed"),
            ("metadata that is not strings", try handMade(header: ["__metadata__": ["n": 1]], payload: 0), "__metadata__"),
            ("a header that is a JSON array", Data([8, 0, 0, 0, 0, 0, 0, 0]) + Data("[1,2]   ".utf8), "not a JSON object"),
        ]
        let bad = saved.directory.appendingPathComponent("bad")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: false)
        for (what, bytes, problem) in cases {
            let file = bad.appendingPathComponent(Checkpoint.modelFileName)
            try bytes.write(to: file)
            expectError(mentioning: ["checkpoint '\(file.path)'", problem]) {
                _ = try Checkpoint.loadModel(file, backend: CPUBackend())
            }
            expectError(mentioning: ["checkpoint '\(file.path)'", problem]) {   // the header-only reader too
                _ = try Checkpoint.describe(modelFile: file)
            }
            #expect(try Data(contentsOf: file) == bytes, "\(what): the file changed")
        }
        #expect(try Data(contentsOf: saved.modelFile) == valid)
    }

    // MARK: Checkpoints that do not fit

    @Test func resumingAnotherModelShapeNamesBothShapes() throws {
        let saved = try CheckpointedRun()
        defer { saved.remove() }
        let options = saved.options()
        try saved.train(options)
        let before = try snapshot(saved.directory)

        var wider = saved.configuration, shallower = saved.configuration
        wider.hiddenSize += 8
        shallower.layers -= 1
        for other in [wider, shallower] {
            let trainer = try saved.trainer(options, configuration: other)
            expectError(mentioning: ["'\(saved.modelFile.path)'", "(\(saved.configuration))", "(\(other))"]) {
                try trainer.resume(from: saved.modelFile)
            }
            #expect(try snapshot(saved.directory) == before)
        }
    }

    @Test func resumingWithOtherTrainingOptionsNamesTheDifferences() throws {
        let saved = try CheckpointedRun(layers: 2)
        defer { saved.remove() }
        let options = saved.options(.sgd)
        try saved.train(options)
        let before = try snapshot(saved.directory)
        var other = options
        other.clipNorm = 1
        other.seed = 9
        other.epochs += 1   // more epochs are allowed; the rest must match
        let trainer = try saved.trainer(other)
        expectError(mentioning: ["--clip 5.0, not 1.0", "--seed 7, not 9"]) { try trainer.resume(from: saved.modelFile) }
        #expect(try snapshot(saved.directory) == before)
    }

    @Test(arguments: [(OptimizerKind.adam, OptimizerKind.sgd), (.sgd, .adam)])
    func resumingWithAnotherOptimizerIsAnError(saved optimizer: OptimizerKind, resumed other: OptimizerKind) throws {
        let saved = try CheckpointedRun(layers: 2)
        defer { saved.remove() }
        try saved.train(saved.options(optimizer))
        let before = try snapshot(saved.directory)
        let trainer = try saved.trainer(saved.options(other))
        expectError(mentioning: ["--optimizer \(optimizer.rawValue), not \(other.rawValue)"]) {
            try trainer.resume(from: saved.modelFile)
        }
        #expect(try snapshot(saved.directory) == before)
    }

    @Test func missingOrMisshapenTensorsAreNamed() throws {
        let saved = try CheckpointedRun(layers: 2)
        defer { saved.remove() }
        let options = saved.options()
        try saved.train(options)
        let original = try SafeTensors.read(from: saved.modelFile)
        let stateURL = saved.directory.appendingPathComponent(try #require(original.metadata["state_file"]))
        let state = try SafeTensors.read(from: stateURL)

        /// Writes the changed files, then expects loading and resuming to fail naming `parts`,
        /// leaving every file as it was; finally puts the original files back.
        func expectRefused(model: SafeTensors? = nil, state changedState: SafeTensors? = nil, removeState: Bool = false,
                           loadFails: Bool = true, mentioning parts: [String],
                           sourceLocation: SourceLocation = #_sourceLocation) throws {
            try (model ?? original).write(to: saved.modelFile)
            try (changedState ?? state).write(to: stateURL)
            if removeState { try FileManager.default.removeItem(at: stateURL) }
            let before = try snapshot(saved.directory)
            if loadFails {
                expectError(mentioning: parts, sourceLocation: sourceLocation) {
                    _ = try Checkpoint.loadModel(saved.modelFile, backend: CPUBackend())
                }
            }
            let trainer = try saved.trainer(options)
            expectError(mentioning: parts, sourceLocation: sourceLocation) { try trainer.resume(from: saved.modelFile) }
            #expect(try snapshot(saved.directory) == before, sourceLocation: sourceLocation)
        }

        var withoutBias = original
        withoutBias.entries.removeAll { $0.name == "rnn.bias_hh_l1" }
        try expectRefused(model: withoutBias, mentioning: ["'\(saved.modelFile.path)'", "has no tensor 'rnn.bias_hh_l1'"])

        // The same number of values in a transposed shape.
        var transposed = original
        let index = try #require(transposed.entries.firstIndex { $0.name == "decoder.weight" })
        let decoder = transposed.entries[index]
        transposed.entries[index] = .init(name: decoder.name, shape: decoder.shape.reversed(), values: decoder.values)
        let (v, h) = (saved.configuration.vocabularySize, saved.configuration.hiddenSize)
        try expectRefused(model: transposed, mentioning: ["'decoder.weight' is \(h)×\(v)", "needs \(v)×\(h)"])

        var notOurs = original
        notOurs.metadata = [:]
        try expectRefused(model: notOurs, mentioning: ["'\(saved.modelFile.path)'", "is not a cltrain-lm-1 checkpoint"])

        // The training state: a moment missing, or its file gone.
        var withoutMoment = state
        withoutMoment.entries.removeAll { $0.name == "adam.v.decoder.weight" }
        try expectRefused(state: withoutMoment, loadFails: false, mentioning: ["adam.v.decoder.weight"])
        try expectRefused(removeState: true, loadFails: false, mentioning: ["'\(stateURL.path)'"])

        var withoutState = original
        withoutState.metadata["state_file"] = nil
        try expectRefused(model: withoutState, loadFails: false, mentioning: ["has no training state to resume from"])
    }

    // MARK: Atomic writes

    @Test func atomicWriteReplacesTheWholeFileAndLeavesNoTemporaries() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("nested/file.bin")
        try AtomicFile.write(Data(repeating: 0x61, count: 1000), to: url)   // creates the folders
        #expect(try Data(contentsOf: url) == Data(repeating: 0x61, count: 1000))
        try AtomicFile.write(Data("short".utf8), to: url)
        #expect(try Data(contentsOf: url) == Data("short".utf8))
        try AtomicFile.write(Data(), to: url)
        #expect(try Data(contentsOf: url) == Data())
        #expect(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path) == ["file.bin"])
    }

    @Test func atomicWriteUnderAFileIsAClearError() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("checkpoint")
        try AtomicFile.write(Data("a file, not a folder".utf8), to: file)
        let target = file.appendingPathComponent("sub/model.safetensors")
        expectError(mentioning: ["'\(target.deletingLastPathComponent().path)'", "Not a directory"]) {
            try AtomicFile.write(Data("new".utf8), to: target)
        }
        #expect(try Data(contentsOf: file) == Data("a file, not a folder".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["checkpoint"])
    }

    @Test func aFailedAtomicWriteLeavesTheOldFileWhole() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        let old = Data("the last good checkpoint".utf8)
        try AtomicFile.write(old, to: url)

        // The temporary file cannot be created: a folder stands where it would go.
        let blocker = directory.appendingPathComponent(".model.safetensors.\(getpid()).tmp")
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: false)
        expectError(mentioning: ["cannot create '\(blocker.path)'"]) { try AtomicFile.write(Data("new".utf8), to: url) }
        #expect(try Data(contentsOf: url) == old)
        try FileManager.default.removeItem(at: blocker)

        // A folder is never replaced.
        let folder = directory.appendingPathComponent("folder")
        try AtomicFile.write(old, to: folder.appendingPathComponent("inside"))
        expectError(mentioning: ["cannot write '\(folder.path)': it is a directory"]) { try AtomicFile.write(Data("new".utf8), to: folder) }
        #expect(try Data(contentsOf: folder.appendingPathComponent("inside")) == old)

        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["folder", "model.safetensors"])
    }

    @Test(.enabled(if: geteuid() != 0, "root may write into a read-only folder"))
    func anAtomicWriteIntoAnUnwritableFolderFails() throws {
        let directory = temporaryDirectory()
        defer {
            _ = chmod(directory.path, 0o755)
            try? FileManager.default.removeItem(at: directory)
        }
        let url = directory.appendingPathComponent("model.safetensors")
        let old = Data("the last good checkpoint".utf8)
        try AtomicFile.write(old, to: url)
        #expect(chmod(directory.path, 0o555) == 0)
        expectError(mentioning: ["cannot create", directory.path, "Permission denied"]) {
            try AtomicFile.write(Data("new".utf8), to: url)
        }
        #expect(try Data(contentsOf: url) == old)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
    }
}

@Suite("Sampling")
struct SamplerTests {
    let run: SmallRun
    let sampler: Sampler

    init() throws {
        run = try SmallRun(batch: 2, bptt: 4, hidden: 12, layers: 2)
        sampler = try Sampler(model: LanguageModel(configuration: run.configuration, backend: CPUBackend(), seed: 5),
                              vocabulary: run.vocabulary)
    }

    @Test func temperatureZeroIsDeterministicAndStartsWithThePrompt() throws {
        let a = try sampler.generate(prompt: "the ", length: 30, temperature: 0, seed: 1)
        let b = try sampler.generate(prompt: "the ", length: 30, temperature: 0, seed: 2)
        #expect(a == b)
        #expect(a.hasPrefix("the ") && a.count > "the ".count)
        #expect(try sampler.generate(prompt: "the ", length: 0, temperature: 0, seed: 1) == "the ")
    }

    @Test func theSameSeedGivesTheSameText() throws {
        let texts = try (1...6).map { try sampler.generate(prompt: "a dog", length: 40, temperature: 1, seed: UInt64($0)) }
        #expect(try sampler.generate(prompt: "a dog", length: 40, temperature: 1, seed: 3) == texts[2])
        #expect(texts.allSatisfy { $0.hasPrefix("a dog") })
        #expect(Set(texts).count > 1, "six seeds gave one text")
        #expect(try sampler.generate(prompt: "", length: 10, temperature: 1, seed: 1).isEmpty == false)
    }

    @Test func badSettingsAreErrors() throws {
        for temperature: Float in [-0.5, .nan, .infinity] {
            expectError(mentioning: ["--temperature", "must be a finite number in [0, ∞)"]) {
                _ = try sampler.generate(prompt: "the", length: 5, temperature: temperature, seed: 1)
            }
        }
        expectError(mentioning: ["--length -1: must be in 0..."]) {
            _ = try sampler.generate(prompt: "the", length: -1, temperature: 1, seed: 1)
        }
        let small = try Vocabulary(level: .char, tokens: ["<unk>", "a"])
        expectError(mentioning: ["vocabulary of 2 tokens for a model of \(run.configuration.vocabularySize)"]) {
            _ = try Sampler(model: sampler.model, vocabulary: small)
        }
    }

    @Test func drawsFollowTheTemperedSoftmax() {
        var generator = SplitMix64(seed: 17)
        #expect(Sampler.draw(from: [0.5, 3, -1, 2], temperature: 0, using: &generator) == 1)
        #expect((0..<100).allSatisfy { _ in Sampler.draw(from: [0.5, 3, -1, 2], temperature: 1e-3, using: &generator) == 1 })
        // softmax([0, ln 3]) = (¼, ¾); at temperature 2, [0, ln 9] gives the same.
        for (logits, temperature) in [([0, Float(log(3.0))], Float(1)), ([0, Float(log(9.0))], 2)] {
            let n = 20_000
            let ones = (0..<n).filter { _ in Sampler.draw(from: logits, temperature: temperature, using: &generator) == 1 }.count
            #expect(abs(Double(ones) / Double(n) - 0.75) < 0.015, "\(ones) of \(n) at temperature \(temperature)")
        }
    }
}

import Foundation
import Testing
@testable import CLTrain
@testable import cltrain_bench

/// The validation layer (InputNumber, RealBounds, Checked) and the memory estimator, on their own.
@Suite("Input validation and memory estimates")
struct InputValidationTests {
    // MARK: InputNumber

    @Test func integersOutsideTheirRangeAreNamed() throws {
        #expect(try InputNumber.check(5, "--batch", in: 1...10) == 5)
        let error = expectInvalidNumber { try InputNumber.check(0, "--batch", in: 1...Int.max, why: "sequences") }
        #expect(error?.description == "--batch 0: must be at least 1 (sequences)")
        let bounded = expectInvalidNumber { try InputNumber.check(11, "--x", in: 1...10) }
        #expect(bounded?.description == "--x 11: must be in 1...10")
        expectInvalidNumber { try InputNumber.check(Int.min, "--x", in: 0...Int.max) }
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity, 0, -1e-300])
    func realsThatArePositiveOnlyInName(_ value: Double) {
        #expect(!RealBounds.positive.contains(value))
        expectInvalidNumber { try InputNumber.check(value, "--lr", in: .positive) }
    }

    @Test func boundsAreOpenOrClosedAsStated() throws {
        #expect(RealBounds.probabilityBelowOne.contains(0) && !RealBounds.probabilityBelowOne.contains(1))
        #expect(RealBounds.probabilityBelowOne.contains(0.999_999) && !RealBounds.probabilityBelowOne.contains(-0.0001))
        #expect(RealBounds.nonNegative.contains(0) && !RealBounds.nonNegative.contains(.nan))
        #expect(RealBounds.positive(atMost: 3600).contains(3600) && !RealBounds.positive(atMost: 3600).contains(3600.5))
        #expect(RealBounds.positive.description == "a finite number in (0, ∞)")
        #expect(RealBounds.probabilityBelowOne.description == "a finite number in [0, 1)")
        let error = expectInvalidNumber { try InputNumber.check(Float.nan, "--dropout", in: .probabilityBelowOne) }
        #expect(error?.description.hasPrefix("--dropout nan: must be a finite number in [0, 1)") == true)
    }

    // MARK: Checked

    @Test func checkedArithmeticThrowsWhereIntWouldTrap() throws {
        #expect(try Checked.product(3, 4, 5, what: "x") == 60)
        #expect(try Checked.sum(Int.max - 1, 1, what: "x") == Int.max)
        let error = #expect(throws: ArithmeticOverflow.self) { try Checked.product(Int.max, 2, what: "--batch × --bptt") }
        #expect(error?.description.contains("--batch × --bptt overflows") == true)
        #expect(throws: ArithmeticOverflow.self) { try Checked.increment(Int.max, what: "the step count") }
        #expect(throws: ArithmeticOverflow.self) { try Checked.difference(Int.min, 1, what: "x") }
        #expect(Checked.integer(1e300) == nil && Checked.integer(.nan) == nil && Checked.integer(-.infinity) == nil)
        #expect(Checked.integer(0x1p63) == nil && Checked.integer(-0x1p63) == nil)
        #expect(Checked.integer(-2.7) == -2 && Checked.integer(0x1p62) == 1 << 62)
    }

    @Test func optimizerStepCountAtIntMaxThrowsBeforeUpdating() throws {
        let parameter = try Parameter(name: "w", shape: [2], backend: CPUBackend())
        try parameter.backend.upload([1, 2], to: parameter.value)
        try parameter.backend.upload([1, 1], to: parameter.gradient)
        for kind in OptimizerKind.allCases {
            let optimizer = try makeOptimizer(kind, parameters: [parameter])
            optimizer.restoreStepCount(.max)
            #expect(throws: ArithmeticOverflow.self) { try optimizer.step([parameter], learningRate: 0.1) }
            #expect(try parameter.backend.download(parameter.value) == [1, 2], "\(kind) updated before refusing")
            #expect(optimizer.stepCount == .max)
        }
    }

    // MARK: Schedules, options, configurations

    @Test func aTinyHalvingIntervalHalvesToZeroWithoutTrapping() throws {
        let schedule = LearningRateSchedule(initial: 0.7, halvingStart: 0, halvingInterval: 1e-20)
        try schedule.validate()
        #expect(schedule.rate(atEpoch: 0.5) == 0)
        #expect(schedule.rate(atEpoch: 1e300) == 0)
        let usual = LearningRateSchedule(initial: 1, halvingStart: 5, halvingInterval: 0.5)
        #expect(usual.rate(atEpoch: 4.9) == 1 && usual.rate(atEpoch: 5) == 0.5 && usual.rate(atEpoch: 5.6) == 0.25)
    }

    @Test(arguments: [0, -1, Double.nan, .infinity])
    func halvingIntervalsThatAreRefused(_ interval: Double) {
        let error = expectInvalidNumber {
            try LearningRateSchedule(initial: 0.7, halvingStart: 1, halvingInterval: interval).validate()
        }
        #expect(error?.name == "--lr-halve-every")
    }

    @Test func trainingOptionsNameTheFlag() throws {
        func refused(_ change: (inout TrainingOptions) -> Void) -> String? {
            var options = TrainingOptions(epochs: 1, batch: 2, bptt: 3, optimizer: .sgd, schedule: LearningRateSchedule(initial: 0.7))
            change(&options)
            do { try options.validate(); return nil } catch CLTrainError.invalidNumber(let error) { return error.name } catch { return "\(error)" }
        }
        #expect(refused { _ in } == nil)
        #expect(refused { $0.batch = 0 } == "--batch")
        #expect(refused { $0.bptt = .max } == "--bptt")
        #expect(refused { $0.batch = 1 << 20; $0.bptt = 1 << 20 }?.hasPrefix("--batch × --bptt") == true)
        #expect(refused { $0.batch = Int(Int32.max); $0.bptt = Int(Int32.max) }?.hasPrefix("--batch × --bptt") == true)
        #expect(refused { $0.clipNorm = .nan } == "--clip")
        #expect(refused { $0.schedule.initial = .infinity } == "--lr")
        #expect(refused { $0.epochs = 0 } == "--epochs")
        #expect(refused { $0.maxStepsPerEpoch = -1 } == "--steps-per-epoch")
    }

    @Test func modelSizesAreNamedAndLayersBelowOneNeverTrap() throws {
        for (configuration, flag) in [
            (ModelConfiguration(vocabularySize: 1, embeddingSize: 4, hiddenSize: 4, layers: 1), "--vocab (vocabulary size)"),
            (ModelConfiguration(vocabularySize: 10, embeddingSize: 4, hiddenSize: 4, layers: -1), "--layers"),
            (ModelConfiguration(vocabularySize: 10, embeddingSize: 4, hiddenSize: Int.max, layers: 1), "--hidden"),
            (ModelConfiguration(vocabularySize: 10, embeddingSize: 0, hiddenSize: 4, layers: 1), "--embedding"),
            (ModelConfiguration(vocabularySize: 10, embeddingSize: 4, hiddenSize: 4, layers: 1, dropout: 1), "--dropout"),
        ] {
            let error = expectInvalidNumber { try LanguageModel(configuration: configuration, backend: CPUBackend()) }
            #expect(error?.name == flag)
            _ = configuration.parameterCount   // saturates, never traps
        }
        // ModelDevices.single on sizes not yet validated: an empty layout, refused by validate(for:).
        let devices = ModelDevices.single(CPUBackend(), layers: -1, vocabularySize: -5)
        #expect(devices.layers.isEmpty && devices.softmaxShards[0].rows.isEmpty)
    }

    // MARK: MemoryEstimate

    /// V 10, E 4, H 3, L 2 on windows of B 2 × T 5, by hand:
    /// weights V·E 40 + layer 0 4·3·(4+3+2) 108 + layer 1 4·3·(3+3+2) 96 + V·H 30 + V 10 = 284 floats;
    /// activations (N = T·B = 10): N·(2E + V + 3) 210 + N·H·(11L + 2(L−1)) 720 + 5·L·B·H 60 = 990.
    @Test func theEstimateOfAKnownShapeIsTheHandComputedFigure() throws {
        let configuration = ModelConfiguration(vocabularySize: 10, embeddingSize: 4, hiddenSize: 3, layers: 2)
        let sgd = MemoryEstimate.training(configuration, optimizer: .sgd, batch: 2, bptt: 5)
        #expect(sgd.parameterBytes == 284 * 4 && sgd.gradientBytes == 284 * 4 && sgd.optimizerStateBytes == 0)
        #expect(sgd.activationBytes == 990 * 4)
        #expect(sgd.totalBytes == (284 * 2 + 990) * 4)
        #expect(sgd.largestTensor.elements == 120 && sgd.largestTensor.name.contains("gates"))
        #expect(!sgd.saturated)
        let adam = MemoryEstimate.training(configuration, optimizer: .adam, batch: 2, bptt: 5)
        #expect(adam.optimizerStateBytes == 2 * 284 * 4 && adam.totalBytes == (284 * 4 + 990) * 4)
        #expect(MemoryEstimate.parameterBytes(of: configuration) == 284 * 4)
        // The formula is the model's: the same count as the parameters LanguageModel allocates.
        let model = try LanguageModel(configuration: configuration, backend: CPUBackend())
        #expect(model.parameters.map(\.value.count).reduce(0, +) == 284)
        #expect(configuration.parameterCount == 284)
        // Dropout adds a mask per upper layer (N·H·(L−1) = 30 floats) when training only.
        let dropout = ModelConfiguration(vocabularySize: 10, embeddingSize: 4, hiddenSize: 3, layers: 2, dropout: 0.5)
        #expect(MemoryEstimate.training(dropout, optimizer: .sgd, batch: 2, bptt: 5).activationBytes == (990 + 30) * 4)
        #expect(MemoryEstimate.evaluation(dropout, batch: 2, bptt: 5).activationBytes == 990 * 4)
    }

    @Test func thePartsOfAPlacementAddUpToTheWholeModel() throws {
        let configuration = ModelConfiguration(vocabularySize: 10, embeddingSize: 4, hiddenSize: 3, layers: 3)
        let placement = try Placement(layers: [.cpu, .cpu, .openCL(0)],
                                      softmaxShards: [SoftmaxShard(device: .cpu, rows: 0..<4), SoftmaxShard(device: .openCL(0), rows: 4..<10)],
                                      reasons: [])
        let first = ModelPart(of: placement, on: .cpu), second = ModelPart(of: placement, on: .openCL(0))
        #expect(first == ModelPart(firstLayer: true, upperLayers: 1, softmaxRows: 4))
        #expect(second == ModelPart(firstLayer: false, upperLayers: 1, softmaxRows: 6))
        let whole = MemoryEstimate.training(configuration, optimizer: .adam, batch: 2, bptt: 5)
        let parts = [first, second].map { MemoryEstimate.training(configuration, optimizer: .adam, batch: 2, bptt: 5, part: $0) }
        #expect(parts.map(\.parameterBytes).reduce(0, +) == whole.parameterBytes)
        #expect(parts.map(\.optimizerStateBytes).reduce(0, +) == whole.optimizerStateBytes)
        // Each shard keeps its own losses (T·B floats): the parts hold that much more between them.
        #expect(parts.map(\.activationBytes).reduce(0, +) == whole.activationBytes + 10 * 4)
        #expect(ModelPart(of: placement, on: .openCL(7)) == ModelPart(firstLayer: false, upperLayers: 0, softmaxRows: 0))
    }

    @Test func aShapeBeyond64BitsSaturatesAndIsRefused() throws {
        let huge = ModelConfiguration(vocabularySize: 65, embeddingSize: 1_000_000_000, hiddenSize: 1_000_000_000, layers: 2)
        let estimate = MemoryEstimate.training(huge, optimizer: .adam, batch: 64, bptt: 35)
        #expect(estimate.saturated && estimate.totalBytes == .max)
        let memory = DeviceMemory(name: "an 80 GB device", totalBytes: 80_000_000_000, maxAllocationBytes: 20_000_000_000,
                                  maxTensorElements: Int(Int32.max))
        let error = #expect(throws: InsufficientMemory.self) { try memory.require(estimate, for: "--hidden 1000000000") }
        #expect(error?.description.contains("--hidden 1000000000 needs more than") == true)
        #expect(error?.description.contains("an 80 GB device has 80.0 GB") == true)
    }

    @Test func theDeviceLimitsAreEachChecked() throws {
        let memory = DeviceMemory(name: "gpu", totalBytes: 80_000_000_000, maxAllocationBytes: 1_000_000_000,
                                  maxTensorElements: Int(Int32.max))
        // 48 TB in all: far over the device.
        let big = ModelConfiguration(vocabularySize: 10_000, embeddingSize: 1_000_000, hiddenSize: 1_000_000, layers: 3)
        let total = #expect(throws: InsufficientMemory.self) {
            try memory.require(.training(big, optimizer: .sgd, batch: 1, bptt: 1), for: "this")
        }
        #expect(total?.description.contains("TB") == true && total?.description.contains("gpu has 80.0 GB") == true)
        // Fits in total, but the decoder (V×H = 400M floats, 1.6 GB) is larger than one buffer may be.
        let wide = ModelConfiguration(vocabularySize: 400_000, embeddingSize: 16, hiddenSize: 1000, layers: 1)
        let buffer = #expect(throws: InsufficientMemory.self) {
            try memory.require(.evaluation(wide, batch: 1, bptt: 1), for: "this")
        }
        #expect(buffer?.description.contains("decoder weight") == true && buffer?.description.contains("MAX_MEM_ALLOC") == true)
        // Fits in bytes, but has more elements than a 32-bit kernel index reaches.
        let roomy = DeviceMemory(name: "gpu", totalBytes: .max, maxAllocationBytes: .max, maxTensorElements: Int(Int32.max))
        let elements = #expect(throws: InsufficientMemory.self) {
            try roomy.require(.evaluation(ModelConfiguration(vocabularySize: 3_000_000, embeddingSize: 1000, hiddenSize: 8, layers: 1),
                                          batch: 1, bptt: 1), for: "this")
        }
        #expect(elements?.description.contains("32-bit") == true)
        try roomy.require(.training(ModelConfiguration(vocabularySize: 100, embeddingSize: 8, hiddenSize: 8, layers: 2),
                                    optimizer: .adam, batch: 4, bptt: 4), for: "a small model")
    }

    @Test func bytesAreWrittenInDecimalUnits() {
        #expect(formatBytes(512) == "512 bytes")
        #expect(formatBytes(80_000_000_000) == "80.0 GB")
        #expect(formatBytes(48_000_000_000_000) == "48.0 TB")
        #expect(formatBytes(Int.max) == "9.2 EB")
    }

    // MARK: Data

    @Test func aTooSmallSplitsMessageCannotOverflow() throws {
        let error = #expect(throws: CLTrainError.self) { try TokenStream(tokens: [1, 2, 3], batch: .max, steps: .max) }
        #expect(error.map { "\($0)" }?.contains("--batch \(Int.max)") == true)
        expectInvalidNumber { try TokenStream(tokens: [1, 2, 3], batch: 0, steps: 2) }
    }

    @Test func syntheticDataRefusesCountsBeyondMemoryOrInt() throws {
        #expect(throws: ArithmeticOverflow.self) {
            try SyntheticData.tokens(vocabularySize: 10, batch: 64, bptt: 35, windows: .max, seed: 1)
        }
        #expect(throws: InsufficientMemory.self) {
            try SyntheticData.tokens(vocabularySize: 10, batch: 64, bptt: 35, windows: 1 << 40, seed: 1)
        }
        expectInvalidNumber { try SyntheticData.vocabulary(size: 1 << 62) }
        expectInvalidNumber { try SyntheticData.vocabulary(size: 1) }
    }

    @Test func aFIFOOrADeviceIsNotData() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        try #require(mkfifo(scratch.path("fifo"), 0o600) == 0)
        for (path, what) in [(scratch.path("fifo"), "FIFO"), ("/dev/zero", "character device")] {
            let error = #expect(throws: CLTrainError.self) { try Corpus.load(path) }
            #expect(error.map { "\($0)" }?.contains("not a regular file or folder: it is a") == true)
            #expect(error.map { "\($0)" }?.contains(what) == true)
        }
        // A FIFO inside a data folder is named too, rather than blocking the read.
        try "some text\n".write(toFile: scratch.path("a.txt"), atomically: true, encoding: .utf8)
        #expect(throws: CLTrainError.self) { try Corpus.load(scratch.url.path) }
    }

    @Test func sizesParsedFromTextCannotOverflowLater() throws {
        #expect(GemmTuner.Shape(parsing: "99999999999x99999999999x2") == nil)
        #expect(GemmTuner.Shape(parsing: "65536x65536x1") == nil, "4 Gi elements: beyond a 32-bit index")
        #expect(GemmTuner.Shape(parsing: "128x4000x2000") != nil)
        #expect(try Vocabulary.build(from: ["a b"], level: .word, maxSize: Int.min).count == 1)
    }

    @Test func tokensPerSecondIsAMovingAverageThatNeverGoesInfinite() {
        var rate = MovingRate(window: 3)
        #expect(rate.rate == nil)
        rate.record(units: 100, seconds: 0)        // a step the clock did not see
        #expect(rate.rate == nil, "no time yet: no rate, not infinity")
        rate.record(units: 100, seconds: 1)
        #expect(rate.rate == 200)                 // 200 tokens over 1 s
        rate.record(units: 100, seconds: 3)
        #expect(rate.rate == 75)                  // 300 over 4 s, not the last step's 33
        rate.record(units: 100, seconds: 1)       // the instant step leaves the window
        #expect(rate.rate == 60)                  // 300 over 5 s
        rate.record(units: .infinity, seconds: .nan)
        #expect(rate.rate == 50)                  // taken as 0 units in 0 s: 200 over 4 s
    }

    // MARK: Sampling

    @Test func streamedPiecesJoinToTheSample() throws {
        let run = try SmallRun(batch: 2, bptt: 4, hidden: 8, layers: 1)
        let words = try Vocabulary.build(from: ["the cat sat on the mat\na dog ran\n"], level: .word)
        for vocabulary in [run.vocabulary, words] {
            let configuration = ModelConfiguration(vocabularySize: vocabulary.count, embeddingSize: 8, hiddenSize: 8, layers: 1)
            let sampler = try Sampler(model: LanguageModel(configuration: configuration, backend: CPUBackend(), seed: 3),
                                      vocabulary: vocabulary)
            for prompt in ["", "the cat"] {
                var pieces: [String] = []
                try sampler.generate(prompt: prompt, length: 30, temperature: 1, seed: 5) { pieces.append($0) }
                #expect(pieces.count == 31, "the prompt, then one piece per token as it is drawn")
                #expect(pieces.joined() == (try sampler.generate(prompt: prompt, length: 30, temperature: 1, seed: 5)))
                if vocabulary.level == .char {
                    #expect(pieces.joined().unicodeScalars.count == prompt.unicodeScalars.count + 30)
                }
            }
            expectInvalidNumber { try sampler.generate(prompt: "", length: 1, temperature: -1, seed: 1) }
            expectInvalidNumber { try sampler.generate(prompt: "", length: Sampler.maxLength + 1, temperature: 1, seed: 1) }
        }
    }
}

/// The `InvalidNumber` that `body` throws (as `CLTrainError.invalidNumber`); an issue if it throws
/// anything else or nothing.
@discardableResult
func expectInvalidNumber<T>(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> T) -> InvalidNumber? {
    do {
        _ = try body()
    } catch CLTrainError.invalidNumber(let number) {
        return number
    } catch {
        Issue.record("expected an invalid number, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
    Issue.record("expected an invalid number, but nothing was thrown", sourceLocation: sourceLocation)
    return nil
}

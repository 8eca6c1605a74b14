import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate text from a trained checkpoint.",
        discussion: "The text is written as it is generated. Numbers may be negative where a value is expected (--temperature -1 is read as a value, and refused).")

    @OptionGroup var logging: LoggingOptions

    @Option(help: "A checkpoint folder or its model.safetensors.") var checkpoint: String
    @Option(parsing: .unconditional, help: "Text to start from.") var prompt: String = ""
    @Option(parsing: .unconditional, help: "Tokens to generate (at most \(Sampler.maxLength)).") var length: Int = 300
    @Option(parsing: .unconditional, help: "Softmax temperature, ≥ 0 (0: always the most likely token).") var temperature: Float = 0.8
    @Option(parsing: .unconditional, help: "Seed for sampling.") var seed: UInt64 = 1
    @Option(help: "Device: auto (as for train), cpu, or an index from `cltrain devices`.", transform: DeviceRequest.parse)
    var device: DeviceRequest = .auto

    func validate() throws {
        try flagCheck {
            try InputNumber.check(length, "--length", in: 0...Sampler.maxLength, why: Sampler.maxLengthReason)
            try InputNumber.check(temperature, "--temperature", in: .nonNegative,
                                  why: "softmax(logits / temperature); 0 picks the most likely token")
        }
    }

    func run() throws {
        let backend = try DeviceChoice.backend(for: device)
        let (model, description) = try Checkpoint.loadModel(Checkpoint.modelFile(checkpoint), backend: backend)
        // The prompt is one window of as many steps as it has tokens.
        let promptTokens = max(description.vocabulary.encode(prompt).count, 1)
        try DeviceMemory.of(backend).require(.evaluation(model.configuration, batch: 1, bptt: promptTokens),
                                             for: "--prompt of \(promptTokens) tokens")
        try Sampler(model: model, vocabulary: description.vocabulary)
            .generate(prompt: prompt, length: length, temperature: temperature, seed: seed, emit: writeStandardOutput)
        print()
    }
}

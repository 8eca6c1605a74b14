import ArgumentParser
import CLTrain
import Foundation

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate text from a trained checkpoint.")

    @Option(help: "A checkpoint folder or its model.safetensors.") var checkpoint: String
    @Option(help: "Text to start from.") var prompt: String = ""
    @Option(help: "Tokens to generate.") var length: Int = 300
    @Option(help: "Softmax temperature (0: always the most likely token).") var temperature: Float = 0.8
    @Option(help: "Seed for sampling.") var seed: UInt64 = 1
    @Option(help: "Device: auto (as for train), cpu, or an index from `cltrain devices`.", transform: DeviceRequest.parse)
    var device: DeviceRequest = .auto

    func run() throws {
        let (model, description) = try Checkpoint.loadModel(Checkpoint.modelFile(checkpoint), backend: DeviceChoice.backend(for: device))
        let text = try Sampler(model: model, vocabulary: description.vocabulary)
            .generate(prompt: prompt, length: length, temperature: temperature, seed: seed)
        print(text)
    }
}

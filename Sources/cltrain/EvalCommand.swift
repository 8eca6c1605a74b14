import ArgumentParser
import CLTrain
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Report a checkpoint's perplexity on the test split of a corpus.")

    @Option(help: "A checkpoint folder or its model.safetensors.") var checkpoint: String
    @Option(help: "shakespeare, a text file or folder (the test split is scored), or synthetic.") var data: String = "shakespeare"
    @Option(help: "Sequences per batch (default: the checkpoint's).") var batch: Int?
    @Option(help: "BPTT steps (default: the checkpoint's).") var bptt: Int?
    @Option(help: "Device: auto (as for train), cpu, or an index from `cltrain devices`.", transform: DeviceRequest.parse)
    var device: DeviceRequest = .auto

    func run() throws {
        let (model, description) = try Checkpoint.loadModel(Checkpoint.modelFile(checkpoint), backend: DeviceChoice.backend(for: device))
        let batch = batch ?? description.options?.batch ?? 32
        let bptt = bptt ?? description.options?.bptt ?? 35
        let dataset = try Dataset.load(data, level: description.vocabulary.level, vocabularySize: description.vocabulary.count,
                                       vocabulary: description.vocabulary, batch: batch, bptt: bptt,
                                       syntheticWindows: 100, seed: description.options?.seed ?? 1)
        let loss = try model.meanLoss(over: dataset.test)
        print("test loss \(format(loss)), perplexity \(format(exp(loss))) (\(dataset.test.windowCount * batch * bptt) tokens of \(dataset.source))")
    }
}

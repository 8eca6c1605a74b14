import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Report a checkpoint's loss and perplexity on a split of a corpus.",
        discussion: """
            Scores the test split by default; --split all scores every document of --data unsplit (a held-out
            file whole, however short). Only the split scored needs to hold one window of --batch × --bptt.
            Loss is the mean cross-entropy per token in nats, perplexity its exp, both at full precision.
            A translation checkpoint also gets corpus BLEU (sacreBLEU's default, as `cltrain bleu`) of its beam-search
            translations of the split's sources (--beam, --length-penalty, --max-length-ratio as for `translate`)
            against their references.
            A translation checkpoint (from `train --task translate`) is scored per target token (non-padding, <eos> included)
            on --data de-en (the checkpoint's direction unless --direction), --source/--target (their fixed split), or
            --test-source/--test-target (the files whole); --data defaults to the checkpoint's de-en data.
            """)

    @OptionGroup var logging: LoggingOptions

    @Option(help: "A checkpoint folder or its model.safetensors.") var checkpoint: String
    @Option(name: .customLong("data"), help: "shakespeare (the default), ptb, a text file or folder, or synthetic; for a translation checkpoint de-en.")
    var dataFlag: String?
    var data: String { dataFlag ?? "shakespeare" }
    @OptionGroup var parallel: ParallelDataOptions
    @Option(help: "test, validation, train, or all (every document, unsplit).") var split: DataSplit = .test
    @Option(parsing: .unconditional, help: "Sequences per batch (default: the checkpoint's).") var batch: Int?
    @Option(parsing: .unconditional, help: "BPTT steps (default: the checkpoint's).") var bptt: Int?
    @Option(help: "Device: auto (as for train), cpu, or an index from `cltrain devices`.", transform: DeviceRequest.parse)
    var device: DeviceRequest = .auto
    @OptionGroup var decoding: DecodingOptions
    @Option(help: "Also write the result as a JSON object to FILE (loss, perplexity, tokens, split, data; for a translation checkpoint bleu and beam).") var json: String?

    func validate() throws {
        let why = "BLAS and the OpenCL kernels take 32-bit dimensions"
        try flagCheck {
            if let batch { try InputNumber.check(batch, "--batch", in: 1...Int(Int32.max), why: "sequences per batch; " + why) }
            if let bptt { try InputNumber.check(bptt, "--bptt", in: 1...Int(Int32.max), why: "steps per window; " + why) }
        }
    }

    func run() throws {
        let modelFile = Checkpoint.modelFile(checkpoint)
        // A file whose header cannot be read: the language model's reader names the problem, or
        // (translation flags given) the translation reader's.
        let translation = try parallel.given.isEmpty ? (try? TranslationCheckpoint.isTranslation(modelFile)) == true
                                                     : TranslationCheckpoint.isTranslation(modelFile)
        if translation { return try evaluateTranslation(modelFile) }
        if !(parallel.given + decoding.given).isEmpty {
            throw ValidationError("\((parallel.given + decoding.given).joined(separator: ", ")): translation flags, but '\(checkpoint)' is not a translation checkpoint")
        }
        let backend = try DeviceChoice.backend(for: device)
        let (model, description) = try Checkpoint.loadModel(modelFile, backend: backend)
        // As `sample` does: a vocabulary that does not match the model would score the wrong rows.
        guard description.vocabulary.count == model.configuration.vocabularySize else {
            throw CLTrainError.invalidArgument("checkpoint '\(checkpoint)': its vocabulary has \(description.vocabulary.count) tokens "
                                               + "but the model \(model.configuration.vocabularySize) rows")
        }
        let batch = batch ?? description.options?.batch ?? 32
        let bptt = bptt ?? description.options?.bptt ?? 35
        try flagCheck {   // the checkpoint's own figures, when the flags were not given
            try InputNumber.check(batch, "--batch", in: 1...Int(Int32.max))
            try InputNumber.check(bptt, "--bptt", in: 1...Int(Int32.max))
        }
        try DeviceMemory.of(backend).require(.evaluation(model.configuration, batch: batch, bptt: bptt),
                                             for: "--batch \(batch) --bptt \(bptt) with the model (\(model.configuration)): scoring")
        let (source, stream) = try Dataset.stream(data, split: split, vocabulary: description.vocabulary, batch: batch, bptt: bptt,
                                                  syntheticWindows: 100, seed: description.options?.seed ?? 1)
        let loss = try SequentialExecutor(model: model).meanLoss(over: stream)
        let perplexity = exp(loss)
        let tokens = stream.windowCount * batch * bptt
        print("\(split.rawValue) loss \(loss), perplexity \(perplexity) (\(tokens) tokens of \(source), \(split.noun))")
        if let json { try EvalResult(loss: loss, perplexity: perplexity, tokens: tokens, split: split, data: source).write(to: json) }
    }
}

extension DataSplit: ExpressibleByArgument {}

/// `eval --json FILE`: one object, numbers at full precision. A loss or perplexity that is not
/// finite (JSON has no inf or NaN) is written as null, with its value in words under "nonFinite".
struct EvalResult {
    let loss: Double, perplexity: Double, tokens: Int, split: DataSplit, data: String
    /// A translation checkpoint's: corpus BLEU of its beam-search translations, and the beam.
    var bleu: (score: BLEUScore, beam: Int)? = nil

    func write(to path: String) throws {
        var object: [String: Any] = ["tokens": tokens, "split": split.rawValue, "data": data]
        if let bleu {
            object["bleu"] = bleu.score.score
            object["beam"] = bleu.beam
        }
        var nonFinite: [String: String] = [:]
        for (key, value) in [("loss", loss), ("perplexity", perplexity)] {
            if value.isFinite { object[key] = value } else { object[key] = NSNull(); nonFinite[key] = "\(value)" }
        }
        if !nonFinite.isEmpty { object["nonFinite"] = nonFinite }
        let encoded = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        // The one safe writer: a device node or a link given as FILE stays what it was.
        try AtomicFile.write(encoded + Data("\n".utf8), to: URL(fileURLWithPath: path))
    }
}

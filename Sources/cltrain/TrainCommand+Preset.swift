import ArgumentParser
import CLTrain

/// `--preset NAME`: a language model's recipe (`TrainingPreset`) or a translation model's (`TranslationPreset`).
enum PresetChoice: ExpressibleByArgument, Equatable {
    case languageModel(TrainingPreset.Name)
    case translation(TranslationPreset.Name)

    init?(argument: String) {
        if let name = TrainingPreset.Name(rawValue: argument) {
            self = .languageModel(name)
        } else if let name = TranslationPreset.Name(rawValue: argument) {
            self = .translation(name)
        } else {
            return nil
        }
    }

    static var allValueStrings: [String] {
        TrainingPreset.Name.allCases.map(\.rawValue) + TranslationPreset.Name.allCases.map(\.rawValue)
    }

    var name: String {
        switch self {
        case .languageModel(let name): name.rawValue
        case .translation(let name): name.rawValue
        }
    }
}

/// `--task`: what `cltrain train` trains.
enum TrainingTask: String, ExpressibleByArgument {
    case languageModel = "language-model", translate
}
extension LossReduction: ExpressibleByArgument {}

/// Each hyper-parameter as the run uses it: the flag if given, else the preset's value, else the
/// flag's default. A value equal to the library's default is passed as nil, so a run that states
/// the default writes (and resumes) the checkpoint of one that does not.
extension TrainCommand {
    var presetValues: TrainingPreset? {
        guard case .languageModel(let name) = preset else { return nil }
        return TrainingPreset(name)
    }
    /// The task: --task, else the preset's (a translation preset trains a translation model).
    var resolvedTask: TrainingTask {
        if let task { return task }
        if case .translation = preset { return .translate }
        return .languageModel
    }

    var layers: Int { layersFlag ?? presetValues?.layers ?? 2 }
    var hidden: Int { hiddenFlag ?? presetValues?.hidden ?? 512 }
    var embedding: Int? { embeddingFlag }
    var dropout: Float { dropoutFlag ?? presetValues?.dropout ?? 0 }
    var dropoutSites: [DropoutSite]? { (dropoutAtFlag ?? presetValues?.dropoutSites).flatMap { $0 == [.between] ? nil : $0 } }
    var bptt: Int { bpttFlag ?? presetValues?.bptt ?? 35 }
    var batch: Int { batchFlag ?? presetValues?.batch ?? 64 }
    /// Whole epochs (`validate` refuses a decimal for the language model).
    var epochs: Int { epochsFlag.flatMap { Int(exactly: $0) } ?? presetValues?.epochs ?? 1 }
    var optimizer: OptimizerKind { optimizerFlag ?? presetValues?.optimizer ?? .sgd }
    var lr: Float? { lrFlag ?? presetValues?.learningRate }
    var lrHalveAfter: Double? { lrHalveAfterFlag ?? presetValues?.decayStart }
    var lrHalveEvery: Double { lrHalveEveryFlag ?? presetValues?.decayInterval ?? 0.5 }
    var clip: Float { clipFlag ?? presetValues?.clip ?? 5 }
    var lrDecay: Double? { (lrDecayFlag ?? presetValues?.decayFactor).flatMap { $0 == 2 ? nil : $0 } }
    var initScale: Float? { (initScaleFlag ?? presetValues?.initScale).flatMap { $0 == 0.08 ? nil : $0 } }
    var lossReduction: LossReduction? {
        (lossReductionFlag ?? presetValues?.lossReduction).flatMap { $0 == .tokenMean ? nil : $0 }
    }
}

extension TrainingOptions {
    /// One log line of what decides the updates: "batch 20, bptt 20, sgd lr 1.0 ÷2 every 1 epochs after 4, …".
    var summary: String {
        let decay = schedule.halvingStart.map { " ÷\(schedule.decayFactor ?? 2) every \(schedule.halvingInterval) epochs after \($0)" } ?? ""
        return "batch \(batch), bptt \(bptt), \(optimizer.rawValue) lr \(schedule.initial)\(decay), clip \(clipNorm), "
            + "loss \((lossReduction ?? .tokenMean).rawValue), init ±\(initScale ?? 0.08), epochs \(epochs)"
    }
}

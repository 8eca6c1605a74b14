import ArgumentParser
import CLTrain

extension TrainingPreset.Name: ExpressibleByArgument {}
extension LossReduction: ExpressibleByArgument {}

/// Each hyper-parameter as the run uses it: the flag if given, else the preset's value, else the
/// flag's default. A value equal to the library's default is passed as nil, so a run that states
/// the default writes (and resumes) the checkpoint of one that does not.
extension TrainCommand {
    var presetValues: TrainingPreset? { preset.map(TrainingPreset.init) }

    var layers: Int { layersFlag ?? presetValues?.layers ?? 2 }
    var hidden: Int { hiddenFlag ?? presetValues?.hidden ?? 512 }
    var embedding: Int? { embeddingFlag }
    var dropout: Float { dropoutFlag ?? presetValues?.dropout ?? 0 }
    var dropoutSites: [DropoutSite]? { (dropoutAtFlag ?? presetValues?.dropoutSites).flatMap { $0 == [.between] ? nil : $0 } }
    var bptt: Int { bpttFlag ?? presetValues?.bptt ?? 35 }
    var batch: Int { batchFlag ?? presetValues?.batch ?? 64 }
    var epochs: Int { epochsFlag ?? presetValues?.epochs ?? 1 }
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

import ArgumentParser
import CLTrain
import Foundation

/// What `cltrain plan` predicts for.
enum PlanTask: String, ExpressibleByArgument { case lm, translate }

/// `cltrain plan --task translate`'s own flags: the encoder–decoder's vocabularies and the padded
/// steps of one bucket (the paper's WMT'14 means by default: `Presets.translation2014`).
struct PlanTranslationOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Source vocabulary size (--task translate).") var sourceVocab: Int?
    @Option(parsing: .unconditional, help: "Target vocabulary size: the output layer's and softmax's rows (--task translate).")
    var targetVocab: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Source steps of a batch, its sentences padded to them (--task translate; default \(Presets.translation2014.sourceSteps), WMT'14 English's mean).", valueName: "S"))
    var sourceSteps: Int?
    @Option(parsing: .unconditional, help: ArgumentHelp("Target steps of a batch, <eos> included (--task translate; default \(Presets.translation2014.targetSteps), WMT'14 French's mean + 1).", valueName: "T"))
    var targetSteps: Int?

    /// For `--task lm`: none of these flags, which it would ignore.
    func refuseWithoutTranslation() throws {
        let given = [(sourceVocab != nil, "--source-vocab"), (targetVocab != nil, "--target-vocab"),
                     (sourceSteps != nil, "--source-steps"), (targetSteps != nil, "--target-steps")].filter(\.0).map(\.1)
        if !given.isEmpty { throw ValidationError("\(given.joined(separator: ", ")) describe a translation model: add --task translate") }
    }
}

extension PlanCommand {
    /// The encoder–decoder's batch from the flags (nil vocabularies were refused by `validateTranslation`).
    var translationWorkload: TranslationWorkload {
        TranslationWorkload(batch: batch, hidden: hidden, embedding: embedding ?? hidden,
                            sourceVocabulary: translation.sourceVocab ?? 0, targetVocabulary: translation.targetVocab ?? 0,
                            sourceSteps: translation.sourceSteps ?? Presets.translation2014.sourceSteps,
                            targetSteps: translation.targetSteps ?? Presets.translation2014.targetSteps)
    }

    func validateTranslation() throws {
        if vocab != nil || bpttOption != nil {
            throw ValidationError("--vocab and --bptt are for --task lm: a translation takes --source-vocab, --target-vocab, --source-steps, --target-steps")
        }
        guard translation.sourceVocab != nil, translation.targetVocab != nil else {
            throw ValidationError("--task translate needs --source-vocab and --target-vocab")
        }
        guard let layerDevices, placement != .auto else {
            throw ValidationError("--task translate plans the layout you give: --layer-devices (layer k of the encoder and of the decoder on "
                                  + "the k-th device) and optionally --softmax-devices; --placement auto balances a language model only")
        }
        if nodes != nil { throw ValidationError("--nodes (data parallelism) is planned for --task lm only") }
        let workload = translationWorkload
        try flagCheck { try workload.validate() }
        guard layerDevices.devices.count == layers else {
            throw ValidationError("\(layers) layers per stack but \(layerDevices.devices.count) layer devices: --layer-devices lists one device per layer (both stacks' layer k on the k-th)")
        }
        try validateSchedulesAndDevices(window: max(workload.sourceSteps, workload.targetSteps), windowFlag: "--source-steps or --target-steps")
    }

    func translationRequest() throws -> TranslationPlanRequest {
        guard let layerDevices else { throw ValidationError("--task translate needs --layer-devices") }
        let base = try request(shape: translationWorkload.decoderShape)
        return TranslationPlanRequest(workload: translationWorkload, layers: layers, devices: base.devices,
                                      layerDevices: layerDevices.devices, softmaxDevices: softmaxDevices?.devices, link: base.link,
                                      schedules: base.schedules, recalibrate: recalibrate, calibrationBudget: calibrationBudget)
    }

    func runTranslation() throws {
        let plan = try Planner.planTranslation(translationRequest())
        let (workload, model, chosen) = (plan.request.workload, plan.model, plan.placement)
        print("model      encoder–decoder: source V \(workload.sourceVocabulary), target V \(workload.targetVocabulary), "
              + "E \(workload.embedding), H \(workload.hidden), L \(layers) + \(layers); batch \(workload.batch), "
              + "S \(workload.sourceSteps) + T \(workload.targetSteps) steps (\(workload.wordsPerStep) source + target words per step)")
        for line in plan.pool.notes { print(line) }
        print("host link  \(model.decoder.link) (every transfer between devices is a download and an upload over it)")

        print("\nplacement")
        let (s, t) = (Double(workload.sourceSteps), Double(workload.targetSteps))
        var parts = TextTable(headers: ["part", "device", "name", "rows", "work per step (ms)"])
        for (l, stage) in model.decoder.layers.enumerated() {
            let part = l == 0 ? "encoder + decoder layer 0, embeddings" : "encoder + decoder layer \(l)"
            parts.append([part, "\(chosen.layers[l])", plan.name(of: chosen.layers[l]), "-",
                          milliseconds(s * model.encoder[l].work + t * stage.work)])
        }
        for (index, stage) in model.decoder.shards.enumerated() {
            let shard = chosen.softmaxShards[index]
            parts.append(["softmax shard \(index)", "\(shard.device)", plan.name(of: shard.device),
                          "\(shard.rows.lowerBound)..<\(shard.rows.upperBound)", milliseconds(t * stage.work)])
        }
        print(parts.rendered())

        printPerDevice(plan.predictions[1], devices: chosen.devices, name: plan.name(of:),
                       activationBytes: workload.decoderShape.activationBytes)
        printPredictions(plan.predictions, baseline: plan.baseline, words: Double(workload.wordsPerStep))
        let paper = Presets.translationWordsPerSecond2014
        print("Sutskever et al. 2014: \(String(format: "%.0f", paper.eightDevices)) words/s on 8 GPUs against about "
              + "\(String(format: "%.0f", paper.oneDevice)) on one, \(String(format: "%.1f", paper.eightDevices / paper.oneDevice))×. "
              + (runValidation ? "" : "--validate measures this schedule on timing devices."))
        printHostDeviceNote(plan.hostDevices)

        print("\nreasons")
        for reason in chosen.reasons { print("- \(reason)") }
        try finish(plan.predictions, devices: chosen.devices, name: plan.name(of:), executors: "the translation executors") {
            try PlanValidation.validate(plan, targetSequentialSeconds: validateStepMs / 1e3, measuredSteps: validateSteps,
                                        tracing: trace != nil)
        }
    }
}

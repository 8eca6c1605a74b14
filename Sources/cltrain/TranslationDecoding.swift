import CLTrain
import Foundation

/// Translation checkpoints as the beam search sees them, for `translate` and `eval`.
enum TranslationDecoding {
    /// `model` as a `StepwiseTranslator`.
    static func translator(_ model: TranslationModel) throws -> AnyStepwiseTranslator {
        AnyStepwiseTranslator(ModelTranslator(model: model))
    }

    /// The models of `checkpoints` (folders or their model.safetensors) on `backend`, one
    /// translator: the model itself for one, their `EnsembleTranslator` for more. All must share
    /// both vocabularies (a source is encoded once, and a token id must mean one word to all).
    static func load(_ checkpoints: [String], backend: Backend)
        throws -> (translator: AnyStepwiseTranslator, source: TranslationVocabulary, target: TranslationVocabulary) {
        var models: [TranslationModel] = []
        var vocabularies: (source: TranslationVocabulary, target: TranslationVocabulary, path: String)?
        for path in checkpoints {
            let modelFile = Checkpoint.modelFile(path)
            let (model, description) = try loadModel(modelFile, path: path, backend: backend)
            if let first = vocabularies {
                for (side, mine, theirs) in [("source", description.sourceVocabulary, first.source),
                                             ("target", description.targetVocabulary, first.target)] where mine != theirs {
                    throw CLTrainError.invalidArgument(
                        "--ensemble: checkpoint '\(path)' has another \(side) vocabulary (\(mine.count) tokens) than '\(first.path)' (\(theirs.count)); "
                            + "an ensemble's models must be trained on the same data with the same vocabulary caps")
                }
            } else {
                vocabularies = (description.sourceVocabulary, description.targetVocabulary, path)
            }
            models.append(model)
        }
        // Every checkpoint is read and checked before any is made a translator.
        let members = try models.map(translator)
        guard let vocabularies, let first = members.first else { throw CLTrainError.invalidArgument("no checkpoint to translate with") }
        let translator = members.count == 1 ? first : AnyStepwiseTranslator(try EnsembleTranslator(members))
        return (translator, vocabularies.source, vocabularies.target)
    }

    /// A translation checkpoint's model; a language model's is refused by name, with what to use instead.
    static func loadModel(_ modelFile: URL, path: String, backend: Backend) throws -> (model: TranslationModel, description: TranslationCheckpoint.Description) {
        if (try? TranslationCheckpoint.isTranslation(modelFile)) == false, (try? Checkpoint.describe(modelFile: modelFile)) != nil {
            throw CLTrainError.invalidArgument(
                "checkpoint '\(path)' holds a language model, not a translation model (`cltrain sample` generates from it; `train --task translate` makes a translation model)")
        }
        return try TranslationCheckpoint.load(from: modelFile, backend: backend)
    }
}

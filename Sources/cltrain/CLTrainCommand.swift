import ArgumentParser

@main
struct CLTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cltrain",
        abstract: "A training backend for deep LSTM models on OpenCL devices, with an OpenBLAS CPU backend as the reference.",
        version: "0.1.0",
        subcommands: [DevicesCommand.self, VerifyCommand.self, TrainCommand.self, SampleCommand.self, EvalCommand.self, PlanCommand.self,
                      MPICheckCommand.self]
    )

    func validate() throws { try validateDeviceEnvironment() }
}

import ArgumentParser
import CLTrain

@main
struct CLTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cltrain",
        abstract: "A training backend for deep LSTM models on OpenCL devices, with an OpenBLAS CPU backend as the reference.",
        version: "0.1.0",
        subcommands: [DevicesCommand.self, VerifyCommand.self, TrainCommand.self, SampleCommand.self, EvalCommand.self, PlanCommand.self,
                      PlotCommand.self, BLEUCommand.self, TranslateCommand.self, MPICheckCommand.self]
    )

    /// Logging is bootstrapped before anything is parsed (the registry that CLTRAIN_DEVICES
    /// validation makes logs); `--log-level` then sets its level.
    static func main() {
        CommandLineLogging.bootstrap()
        main(nil)
    }

    func validate() throws { try validateDeviceEnvironment() }
}

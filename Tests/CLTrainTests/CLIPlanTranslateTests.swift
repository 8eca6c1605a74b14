import Foundation
import Testing
@testable import CLTrain

@Suite("cltrain plan --task translate")
struct CLIPlanTranslateTests {
    /// The paper's layout on 8 simulated devices with PyTorch's H100 costs: touches no device.
    static let paper = ["plan", "--task", "translate", "--source-vocab", "160000", "--target-vocab", "80000", "--layers", "4",
                        "--hidden", "1000", "--embedding", "1000", "--batch", "128", "--simulate-devices", "8", "--costs", "h100",
                        "--layer-devices", "0,1,2,3", "--softmax-devices", "4,5,6,7"]

    @Test func predictsThePapersLayoutAndWritesItsTrace() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let trace = scratch.path("plan.json")
        let result = try CLI.run(Self.paper + ["--steps-per-run", "5", "--trace", trace])
        #expect(result.status == 0, "\(result)")
        for text in ["S 25 + T 30 steps (7040 source + target words per step)", "one device (0, sequential)",
                     "wavefront (2014), K = 1", "wavefront, K = 5", "bubble", "6300 words/s on 8 GPUs"] {
            #expect(result.standardOutput.contains(text), "missing '\(text)' in \(result.standardOutput)")
        }
        let events = try String(contentsOfFile: trace, encoding: .utf8)
        #expect(events.contains("decoder layer 3 forward, steps 0..<1") && events.contains("encoder layer 0 backward"))
    }

    /// `--validate` runs the translation executors on timing devices beside each prediction, and
    /// `--trace` writes each schedule predicted and measured, the same tasks by the same names.
    @Test func validateMeasuresEachScheduleOnTimingDevicesAndTracesBoth() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let path = scratch.path("validate.json")
        let result = try CLI.run(["plan", "--task", "translate", "--source-vocab", "200", "--target-vocab", "300", "--layers", "2",
                                  "--hidden", "64", "--batch", "8", "--source-steps", "4", "--target-steps", "5",
                                  "--simulate-devices", "4", "--costs", "h100", "--layer-devices", "0,1", "--softmax-devices", "2,3",
                                  "--micro-batches", "2", "--validate", "--validate-step-ms", "20", "--validate-steps", "1",
                                  "--trace", path])
        #expect(result.status == 0 && !result.crashed, "\(result)")
        for text in ["validation: the translation executors on 4 timing devices", "predicted (ms)", "measured (ms)",
                     "wavefront (2014), K = 1", "source V 200, target V 300, S 4, T 5"] {
            #expect(result.standardOutput.contains(text), "missing '\(text)' in \(result.standardOutput)")
        }
        let trace = try TraceTests.ParsedTrace(URL(fileURLWithPath: path))
        let processes = Set(trace.processes.values)
        for schedule in ["sequential (this placement)", "wavefront (2014), K = 1", "micro-batched, M = 2"] {
            #expect(processes.contains("predicted: \(schedule), device timing:2"), "\(processes)")
            #expect(processes.contains("measured: \(schedule), host"), "\(processes)")
        }
        // The measured steps' tasks (the runtime's names), not only the predicted ones.
        let names = Set(trace.events.filter { trace.processes[($0["pid"] as? Int) ?? -1]?.hasPrefix("measured:") == true }
                                    .compactMap { $0["name"] as? String })
        for task in ["encoder layer 1 forward, micro-batch 1, steps 3..<4", "decoder layer 0 backward, micro-batch 0, steps 0..<1",
                     "encoder layer 1 final state → decoder layer 1, micro-batch 1", "softmax shard 1 backward, micro-batch 1, steps 4..<5"] {
            #expect(names.contains(task), "'\(task)' missing from the trace")
        }
    }

    static let refused: [BadInput] = [
        BadInput(paper + ["--source-steps", "0"], mentions: ["--source-steps"]),
        BadInput(paper + ["--target-steps", "0"], mentions: ["--target-steps"]),
        BadInput(Array(paper.prefix(while: { $0 != "--layer-devices" })) + ["--layer-devices", "0,1,2,3,4"],
                 mentions: ["4 layers per stack but 5 layer devices"]),
        BadInput(paper + ["--vocab", "100"], mentions: ["--vocab", "--task lm"]),
        BadInput(["plan", "--vocab", "100", "--target-steps", "30"], mentions: ["--target-steps", "--task translate"]),
        BadInput(["plan", "--task", "translate", "--target-vocab", "100", "--layer-devices", "0,1"], mentions: ["--source-vocab"]),
    ]

    @Test("bad translation plans are refused as usage errors", arguments: refused)
    func refusesBadInput(_ input: BadInput) throws {
        let result = try CLI.run(input.arguments)
        expectCleanFailure(result, mentioning: input.mentions)
        #expect(result.status == 64, "not refused as a usage error: \(result)")
    }
}

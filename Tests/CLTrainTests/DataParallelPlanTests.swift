import Foundation
import Testing
@testable import CLTrain

/// The data-parallel planner's arithmetic: ring-allreduce traffic and the overlap model.
struct DataParallelPlanTests {
    let configuration = ModelConfiguration(vocabularySize: 10_000, embeddingSize: 650, hiddenSize: 650, layers: 2)

    @Test("the gradient is every parameter in float32, in the executor's buckets")
    func gradientBytes() {
        let plan = DataParallelPlan(nodes: 2, bandwidth: 1e9, latency: 0, configuration: configuration)
        #expect(plan.gradientBytes == 4 * Double(configuration.parameterCount))
        #expect(DataParallelPlan.parameterCounts(configuration).reduce(0, +) == configuration.parameterCount)
        // Decoder bias, decoder weight, layer 1 with layer 0's biases, layer 0's weights, the embedding.
        #expect(plan.bucketBytes.count == 5)
        #expect(plan.bucketBytes.last == Double(4 * 10_000 * 650))
    }

    @Test("a ring sends 2(N−1)/N of the bytes per node, plus a latency per ring step")
    func ring() {
        let plan = DataParallelPlan(nodes: 4, bandwidth: 1e9, latency: 1e-5, configuration: configuration)
        #expect(abs(plan.allreduceSeconds(1e9) - (1.5 + 6e-5)) < 1e-12)
        #expect(abs(plan.bytesSentPerStep - 1.5 * plan.gradientBytes) < 1)
        #expect(DataParallelPlan(nodes: 1, bandwidth: 1e9, latency: 1, configuration: configuration).allreduceSeconds(1e9) == 0)
    }

    @Test("overlap hides all but the last bucket behind the backward, never more than the allreduce")
    func overlap() {
        let plan = DataParallelPlan(nodes: 2, bandwidth: 1e9, latency: 0, configuration: configuration)
        let total = plan.bucketBytes.map(plan.allreduceSeconds).reduce(0, +)
        let last = plan.allreduceSeconds(plan.bucketBytes.last ?? 0)
        let slow = plan.predict(computeSeconds: 0.003)   // the allreduce dominates
        #expect(abs(slow.withoutOverlap - (0.003 + total)) < 1e-12)
        #expect(abs(slow.withOverlap - (0.001 + total)) < 1e-12)
        let fast = plan.predict(computeSeconds: 30)      // the backward hides all but the last bucket
        #expect(abs(fast.withOverlap - (30 + last)) < 1e-9)
        #expect(fast.withOverlap <= fast.withoutOverlap && slow.withOverlap <= slow.withoutOverlap)
    }

    @Test("cltrain plan --nodes prints the table; --node-link without --nodes is refused")
    func command() throws {
        let result = try CLI.run(["plan", "--simulate-devices", "1", "--costs", "h100", "--layers", "4", "--hidden", "1000",
                                  "--vocab", "80000", "--batch", "128", "--bptt", "50", "--nodes", "4", "--node-link", "25"], timeout: 120)
        #expect(result.status == 0, "\(result)")
        #expect(result.standardOutput.contains("data parallelism: n nodes at the global batch 128"), "\(result)")
        #expect(result.standardOutput.contains("768.45 MB per step"), "\(result)")
        let lines = result.standardOutput.components(separatedBy: "\n").filter { $0.range(of: #"^\s+[124]\s+(128|64|32)\s"#, options: .regularExpression) != nil }
        #expect(lines.count == 3, "\(result)")
        let refused = try CLI.run(["plan", "--vocab", "100", "--node-link", "25"], timeout: 60)
        expectCleanFailure(refused, mentioning: ["--node-link", "--nodes"])
    }
}

import Foundation
import Testing
@testable import CLTrain

@Suite("Placement")
struct PlacementTests {
    static let eight = (0..<8).map { DeviceSelection.openCL($0) }

    /// Costs where a layer costs `layer` per step (layer 0: `first`) and a vocabulary row `row`.
    static func costs(layer: Double, first: Double? = nil, row: Double) -> DeviceCosts {
        let f = first ?? layer
        return DeviceCosts(layerForward: layer / 3, layerBackward: layer / 3, layerWeightGradient: layer / 3,
                           firstLayerForward: f / 3, firstLayerBackward: f / 3, firstLayerWeightGradient: f / 3,
                           decoderForwardPerRow: row / 2, decoderBackwardPerRow: row / 4, decoderWeightGradientPerRow: row / 4,
                           hostBandwidth: 1e9)
    }

    // MARK: Manual

    @Test func manualPlacementFollowsTheLists() throws {
        let placement = try Placement.manual(layerDevices: Array(Self.eight[0..<4]), softmaxDevices: Array(Self.eight[4..<8]),
                                             layers: 4, vocabularySize: 80_000, availableDevices: Self.eight)
        #expect(placement.layers == Array(Self.eight[0..<4]))
        #expect(placement.softmaxShards.map(\.device) == Array(Self.eight[4..<8]))
        #expect(placement.softmaxShards.map(\.rows) == [0..<20_000, 20_000..<40_000, 40_000..<60_000, 60_000..<80_000])
        #expect(placement.reasons.count == 8)
        #expect(placement.reasons[0].contains("embedding"))
        #expect(placement.devices == Self.eight)
        #expect(placement.vocabularySize == 80_000)
    }

    @Test func withoutSoftmaxDevicesTheLastLayersDeviceTakesTheWholeVocabulary() throws {
        let placement = try Placement.manual(layerDevices: [.openCL(1), .openCL(0)], softmaxDevices: nil, layers: 2,
                                             vocabularySize: 10, availableDevices: Self.eight)
        #expect(placement.softmaxShards == [SoftmaxShard(device: .openCL(0), rows: 0..<10)])
        #expect(placement.reasons.last?.contains("last layer's device") == true)
    }

    @Test func aDeviceMayRunSeveralLayersAndShards() throws {
        let placement = try Placement.manual(layerDevices: [.openCL(0), .openCL(0), .openCL(1)],
                                             softmaxDevices: [.openCL(1), .openCL(1)], layers: 3, vocabularySize: 5,
                                             availableDevices: Self.eight)
        #expect(placement.devices == [.openCL(0), .openCL(1)])
        #expect(placement.softmaxShards.map(\.rows) == [0..<3, 3..<5])
        #expect(placement.reasons[1].contains("shares the device with layer 0"))
    }

    @Test func theLayerListMustNameOneDevicePerLayer() {
        let error = #expect(throws: CLTrainError.self) {
            try Placement.manual(layerDevices: [.openCL(0), .openCL(1), .openCL(2)], softmaxDevices: nil, layers: 4,
                                 vocabularySize: 100, availableDevices: Self.eight)
        }
        #expect(error?.description.contains("4 layers but 3 layer devices") == true)
    }

    @Test func moreShardsThanVocabularyRowsAreRefused() {
        let error = #expect(throws: CLTrainError.self) {
            try Placement.manual(layerDevices: [.openCL(0)], softmaxDevices: Array(Self.eight[0..<5]), layers: 1,
                                 vocabularySize: 4, availableDevices: Self.eight)
        }
        #expect(error?.description.contains("5 softmax shards but the vocabulary has only 4 rows") == true)
    }

    @Test func unknownDevicesAreRefused() throws {
        // Among simulated devices.
        let simulated = #expect(throws: CLTrainError.self) {
            try Placement.manual(layerDevices: [.openCL(0)], softmaxDevices: [.openCL(8)], layers: 1, vocabularySize: 10,
                                 availableDevices: Self.eight)
        }
        guard case .deviceNotFound(let detail) = simulated else {
            Issue.record("expected deviceNotFound, got \(String(describing: simulated))")
            return
        }
        #expect(detail.contains("device 8"))
        // Among real devices: the registry's own error, which lists what exists.
        let registry = DeviceRegistry.shared
        let missing = DeviceSelection.openCL(registry.openCLDevices.count)
        let real = #expect(throws: CLTrainError.self) {
            try Placement.manual(layerDevices: [.cpu, missing], softmaxDevices: nil, layers: 2, vocabularySize: 10,
                                 registry: registry)
        }
        guard case .deviceNotFound(let message) = real else {
            Issue.record("expected deviceNotFound, got \(String(describing: real))")
            return
        }
        #expect(message.contains("OpenCL device \(registry.openCLDevices.count) does not exist"))
        #expect(try Placement.manual(layerDevices: [.cpu, .cpu], softmaxDevices: nil, layers: 2, vocabularySize: 10,
                                     registry: registry).devices == [.cpu])
    }

    @Test func deviceListsKeepRepeatsAndRejectJunk() throws {
        #expect(try Placement.parseDeviceList("0, 0,cpu,3", option: "--layer-devices") == [.openCL(0), .openCL(0), .cpu, .openCL(3)])
        for bad in ["", "0,,1", "x", "-1", "1,"] {
            let error = #expect(throws: CLTrainError.self) { try Placement.parseDeviceList(bad, option: "--softmax-devices") }
            #expect(error?.description.contains("--softmax-devices") == true, "\(bad)")
        }
    }

    @Test func evenShardsCoverTheVocabularyExactly() {
        for vocabulary in [1, 2, 7, 10, 97, 1000, 80_000, 80_001] {
            for count in 1...min(vocabulary, 9) {
                let shards = Placement.evenShards(vocabularySize: vocabulary, count: count)
                #expect(shards.count == count)
                #expect(shards.first?.lowerBound == 0)
                #expect(shards.last?.upperBound == vocabulary)
                for (a, b) in zip(shards, shards.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
                let sizes = shards.map(\.count)
                #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= 1, "V \(vocabulary), \(count) shards: \(sizes)")
                #expect(sizes == sizes.sorted(by: >), "the larger shards come first")
            }
        }
        #expect(Placement.evenShards(vocabularySize: 3, count: 4).isEmpty)
    }

    @Test func singleDevicePutsEverythingOnIt() throws {
        let placement = try Placement.singleDevice(.cpu, layers: 3, vocabularySize: 50)
        #expect(placement.layers == [.cpu, .cpu, .cpu])
        #expect(placement.softmaxShards == [SoftmaxShard(device: .cpu, rows: 0..<50)])
        #expect(placement.reasons.count == 1)
    }

    @Test func placementsRoundTripThroughJSONAndAreCheckedOnTheWayIn() throws {
        let placement = try Placement.manual(layerDevices: [.cpu, .openCL(2)], softmaxDevices: [.openCL(2), .openCL(3)],
                                             layers: 2, vocabularySize: 9, availableDevices: [.cpu, .openCL(2), .openCL(3)])
        let data = try JSONEncoder().encode(placement)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"cpu\""))
        #expect(try JSONDecoder().decode(Placement.self, from: data) == placement)
        // A gap between shards is refused.
        let broken = Data(#"{"layers":["0"],"softmaxShards":[{"device":"0","rows":[0,4]},{"device":"1","rows":[5,9]}],"reasons":[]}"#.utf8)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(Placement.self, from: broken) }
        #expect(throws: (any Error).self) { try JSONDecoder().decode([DeviceSelection].self, from: Data(#"["0,1"]"#.utf8)) }
    }

    // MARK: Auto

    @Test func autoPutsOneLayerPerDeviceAndSpreadsTheSoftmaxOverEightEqualDevices() throws {
        let costs = Array(repeating: Presets.h100Costs2014, count: 8)
        let placement = try Placement.auto(costs: costs, devices: Self.eight, layers: 4, vocabularySize: 80_000)
        #expect(placement.layers == Array(Self.eight[0..<4]))
        #expect(placement.vocabularySize == 80_000)
        // Every device ends at the same load (up to one row of rounding).
        var load = [DeviceSelection: Double]()
        for (l, device) in placement.layers.enumerated() { load[device, default: 0] += costs[0].layerWork(l) }
        for shard in placement.softmaxShards { load[shard.device, default: 0] += Double(shard.rows.count) * costs[0].rowWork }
        let loads = Array(load.values)
        #expect(loads.count == 8)
        #expect((loads.max() ?? 0) - (loads.min() ?? 0) <= costs[0].rowWork * 1.0001)
        #expect(placement.reasons.count == 1 + 4 + placement.softmaxShards.count)
    }

    @Test func autoOnOneDeviceIsTheSingleDevicePlacement() throws {
        let placement = try Placement.auto(costs: [Self.costs(layer: 1, row: 0.01)], devices: [.cpu], layers: 3, vocabularySize: 100)
        #expect(placement.layers == [.cpu, .cpu, .cpu])
        #expect(placement.softmaxShards == [SoftmaxShard(device: .cpu, rows: 0..<100)])
    }

    @Test func autoKeepsLayersTogetherWhenThatBalancesAsWell() throws {
        // Two equal devices, 2 layers of 1 and 100 rows of 0.02: total 4, so 2 each. Layers on one
        // device and 100 rows on the other balance as well as one layer each; the tie goes to
        // fewer layer runs (fewer transfers).
        let costs = Array(repeating: Self.costs(layer: 1, row: 0.02), count: 2)
        let placement = try Placement.auto(costs: costs, devices: [.openCL(0), .openCL(1)], layers: 2, vocabularySize: 100)
        #expect(Set(placement.layers).count == 1)
    }

    @Test(arguments: 0..<40)
    func autoFindsTheBestContiguousSplit(seed: Int) throws {
        var random = SplitMix64(seed: UInt64(seed) &+ 1000)
        let devices = 1 + seed % 4, layers = 1 + (seed / 4) % 5
        let vocabulary = 50 + Int(random.next() % 500)
        var costs: [DeviceCosts] = (0..<devices).map { _ in
            Self.costs(layer: 0.5 + Double(random.unitFloat()) * 4, first: 0.5 + Double(random.unitFloat()) * 4,
                       row: 0.001 + Double(random.unitFloat()) * 0.02)
        }
        if seed % 5 == 0, devices > 1 { costs[devices - 1] = costs[0] }   // some identical devices
        var search = BalanceSearch(costs: costs, layers: layers, vocabulary: Double(vocabulary))
        search.run()
        let found = try #require(search.best)
        let optimum = Self.bruteForceOptimum(costs: costs, layers: layers, vocabulary: Double(vocabulary))
        #expect(abs(found.value - optimum) <= 1e-8 * optimum, "devices \(devices), layers \(layers): \(found.value) vs \(optimum)")

        // The placement built from it: rows cover 0..<V, and its integer loads are within a row of the optimum.
        let selections = (0..<devices).map { DeviceSelection.openCL($0) }
        let placement = try Placement.auto(costs: costs, devices: selections, layers: layers, vocabularySize: vocabulary)
        #expect(placement.layers.count == layers)
        #expect(placement.vocabularySize == vocabulary)
        var loads = Array(repeating: 0.0, count: devices)
        for (l, device) in placement.layers.enumerated() { loads[selections.firstIndex(of: device)!] += costs[selections.firstIndex(of: device)!].layerWork(l) }
        for shard in placement.softmaxShards {
            let d = selections.firstIndex(of: shard.device)!
            loads[d] += Double(shard.rows.count) * costs[d].rowWork
        }
        let worstRow = costs.map(\.rowWork).max() ?? 0
        #expect((loads.max() ?? 0) <= optimum + worstRow + 1e-9)
    }

    /// Every map of layers to devices whose runs are contiguous and on distinct devices, with the
    /// softmax level found by bisection: an independent check of `BalanceSearch`.
    static func bruteForceOptimum(costs: [DeviceCosts], layers: Int, vocabulary: Double) -> Double {
        let n = costs.count
        var best = Double.infinity
        var assignment = Array(repeating: 0, count: layers)
        func visit(_ l: Int) {
            if l == layers {
                // Contiguous: a device reappears only right after itself.
                for a in 0..<layers {
                    for b in a + 1..<layers where assignment[b] == assignment[a] && assignment[b - 1] != assignment[a] { return }
                }
                var loads = Array(repeating: 0.0, count: n)
                for (layer, device) in assignment.enumerated() { loads[device] += costs[device].layerWork(layer) }
                var (low, high) = (0.0, (loads.max() ?? 0) + vocabulary * (costs.map(\.rowWork).max() ?? 0) + 1)
                for _ in 0..<200 {
                    let mid = (low + high) / 2
                    let capacity = loads.indices.reduce(0.0) { $0 + max(0, mid - loads[$1]) / costs[$1].rowWork }
                    if capacity >= vocabulary { high = mid } else { low = mid }
                }
                best = min(best, max(high, loads.max() ?? 0))
                return
            }
            for device in 0..<n {
                assignment[l] = device
                visit(l + 1)
            }
        }
        visit(0)
        return best
    }

    @Test func autoOnSixteenDistinctDevicesAndEightLayersIsQuick() throws {
        var random = SplitMix64(seed: 16)
        let costs = (0..<16).map { _ in Self.costs(layer: 1 + Double(random.unitFloat()), row: 1e-4 * (1 + Double(random.unitFloat()))) }
        let start = Date()
        let placement = try Placement.auto(costs: costs, devices: (0..<16).map { .openCL($0) }, layers: 8, vocabularySize: 80_000)
        #expect(placement.layers.count == 8)
        #expect(Date().timeIntervalSince(start) < 3)
    }

    @Test func autoRejectsBadInput() {
        let c = Self.costs(layer: 1, row: 0.1)
        #expect(throws: CLTrainError.self) { try Placement.auto(costs: [c], devices: [.cpu, .openCL(0)], layers: 2, vocabularySize: 10) }
        #expect(throws: CLTrainError.self) { try Placement.auto(costs: [c, c], devices: [.cpu, .cpu], layers: 2, vocabularySize: 10) }
        #expect(throws: CLTrainError.self) { try Placement.auto(costs: [c], devices: [.cpu], layers: 0, vocabularySize: 10) }
        var free = c
        free.decoderForwardPerRow = 0
        free.decoderBackwardPerRow = 0
        free.decoderWeightGradientPerRow = 0
        #expect(throws: CLTrainError.self) { try Placement.auto(costs: [free], devices: [.cpu], layers: 1, vocabularySize: 10) }
    }
}

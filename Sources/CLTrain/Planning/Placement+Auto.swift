extension Placement {
    /// The placement that balances measured costs: the busiest device's work per time step is as
    /// small as it can be.
    ///
    /// A device's work is the forward, backward and weight-gradient time of the layers it runs plus
    /// its softmax rows times its cost per row (`DeviceCosts`). Transfers are not counted (the
    /// simulator adds them); the pipeline's fill and drain are not either.
    ///
    /// Algorithm, exact for that objective:
    /// 1. Layers go to devices in contiguous runs, each run on a different device. A device's
    ///    cost model has one cost for layer 0 and one for every other layer, so a run's load depends
    ///    only on its device, its length and whether it holds layer 0, and the runs after the first
    ///    may be laid out in any order.
    /// 2. For a candidate bottleneck λ, a dynamic program over the devices (state: layers placed,
    ///    whether the run with layer 0 is placed, runs used) finds, per number of runs, the
    ///    assignment whose runs all fit under λ and leave the softmax the most room, i.e. with the
    ///    least Σ_d load_d / rowCost_d. λ is feasible when the V rows fit under it too:
    ///    Σ_d (λ − load_d) / rowCost_d ≥ V. Bisection on λ, to 1e-12 relative, finds the smallest.
    ///    Each step costs O(n·L³) for n devices and L layers: microseconds for 16 devices and 8 layers.
    /// 3. Among the run counts feasible within 1e-9 of the optimum, the fewest wins (fewer
    ///    activation transfers). Among devices with identical costs the runs go to the lowest
    ///    numbers; the run with layer 0 comes first, the others follow in device order.
    /// 4. The rows are water-filled: every device with spare time takes rows up to the common level
    ///    λ' ≤ λ where Σ_d max(0, λ' − load_d) / rowCost_d = V. The continuous counts are rounded to
    ///    integers summing to V by largest remainder; devices with no row get no shard. Shards are
    ///    ordered as `devices` lists them.
    ///
    /// - Parameters:
    ///   - costs: one entry per device, parallel to `devices`.
    ///   - devices: distinct devices to spread over.
    public static func auto(costs: [DeviceCosts], devices: [DeviceSelection], layers: Int,
                            vocabularySize: Int) throws -> Placement {
        guard !devices.isEmpty, costs.count == devices.count else {
            throw CLTrainError.invalidArgument("auto placement needs one cost entry per device: \(devices.count) devices, \(costs.count) costs")
        }
        guard Set(devices).count == devices.count else {
            throw CLTrainError.invalidArgument("auto placement balances over distinct devices; \(devices.map(\.description).joined(separator: ",")) repeats one")
        }
        guard costs.allSatisfy({ $0.isPlausible && $0.rowWork > 0 }) else {
            throw CLTrainError.invalidArgument("auto placement needs finite, non-negative costs and a positive cost per vocabulary row")
        }
        try checkSizes(layers: layers, vocabularySize: vocabularySize, shards: 1)

        var search = BalanceSearch(costs: costs, layers: layers, vocabulary: Double(vocabularySize))
        search.run()
        guard let best = search.best else {
            throw CLTrainError.invalidArgument("auto placement found no assignment of \(layers) layers to \(devices.count) devices")
        }
        return try makePlacement(best, search: search, costs: costs, devices: devices, vocabularySize: vocabularySize)
    }

    private static func makePlacement(_ best: BalanceSearch.Leaf, search: BalanceSearch, costs: [DeviceCosts],
                                      devices: [DeviceSelection], vocabularySize: Int) throws -> Placement {
        var layerDevices: [DeviceSelection] = []
        var reasons = ["auto: the busiest device does \(formatSeconds(best.value)) of work per time step, the least any "
                       + "contiguous split of the layers over these \(devices.count) device\(devices.count == 1 ? "" : "s") allows "
                       + "(bisection over a dynamic program; softmax rows water-filled; transfers not counted)"]
        for run in best.runs {
            let device = devices[run.device]
            layerDevices += Array(repeating: device, count: run.layers.count)
            let load = search.runLoad(run.layers, on: run.device)
            let what = run.layers.count == 1
                ? (run.layers.lowerBound == 0 ? "layer 0 and the embedding" : "layer \(run.layers.lowerBound)")
                : "layers \(run.layers.lowerBound)–\(run.layers.upperBound - 1)" + (run.layers.lowerBound == 0 ? " and the embedding" : "")
            let why = best.runs.count == 1
                ? "one run keeps every activation on one device and the load still balances"
                : "the contiguous split into \(best.runs.count) runs that minimises the busiest device"
            reasons.append("\(what) on \(device): \(formatSeconds(load)) per time step; \(why)")
        }

        // Continuous rows per device, then integers by largest remainder.
        let level = best.level
        let exact = costs.indices.map { d in max(0, level - best.loads[d]) / costs[d].rowWork }
        let total = exact.reduce(0, +)
        let scaled = exact.map { total > 0 ? $0 * Double(vocabularySize) / total : 0 }
        // A zero row cost (a coarse timer) makes a share infinite: no Int(_:) that could trap.
        var rows = scaled.map { Checked.integer($0.rounded(.down)).map { min(max($0, 0), vocabularySize) } ?? 0 }
        let order = scaled.indices.sorted { a, b in
            let (fa, fb) = (scaled[a] - Double(rows[a]), scaled[b] - Double(rows[b]))
            return fa != fb ? fa > fb : a < b
        }
        var missing = vocabularySize - rows.reduce(0, +)
        for d in order where missing > 0 {
            rows[d] += 1
            missing -= 1
        }
        var shards: [SoftmaxShard] = []
        var start = 0
        for d in devices.indices where rows[d] > 0 {
            let shard = SoftmaxShard(device: devices[d], rows: start..<start + rows[d])
            start += rows[d]
            shards.append(shard)
            let layerLoad = best.loads[d]
            let context = layerLoad > 0 ? "after its layers' \(formatSeconds(layerLoad))" : "it runs no layer"
            reasons.append("softmax rows \(shard.rows.lowerBound)..<\(shard.rows.upperBound) on \(devices[d]): "
                           + "\(rows[d]) rows × \(formatSeconds(costs[d].rowWork)) = \(formatSeconds(Double(rows[d]) * costs[d].rowWork)) "
                           + "per time step (\(context)); rows fill every device up to the balanced load")
        }
        return try Placement(layers: layerDevices, softmaxShards: shards, reasons: reasons)
    }
}

/// The search behind `Placement.auto`: bisection on the bottleneck λ over a feasibility DP.
struct BalanceSearch {
    struct Run: Equatable {
        var layers: Range<Int>
        var device: Int
    }

    struct Leaf {
        var runs: [Run]
        var loads: [Double]   // layer work per device
        var level: Double     // the softmax water level
        var value: Double     // max(level, the largest layer load)
    }

    /// What one device takes in an assignment: nothing, the run holding layer 0, or another run.
    enum Choice: Equatable {
        case none
        case first(length: Int)
        case other(length: Int)
    }

    let costs: [DeviceCosts]
    let layers: Int
    let vocabulary: Double
    private(set) var best: Leaf?

    init(costs: [DeviceCosts], layers: Int, vocabulary: Double) {
        self.costs = costs
        self.layers = layers
        self.vocabulary = vocabulary
    }

    func runLoad(_ run: Range<Int>, on device: Int) -> Double {
        run.reduce(0) { $0 + costs[device].layerWork($1) }
    }

    private func load(_ choice: Choice, on device: Int) -> Double {
        switch choice {
        case .none: 0
        case .first(let length): runLoad(0..<length, on: device)
        case .other(let length): runLoad(1..<1 + length, on: device)
        }
    }

    /// The level λ ≥ 0 with Σ_d max(0, λ − load_d) / rowCost_d = V.
    func waterLevel(_ loads: [Double]) -> Double {
        let order = loads.indices.sorted { loads[$0] < loads[$1] }
        var weight = 0.0, weightedLoads = 0.0, level = 0.0
        for (position, d) in order.enumerated() {
            weight += 1 / costs[d].rowWork
            weightedLoads += loads[d] / costs[d].rowWork
            level = (vocabulary + weightedLoads) / weight
            // The devices so far fill to `level` unless the next one is already above it.
            if position + 1 == order.count || loads[order[position + 1]] >= level { break }
        }
        return level
    }

    /// Per number of runs (index 1...L), the assignment with every run's load ≤ λ that leaves the
    /// most room for softmax rows (least Σ load_d / rowCost_d), if any; and whether λ is feasible
    /// for it: Σ_d (λ − load_d) / rowCost_d ≥ V.
    ///
    /// DP over the devices in order; state (layers placed, first run placed, runs used).
    private func cheapest(under bound: Double) -> [(feasible: Bool, choices: [Choice])?] {
        let n = costs.count, l = layers
        struct Cell { var cost: Double; var choice: Choice; var from: Int }
        func index(_ placed: Int, _ first: Int, _ runs: Int) -> Int { (placed * 2 + first) * (l + 1) + runs }
        let stateCount = (l + 1) * 2 * (l + 1)
        var table = [[Cell?]](repeating: [Cell?](repeating: nil, count: stateCount), count: n + 1)
        table[0][index(0, 0, 0)] = Cell(cost: 0, choice: .none, from: -1)
        for d in 0..<n {
            for placed in 0...l {
                for first in 0...1 {
                    for runs in 0...l {
                        let state = index(placed, first, runs)
                        guard let cell = table[d][state] else { continue }
                        func offer(_ target: Int, _ cost: Double, _ choice: Choice) {
                            if table[d + 1][target].map({ cost < $0.cost }) ?? true {
                                table[d + 1][target] = Cell(cost: cost, choice: choice, from: state)
                            }
                        }
                        offer(state, cell.cost, .none)
                        guard runs < l else { continue }
                        for length in stride(from: 1, through: l - placed, by: 1) {
                            let choices: [Choice] = first == 0 ? [.first(length: length), .other(length: length)] : [.other(length: length)]
                            for choice in choices {
                                let work = load(choice, on: d)
                                guard work <= bound else { continue }
                                let firstAfter = if case .first = choice { 1 } else { first }
                                offer(index(placed + length, firstAfter, runs + 1), cell.cost + work / costs[d].rowWork, choice)
                            }
                        }
                    }
                }
            }
        }
        let room = costs.reduce(0) { $0 + bound / $1.rowWork } - vocabulary
        return (0...l).map { runs in
            guard runs > 0, let end = table[n][index(l, 1, runs)] else { return nil }
            var choices = [Choice](repeating: .none, count: n)
            var (cell, state) = (end, index(l, 1, runs))
            for d in stride(from: n - 1, through: 0, by: -1) {
                choices[d] = cell.choice
                state = cell.from
                guard d > 0, let previous = table[d][state] else { break }
                cell = previous
            }
            return (end.cost <= room, choices)
        }
    }

    private func isFeasible(_ bound: Double) -> Bool {
        cheapest(under: bound).contains { $0?.feasible == true }
    }

    /// The smallest bottleneck by bisection (to 1e-12 relative), then among the run counts feasible
    /// within 1e-9 of it the fewest; the leaf is that assignment with its exact water level.
    mutating func run() {
        // Everything on the best single device is always feasible.
        var high = costs.indices.map { d in runLoad(0..<layers, on: d) + vocabulary * costs[d].rowWork }.min() ?? 0
        var low = 0.0
        while high - low > 1e-12 * high {
            let middle = (low + high) / 2
            if middle <= low || middle >= high { break }
            if isFeasible(middle) { high = middle } else { low = middle }
        }
        let candidates = cheapest(under: high * (1 + 1e-9))
        guard var choices = candidates.compactMap({ $0 }).first(where: \.feasible)?.choices else { return }
        // Devices with identical costs are interchangeable: within each such class, hand the layer
        // runs to the lowest-numbered devices, the run with layer 0 first, so layers run in device order.
        func rank(_ choice: Choice) -> Int {
            switch choice {
            case .first: 0
            case .other: 1
            case .none: 2
            }
        }
        for d in costs.indices where costs.firstIndex(of: costs[d]) == d {
            let members = costs.indices.filter { costs[$0] == costs[d] }
            let sorted = members.map { choices[$0] }.enumerated()
                .sorted { (rank($0.element), $0.offset) < (rank($1.element), $1.offset) }.map(\.element)
            for (member, choice) in zip(members, sorted) { choices[member] = choice }
        }

        var runs: [Run] = []
        var loads = [Double](repeating: 0, count: costs.count)
        var next = 0
        if let d = choices.firstIndex(where: { if case .first = $0 { true } else { false } }), case .first(let length) = choices[d] {
            runs.append(Run(layers: 0..<length, device: d))
            next = length
        }
        for (d, choice) in choices.enumerated() {
            if case .other(let length) = choice {
                runs.append(Run(layers: next..<next + length, device: d))
                next += length
            }
        }
        for run in runs { loads[run.device] = runLoad(run.layers, on: run.device) }
        let level = waterLevel(loads)
        best = Leaf(runs: runs, loads: loads, level: level, value: max(level, loads.max() ?? 0))
    }
}

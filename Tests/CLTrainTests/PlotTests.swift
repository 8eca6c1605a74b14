import Foundation
import Testing
@testable import CLTrain

/// `cltrain plot`'s SVGs: well-formed XML (read by Python's ElementTree, a real XML parser), one mark
/// per case or logged record, and the refusals of files that are not what they should be.
@Suite("SVG plots")
struct PlotTests {
    /// What an XML parser read from an SVG: the root element's name, the number of elements of
    /// each `class`, and the character data of each `text` element.
    struct ParsedSVG: Decodable {
        var root = ""
        var counts: [String: Int] = [:]
        var texts: [String] = []
    }

    /// Parses `svg` with Python's ElementTree (expat), failing the test on any XML error. Not
    /// Foundation's XMLParser: FoundationXML would link libxml2 and ICU into the test bundle, which
    /// the GPU machine may lack (scripts/gpu-session.sh runs this bundle there).
    static func parse(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) -> ParsedSVG {
        let script = """
            import json, sys, xml.etree.ElementTree as E
            root = E.parse(sys.argv[1]).getroot()
            name = lambda element: element.tag.rsplit('}', 1)[-1]
            counts = {}
            for element in root.iter():
                kind = element.get('class')
                if kind is not None: counts[kind] = counts.get(kind, 0) + 1
            texts = [''.join(element.itertext()) for element in root.iter() if name(element) == 'text']
            print(json.dumps({'root': name(root), 'counts': counts, 'texts': texts}))
            """
        do {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("cltrain-plot-\(UUID().uuidString).svg")
            try Data(svg.utf8).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script, file.path]
            let output = Pipe(), errors = Pipe()
            process.standardOutput = output
            process.standardError = errors
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            let message = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                Issue.record("not well-formed XML (or no python3): \(String(decoding: message, as: UTF8.self))", sourceLocation: sourceLocation)
                return ParsedSVG()
            }
            let parsed = try JSONDecoder().decode(ParsedSVG.self, from: data)
            #expect(parsed.root == "svg", sourceLocation: sourceLocation)
            return parsed
        } catch {
            Issue.record("could not run python3 to parse the SVG: \(error)", sourceLocation: sourceLocation)
            return ParsedSVG()
        }
    }

    static func metrics(_ records: [[String: Any]]) throws -> Data {
        try records.reduce(Data()) { $0 + (try JSONSerialization.data(withJSONObject: $1, options: [.sortedKeys])) + Data("\n".utf8) }
    }

    @Test func lossCurvesHaveAPointPerLoggedStepAndValidation() throws {
        var records: [[String: Any]] = (1...30).map { (index: Int) -> [String: Any] in
            let loss: Double = 4 - Double(index) * 0.05
            return ["type": "step", "epoch": 1 + index / 16, "step": index * 5, "loss": loss]
        }
        records.insert(["type": "validation", "epoch": 1, "step": 75, "loss": 3.5, "perplexity": exp(3.5)], at: 15)
        records.append(["type": "validation", "epoch": 2, "step": 150, "loss": 3.0, "perplexity": exp(3.0)])
        // A diverged step: null loss, named under nonFinite; left out, and counted.
        records.append(["type": "step", "epoch": 2, "step": 155, "loss": NSNull(), "nonFinite": ["loss": "nan"]])
        let plot = try LossCurvePlot(metricsJSONLines: try Self.metrics(records), source: "run <1> & \"2\".jsonl")
        #expect(plot.training.count == 30 && plot.validation.count == 2 && plot.nonFinite == 1)
        let svg = Self.parse(plot.svg())
        #expect(svg.counts[LossCurvePlot.trainingKind] == 30)
        #expect(svg.counts[LossCurvePlot.validationKind] == 2)
        #expect(svg.texts.contains("Loss: run <1> & \"2\".jsonl"), "the title is escaped and read back as given")
        #expect(svg.texts.contains { $0.contains("1 non-finite left out") })
    }

    @Test func aValidationWithoutAStepFollowsTheStepBeforeIt() throws {
        let data = try Self.metrics([["type": "step", "step": 10, "loss": 2.0], ["type": "validation", "loss": 1.5]])
        #expect(try LossCurvePlot(metricsJSONLines: data, source: "old.jsonl").validation == [.init(step: 10, loss: 1.5)])
    }

    @Test func aFileThatIsNotAMetricsLogIsRefusedNamingTheLine() throws {
        let cases: [(Data, String)] = [
            (Data("{\"type\":\"step\",\"step\":1,\"loss\":2}\nnot json\n".utf8), "line 2"),
            (Data(), "nothing to plot"),
            (Data("{\"type\":\"step\",\"step\":1.5,\"loss\":2}\n".utf8), "\"step\""),
            (Data("{\"type\":\"step\",\"step\":1}\n".utf8), "\"loss\""),
        ]
        for (data, mention) in cases {
            let error = #expect(throws: CLTrainError.self) { try LossCurvePlot(metricsJSONLines: data, source: "m.jsonl") }
            #expect(error.map { "\($0)".contains("m.jsonl") && "\($0)".contains(mention) } == true, "\(String(describing: error))")
        }
    }

    /// Two devices; on each a gemm (FLOPs and bytes), a softmax (bytes only), an LSTM layer
    /// (FLOPs only) and a failed case (no time); plus a device without a peak.
    static let benchmark = """
        {"devices": [
          {"label": "0", "name": "GPU <A>", "kind": "opencl gpu", "peak": {"flopsPerSecond": 6.0e13, "bytesPerSecond": 4.0e12, "method": "m"}},
          {"label": "cpu", "name": "CPU", "kind": "cpu", "peak": {"flopsPerSecond": 3.0e10, "bytesPerSecond": 6.0e9, "method": "m"}},
          {"label": "1", "name": "no peak", "kind": "opencl"}],
         "results": [
          {"device": "0", "case": "gemm 4096x4096x4096 NN", "flops": 1.37e11, "bytes": 2.0e8, "time": {"median": 0.004}},
          {"device": "0", "case": "softmax 128x80000", "bytes": 8.2e7, "time": {"median": 0.0001}},
          {"device": "0", "case": "lstm layer", "flops": 2.0e10, "time": {"median": 0.01}},
          {"device": "0", "case": "failed case", "flops": 1.0e9, "error": "boom"},
          {"device": "cpu", "case": "gemm 128x4000x2000 NN", "flops": 2.0e9, "bytes": 4.2e7, "time": {"median": 0.1}},
          {"device": "cpu", "case": "axpy", "bytes": 1.2e7, "time": {"median": 0.004}},
          {"device": "cpu", "case": "lstm step", "flops": 1.0e8, "time": {"median": 0.02}},
          {"device": "1", "case": "gemm elsewhere", "flops": 1.0e9, "bytes": 1.0e7, "time": {"median": 0.1}}]}
        """

    @Test func aRooflineHasOneMarkPerTimedCase() throws {
        let plot = try RooflinePlot(benchmarkJSON: Data(Self.benchmark.utf8), source: "bench.json")
        #expect(plot.devices.map(\.label) == ["0", "cpu"])
        #expect(plot.cases.count == 6)
        let svg = Self.parse(plot.svg())
        #expect(svg.counts[RooflinePlot.Mark.point.rawValue] == 2)
        #expect(svg.counts[RooflinePlot.Mark.bandwidth.rawValue] == 2)
        #expect(svg.counts[RooflinePlot.Mark.compute.rawValue] == 2)
        #expect(svg.texts.contains { $0.hasPrefix("device 0: GPU <A>") && $0.contains("peak 60 TFLOP/s") && $0.contains("4 TB/s") })
        // The 4096³ gemm: 34.25 TFLOP/s at 685 FLOP/B, under the 60 TFLOP/s peak: 57 % of its roof.
        #expect(svg.texts.contains { $0.contains("gemm 4096x4096x4096 NN: 34.2 TFLOP/s, 685 FLOP/B, 57% of its roof") }, "\(svg.texts)")
        #expect(svg.texts.contains { $0.contains("softmax 128x80000: 820 GB/s, 20% of the bandwidth") })
    }

    @Test func aFileThatIsNotABenchmarkReportIsRefused() {
        for text in ["[]", "{\"devices\": [], \"results\": []}", "not json"] {
            let error = #expect(throws: CLTrainError.self) { try RooflinePlot(benchmarkJSON: Data(text.utf8), source: "b.json") }
            #expect(error.map { "\($0)".contains("'b.json'") } == true)
        }
    }

    @Test func scalesPlaceValuesAndRoundTheirTicks() {
        let linear = PlotScale(covering: [2.85, 3.86], from: 0, to: 100, logarithmic: false)
        #expect(linear.ticks.first == linear.lower && linear.ticks.last.map { abs($0 - linear.upper) < 1e-9 } == true)
        #expect(linear.position(linear.lower) == 0 && linear.position(linear.upper).map { abs($0 - 100) < 1e-9 } == true)
        let log = PlotScale(covering: [0.03, 450, -1, .nan], from: 0, to: 100, logarithmic: true)
        #expect(log.lower == 0.01 && log.upper == 1000 && log.ticks == [0.01, 0.1, 1, 10, 100, 1000])
        #expect(log.position(0) == nil && log.position(.infinity) == nil)
        #expect(SVGCanvas.escaped("a<b&\"c'\u{1}") == "a&lt;b&amp;&quot;c&apos; ")
    }

    @Test func theCommandWritesTheSVGBesideItsInputAndNeverOverIt() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let metrics = scratch.url.appendingPathComponent("run.jsonl")
        try Self.metrics([["type": "step", "step": 1, "loss": 2.0], ["type": "step", "step": 2, "loss": 1.9]]).write(to: metrics)
        let result = try CLI.run(["plot", "loss", metrics.path])
        #expect(result.status == 0, "\(result)")
        let svg = try String(contentsOf: scratch.url.appendingPathComponent("run.svg"), encoding: .utf8)
        #expect(Self.parse(svg).counts[LossCurvePlot.trainingKind] == 2)

        let bench = scratch.url.appendingPathComponent("bench.json")
        try Data(Self.benchmark.utf8).write(to: bench)
        let roofline = try CLI.run(["plot", "roofline", bench.path, "-o", scratch.path("roof.svg")])
        #expect(roofline.status == 0 && roofline.standardOutput.contains("6 cases on 2 devices"), "\(roofline)")

        let refused: [BadInput] = [
            BadInput(["plot", "loss", metrics.path, "--output", metrics.path], mentions: ["would replace the input"]),
            BadInput(["plot", "histogram", metrics.path], mentions: ["histogram"]),
            BadInput(["plot", "loss", scratch.path("missing.jsonl")], mentions: ["cannot read", "missing.jsonl"]),
            BadInput(["plot", "roofline", metrics.path, "-o", scratch.path("x.svg")], mentions: ["not a cltrain-bench --json file"]),
        ]
        for input in refused { try expectRefused(input) }
        #expect(try Data(contentsOf: metrics).count > 0, "the input is untouched")
    }
}

import ArgumentParser
import CLTrain
import CLTrainCommandLine
import Foundation

/// `cltrain plot roofline|loss FILE`: a self-contained SVG of benchmark results or a training run.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw benchmark results (a roofline) or a training run's loss curves as a self-contained SVG file.",
        discussion: """
            roofline FILE: FILE is `cltrain-bench --json`'s output; each device's cases at their arithmetic intensity
            under its measured FP32 peak and bandwidth. loss FILE: FILE is `cltrain train --metrics`'s JSON Lines;
            the training loss at each logged step and the validation loss after each epoch.
            The SVG opens in any browser; `rsvg-convert -o FILE.png FILE.svg` makes a PNG of it.
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable { case roofline, loss }

    @OptionGroup var logging: LoggingOptions

    @Argument(help: "roofline (FILE from cltrain-bench --json) or loss (FILE from cltrain train --metrics).") var kind: Kind
    @Argument(help: ArgumentHelp("The results to draw.", valueName: "FILE")) var input: String
    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("The SVG file to write (default: FILE with the extension .svg).", valueName: "SVG"))
    var output: String?

    /// `--output`, else the input's name with `.svg`; never the input itself.
    var outputURL: URL {
        get throws {
            let inputURL = URL(fileURLWithPath: input)
            let url = output.map { URL(fileURLWithPath: $0) } ?? inputURL.deletingPathExtension().appendingPathExtension("svg")
            if url.standardizedFileURL.resolvingSymlinksInPath() == inputURL.standardizedFileURL.resolvingSymlinksInPath() {
                throw ValidationError("the SVG would replace the input '\(input)'; name another file with --output")
            }
            return url
        }
    }

    func validate() throws { _ = try outputURL }

    func run() throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: input)) } catch {
            throw CLTrainError.invalidArgument("cannot read '\(input)': \((error as NSError).localizedDescription)")
        }
        let name = URL(fileURLWithPath: input).lastPathComponent
        let svg: String
        switch kind {
        case .roofline:
            let plot = try RooflinePlot(benchmarkJSON: data, source: name)
            svg = plot.svg()
            print("roofline of \(plot.cases.count) cases on \(plot.devices.count) device\(plot.devices.count == 1 ? "" : "s")")
        case .loss:
            let plot = try LossCurvePlot(metricsJSONLines: data, source: name)
            svg = plot.svg()
            print("loss curves: \(plot.training.count) training points, \(plot.validation.count) validation points")
        }
        let url = try outputURL
        try AtomicFile.write(Data(svg.utf8), to: url)
        print("written to \(url.path)")
    }
}

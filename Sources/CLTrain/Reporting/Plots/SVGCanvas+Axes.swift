extension SVGCanvas {
    /// The grid of a plot area (a light line at each tick of `x` and `y`, labelled below and to the
    /// left) and its frame: what every plot draws before its marks. Axis titles stay the plot's own.
    mutating func grid(x: PlotScale, y: PlotScale, left: Double, right: Double, top: Double, bottom: Double) {
        for tick in x.ticks {
            guard let px = x.position(tick) else { continue }
            line(px, top, px, bottom, stroke: "#e4e4e4")
            text(PlotScale.label(tick), x: px, y: bottom + 16, size: 10, anchor: .middle)
        }
        for tick in y.ticks {
            guard let py = y.position(tick) else { continue }
            line(left, py, right, py, stroke: "#e4e4e4")
            text(PlotScale.label(tick), x: left - 6, y: py + 4, size: 10, anchor: .end)
        }
        rect(x: left, y: top, width: right - left, height: bottom - top, fill: "none", stroke: "#888")
    }
}

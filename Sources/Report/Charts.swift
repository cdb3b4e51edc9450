import Foundation

/// Horizontal bars in groups: one group per community (methods side by side), per option
/// (answer beside gold), per method (score beside baseline). Values run from 0 to `maximum`;
/// a missing value is drawn as a dash, not as a zero.
struct BarChart: Chart {
    struct Bar: Sendable {
        var label: String
        var value: Double?
        /// The bar's CSS class: `mp`, `baseline-bar`, `gold`.
        var style: String
    }

    struct Group: Sendable {
        var label: String
        var bars: [Bar]
    }

    var caption: String
    var groups: [Group]
    var maximum: Double = 1

    private static let width = 640.0, labelWidth = 170.0, barLabelWidth = 110.0, barHeight = 13.0, gap = 3.0, groupGap = 10.0

    func draw(into container: HTMLNode) {
        let rows = groups.reduce(0) { $0 + $1.bars.count }
        let height = Double(rows) * (Self.barHeight + Self.gap) + Double(groups.count) * Self.groupGap + 10
        let svg = container.appendElement("svg", attributes: [
            "viewBox": "0 0 \(SVG.number(Self.width)) \(SVG.number(height))", "width": SVG.number(Self.width),
            "height": SVG.number(height), "role": "img", "aria-label": caption,
        ])
        let left = Self.labelWidth + Self.barLabelWidth
        let span = Self.width - left - 50
        var y = 5.0
        for group in groups {
            svg.appendElement("text", attributes: ["x": "0", "y": SVG.number(y + Self.barHeight - 3), "class": "label"], text: group.label)
            for bar in group.bars {
                svg.appendElement("text", attributes: [
                    "x": SVG.number(Self.labelWidth), "y": SVG.number(y + Self.barHeight - 3), "class": "muted",
                ], text: bar.label)
                if let value = bar.value, value.isFinite, maximum > 0 {
                    let length = max(0, min(value, maximum)) / maximum * span
                    svg.appendElement("rect", attributes: [
                        "x": SVG.number(left), "y": SVG.number(y), "width": SVG.number(max(length, 0.5)),
                        "height": SVG.number(Self.barHeight), "class": bar.style,
                    ])
                    svg.appendElement("text", attributes: [
                        "x": SVG.number(left + length + 4), "y": SVG.number(y + Self.barHeight - 3), "class": "label",
                    ], text: Format.score(value))
                } else {
                    svg.appendElement("text", attributes: [
                        "x": SVG.number(left), "y": SVG.number(y + Self.barHeight - 3), "class": "muted",
                    ], text: Format.missing)
                }
                y += Self.barHeight + Self.gap
            }
            y += Self.groupGap
        }
        svg.appendElement("line", attributes: [
            "x1": SVG.number(left), "y1": "0", "x2": SVG.number(left), "y2": SVG.number(height), "class": "axis",
        ])
    }
}

/// Counts of scores in [0, 1] in ten equal bins (the last one closed), as columns.
struct Histogram: Chart {
    var caption: String
    var scores: [Double]
    static let bins = 10

    var counts: [Int] {
        var counts = [Int](repeating: 0, count: Self.bins)
        for score in scores where score.isFinite {
            let bin = min(Self.bins - 1, max(0, Int((score * Double(Self.bins)).rounded(.down))))
            counts[bin] += 1
        }
        return counts
    }

    func draw(into container: HTMLNode) {
        let width = 320.0, height = 110.0, bottom = 90.0, left = 10.0
        let column = (width - 2 * left) / Double(Self.bins)
        let counts = counts
        let highest = max(counts.max() ?? 0, 1)
        let svg = container.appendElement("svg", attributes: [
            "viewBox": "0 0 \(SVG.number(width)) \(SVG.number(height))", "width": SVG.number(width),
            "height": SVG.number(height), "role": "img", "aria-label": caption,
        ])
        for (bin, count) in counts.enumerated() {
            let barHeight = Double(count) / Double(highest) * (bottom - 15)
            let x = left + Double(bin) * column
            svg.appendElement("rect", attributes: [
                "x": SVG.number(x + 1), "y": SVG.number(bottom - barHeight), "width": SVG.number(column - 2),
                "height": SVG.number(barHeight), "class": "mp",
            ])
            if count > 0 {
                svg.appendElement("text", attributes: [
                    "x": SVG.number(x + column / 2), "y": SVG.number(bottom - barHeight - 2), "text-anchor": "middle",
                    "class": "label",
                ], text: String(count))
            }
        }
        svg.appendElement("line", attributes: [
            "x1": SVG.number(left), "y1": SVG.number(bottom), "x2": SVG.number(width - left), "y2": SVG.number(bottom), "class": "axis",
        ])
        for (fraction, label) in [(0.0, "0"), (0.5, "0.5"), (1.0, "1")] {
            svg.appendElement("text", attributes: [
                "x": SVG.number(left + fraction * (width - 2 * left)), "y": SVG.number(bottom + 14), "text-anchor": "middle",
                "class": "muted",
            ], text: label)
        }
    }
}

/// Changes with their confidence intervals (a forest plot): a dot at the change, a whisker
/// over the interval, a dashed line at zero.
struct IntervalChart: Chart {
    struct Row: Sendable {
        var label: String
        var change: Double?
        var interval: Interval?
    }

    var caption: String
    var rows: [Row]

    func draw(into container: HTMLNode) {
        let width = 640.0, labelWidth = 260.0, rowHeight = 18.0
        let height = Double(rows.count) * rowHeight + 24
        let extent = max(0.05, rows.reduce(0.0) { widest, row in
            max(widest, abs(row.change ?? 0), abs(row.interval?.low ?? 0), abs(row.interval?.high ?? 0))
        })
        let span = width - labelWidth - 20
        func x(_ value: Double) -> Double { labelWidth + (value + extent) / (2 * extent) * span }
        let svg = container.appendElement("svg", attributes: [
            "viewBox": "0 0 \(SVG.number(width)) \(SVG.number(height))", "width": SVG.number(width),
            "height": SVG.number(height), "role": "img", "aria-label": caption,
        ])
        svg.appendElement("line", attributes: [
            "x1": SVG.number(x(0)), "y1": "0", "x2": SVG.number(x(0)), "y2": SVG.number(height - 16), "class": "zero",
        ])
        for (value, anchor) in [(-extent, "start"), (0, "middle"), (extent, "end")] {
            svg.appendElement("text", attributes: [
                "x": SVG.number(x(value)), "y": SVG.number(height - 4), "text-anchor": anchor, "class": "muted",
            ], text: Format.signed(value))
        }
        for (index, row) in rows.enumerated() {
            let y = Double(index) * rowHeight + 12
            svg.appendElement("text", attributes: ["x": "0", "y": SVG.number(y + 4), "class": "label"], text: row.label)
            if let interval = row.interval {
                svg.appendElement("line", attributes: [
                    "x1": SVG.number(x(interval.low)), "y1": SVG.number(y), "x2": SVG.number(x(interval.high)),
                    "y2": SVG.number(y), "class": "whisker",
                ])
            }
            if let change = row.change {
                svg.appendElement("circle", attributes: [
                    "cx": SVG.number(x(change)), "cy": SVG.number(y), "r": "4", "class": "mp",
                ])
            }
        }
    }
}

enum SVG {
    /// Coordinates with one decimal: enough for a chart, and the same text on every machine.
    static func number(_ value: Double) -> String { Format.fixed(value, decimals: 1) }
}

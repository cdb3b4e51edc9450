import Corpus
import Foundation

/// A run to compare: a corpus and a run in it (the two runs of a diff may be in different files).
public struct RunSource: Sendable {
    public var corpus: Corpus
    public var run: RunRecord

    public init(corpus: Corpus, run: RunRecord) {
        self.corpus = corpus
        self.run = run
    }
}

/// Run B against run A, item by item.
///
/// Items are matched by id; a matched item whose content hash differs is *changed* (it is
/// still paired: the id says it is the same question, the hash that its wording moved).
/// Every comparison is paired over the matched items both runs scored, with a paired
/// bootstrap confidence interval (`PairedBootstrap`):
///
/// - per community and method, the representation rate (the per-item `represented` verdict
///   in the `representation` rows' evidence). A community that one run does not have at all
///   counts as not represented on that run's side: adding a community shows as its gain
///   from zero;
/// - per method and metric, the mean of the per-item scores (`community` = '').
///
/// Every number rests on the audit's rows; nothing is re-scored.
public struct RunDiff: Sendable {
    public struct Side: Sendable {
        public var runID: String
        public var name: String
        public var createdAt: String
        public var corpus: String
        public var items: Int
    }

    /// One paired comparison: means over the paired items on each side, the change (B − A)
    /// and its interval.
    public struct Change: Sendable {
        public var method: String
        public var metric: String
        public var community: String
        public var meanA: Double
        public var meanB: Double
        public var change: Double
        public var interval: Interval?
        public var pairs: Int
        /// Why one side counts as zero (`new in B`, `not in B`), or empty.
        public var note: String
    }

    /// One item's score that moved.
    public struct ItemChange: Sendable {
        public var itemID: String
        public var method: String
        public var metric: String
        public var community: String
        public var a: Double
        public var b: Double
        public var change: Double { b - a }
    }

    public var a: Side
    public var b: Side
    public var resamples: Int
    public var seed: UInt64
    /// Items in both runs, in run A's order.
    public var matched: [String]
    public var added: [String]
    public var removed: [String]
    public var changed: [String]
    public var representation: [Change]
    public var metrics: [Change]
    /// The largest per-item changes first (at most `itemChangeLimit`).
    public var itemChanges: [ItemChange]

    public static let itemChangeLimit = 200

    /// Compares two runs. Deterministic: the same runs, resamples and seed give the same
    /// result, whatever the thread count.
    public static func compute(a: RunSource, b: RunSource, resamples: Int = PairedBootstrap.defaultResamples,
                               seed: UInt64 = 0) throws -> RunDiff {
        let sideA = try RunSide(a), sideB = try RunSide(b)
        let hashesB = Dictionary(sideB.items.map { ($0.id, $0.contentHash) }, uniquingKeysWith: { first, _ in first })
        let idsA = Set(sideA.items.map(\.id))
        let matched = sideA.items.filter { hashesB[$0.id] != nil }
        var diff = RunDiff(
            a: sideA.side, b: sideB.side, resamples: resamples, seed: seed,
            matched: matched.map(\.id),
            added: sideB.items.filter { !idsA.contains($0.id) }.map(\.id),
            removed: sideA.items.filter { hashesB[$0.id] == nil }.map(\.id),
            changed: matched.filter { hashesB[$0.id] != $0.contentHash }.map(\.id),
            representation: [], metrics: [], itemChanges: [])

        // The comparisons, each with its paired differences; bootstrapped in parallel below.
        var pending: [(change: Change, differences: [Double], label: String)] = []
        let methods = Methods.ordered(Set(sideA.verdicts.keys.map(\.method) + sideB.verdicts.keys.map(\.method)))
        var communities = sideB.communities
        for name in sideA.communities where !communities.contains(name) { communities.append(name) }
        for community in communities {
            for method in methods {
                var pairs: [(Double, Double)] = []
                for item in diff.matched {
                    let key = VerdictKey(item: item, method: method, community: community)
                    let inA = sideA.verdicts[key], inB = sideB.verdicts[key]
                    guard inA != nil || inB != nil else { continue }
                    let valueA = inA ?? (sideA.communities.contains(community) ? nil : false)
                    let valueB = inB ?? (sideB.communities.contains(community) ? nil : false)
                    guard let valueA, let valueB else { continue }
                    pairs.append((valueA ? 1 : 0, valueB ? 1 : 0))
                }
                guard !pairs.isEmpty else { continue }
                let note = !sideA.communities.contains(community) ? "new in B" : !sideB.communities.contains(community) ? "not in B" : ""
                pending.append((Self.change(method, "representation_rate", community, pairs, note), pairs.map { $1 - $0 },
                                "representation_rate|\(community)|\(method)"))
            }
        }
        let metricKeys = Set(sideA.scores.keys.map { MetricKey(method: $0.method, metric: $0.metric) })
            .intersection(sideB.scores.keys.map { MetricKey(method: $0.method, metric: $0.metric) })
            .sorted { (Methods.rank($0.method), $0.method, $0.metric) < (Methods.rank($1.method), $1.method, $1.metric) }
        for key in metricKeys {
            var pairs: [(Double, Double)] = []
            for item in diff.matched {
                let score = ScoreKey(item: item, method: key.method, metric: key.metric, community: "")
                if let valueA = sideA.scores[score], let valueB = sideB.scores[score] { pairs.append((valueA, valueB)) }
            }
            guard !pairs.isEmpty else { continue }
            pending.append((Self.change(key.method, key.metric, "", pairs, ""), pairs.map { $1 - $0 }, "metric|\(key.method)|\(key.metric)"))
        }

        let comparisons = pending
        let intervals = concurrentMap(count: comparisons.count) { index in
            PairedBootstrap.interval(
                differences: comparisons[index].differences, resamples: resamples,
                seed: PairedBootstrap.seed(seed, for: comparisons[index].label))
        }
        for (index, entry) in pending.enumerated() {
            var change = entry.change
            change.interval = intervals[index]
            if change.metric == "representation_rate" { diff.representation.append(change) } else { diff.metrics.append(change) }
        }

        // Per-item changes: every score present on both sides (representation per community too).
        let order = Dictionary(diff.matched.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        var moved: [ItemChange] = []
        for (key, valueA) in sideA.scores {
            guard order[key.item] != nil, let valueB = sideB.scores[key], valueA != valueB else { continue }
            moved.append(ItemChange(itemID: key.item, method: key.method, metric: key.metric, community: key.community, a: valueA, b: valueB))
        }
        moved.sort { first, second in
            let sizes = (abs(first.change), abs(second.change))
            if sizes.0 != sizes.1 { return sizes.0 > sizes.1 }
            return (order[first.itemID]!, Methods.rank(first.method), first.method, first.metric, first.community)
                < (order[second.itemID]!, Methods.rank(second.method), second.method, second.metric, second.community)
        }
        diff.itemChanges = Array(moved.prefix(itemChangeLimit))
        return diff
    }

    private static func change(_ method: String, _ metric: String, _ community: String, _ pairs: [(Double, Double)], _ note: String) -> Change {
        let count = Double(pairs.count)
        let meanA = pairs.reduce(0) { $0 + $1.0 } / count
        let meanB = pairs.reduce(0) { $0 + $1.1 } / count
        let change = pairs.reduce(0) { $0 + ($1.1 - $1.0) } / count
        return Change(method: method, metric: metric, community: community, meanA: meanA, meanB: meanB, change: change,
                      interval: nil, pairs: pairs.count, note: note)
    }

    struct VerdictKey: Hashable {
        var item, method, community: String
    }

    struct ScoreKey: Hashable {
        var item, method, metric, community: String
    }

    struct MetricKey: Hashable {
        var method, metric: String
    }

    /// What a diff reads of one run.
    private struct RunSide {
        var side: Side
        var items: [ItemRecord]
        var communities: [String]
        /// Non-null per-item scores of every metric.
        var scores: [ScoreKey: Double] = [:]
        /// `represented` from each `representation` row's evidence.
        var verdicts: [VerdictKey: Bool] = [:]

        init(_ source: RunSource) throws {
            let corpus = source.corpus, runID = source.run.id
            items = try corpus.items(runID: runID)
            communities = try corpus.communities(runID: runID).map(\.name)
            side = Side(runID: runID, name: source.run.name, createdAt: source.run.createdAt, corpus: corpus.path, items: items.count)
            for score in try corpus.auditScores(runID: runID) {
                guard let value = score.score else { continue }
                scores[ScoreKey(item: score.itemID, method: score.method, metric: score.metric, community: score.community)] = value
            }
            for row in try corpus.audits(runID: runID, metric: "representation") {
                if let represented = JSONValue.parse(row.evidenceJSON)?["represented"]?.bool {
                    verdicts[VerdictKey(item: row.itemID, method: row.method, community: row.community)] = represented
                }
            }
        }
    }
}

extension RunDiff {
    /// The diff as aligned text tables: items, representation, metric means, then the
    /// `top` largest per-item changes.
    public func text(top: Int = 10) -> String {
        var lines: [String] = []
        for (label, side) in [("A", a), ("B", b)] {
            lines.append(TextTable.clean("\(label): run \(side.runID) (\(side.name), created \(side.createdAt)) in \(side.corpus)"))
        }
        lines.append("items: \(matched.count) matched (\(changed.count) with changed content), \(added.count) added, \(removed.count) removed")
        for (label, ids) in [("added", added), ("removed", removed), ("changed", changed)] where !ids.isEmpty {
            let shown = ids.prefix(20).map(TextTable.clean).joined(separator: ", ") + (ids.count > 20 ? ", … (\(ids.count - 20) more)" : "")
            lines.append("  \(label): \(shown)")
        }
        let settings = "paired bootstrap over matched items, 95% interval, \(resamples) resamples, seed \(seed)"
        lines.append("")
        lines.append("representation rate by community and method (B − A; \(settings))")
        if representation.isEmpty {
            lines.append("  no representation rows to compare")
        } else {
            lines += TextTable.render(
                header: ["community", "method", "A", "B", "change", "95% interval", "items", "note"],
                rows: representation.map { change in
                    [change.community, Methods.label(change.method), Format.score(change.meanA), Format.score(change.meanB),
                     Format.signed(change.change), Format.interval(change.interval), String(change.pairs), change.note]
                },
                rightAligned: [2, 3, 4, 6]).map { "  " + $0 }
        }
        lines.append("")
        lines.append("metric means by method (B − A over items scored in both)")
        if metrics.isEmpty {
            lines.append("  no per-item scores to compare")
        } else {
            lines += TextTable.render(
                header: ["method", "metric", "A", "B", "change", "95% interval", "items"],
                rows: metrics.map { change in
                    [Methods.label(change.method), change.metric, Format.score(change.meanA), Format.score(change.meanB),
                     Format.signed(change.change), Format.interval(change.interval), String(change.pairs)]
                },
                rightAligned: [2, 3, 4, 6]).map { "  " + $0 }
        }
        lines.append("")
        lines.append("largest per-item changes")
        if itemChanges.isEmpty {
            lines.append("  no per-item score changed")
        } else {
            lines += TextTable.render(
                header: ["item", "method", "metric", "community", "A", "B", "change"],
                rows: itemChanges.prefix(top).map { change in
                    [change.itemID, Methods.label(change.method), change.metric, change.community, Format.score(change.a),
                     Format.score(change.b), Format.signed(change.change)]
                },
                rightAligned: [4, 5, 6]).map { "  " + $0 }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `transform` of 0..<count, computed on all cores, in index order.
func concurrentMap<T: Sendable>(count: Int, _ transform: @Sendable (Int) -> T) -> [T] {
    let results = ConcurrentResults<T>(count)
    DispatchQueue.concurrentPerform(iterations: count) { index in
        results.set(index, transform(index))
    }
    return results.values.map { $0! }
}

/// Slots for results computed on several threads, written under a lock.
private final class ConcurrentResults<T>: @unchecked Sendable {
    private(set) var values: [T?]
    private let lock = NSLock()

    init(_ count: Int) { values = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: T) { lock.withLock { values[index] = value } }
}

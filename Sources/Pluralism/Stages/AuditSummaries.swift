import Corpus
import Foundation

/// The per-run numbers of docs/audit.md (`audit_summary`), computed from the per-item rows
/// and the stored syntheses and distributions, each beside a trivial baseline where one
/// applies.
enum AuditSummaries {
    static func compute(contents: AuditedRun, audits: [AuditRecord]) -> [AuditSummaryRecord] {
        var rows: [AuditSummaryRecord] = []
        let runID = contents.runID
        func add(_ method: String, _ metric: String, _ subject: String, _ value: Double?, count: Int,
                 baseline: Double? = nil, evidence: [String: JSON] = [:]) {
            rows.append(AuditSummaryRecord(runID: runID, method: method, metric: metric, subject: subject, value: value,
                                           count: count, baseline: baseline, evidenceJSON: JSON.object(evidence).canonical))
        }
        let byMethod = Dictionary(grouping: audits, by: \.method)
        for method in byMethod.keys.sorted() {
            let methodRows = byMethod[method]!
            func metric(_ name: String) -> [AuditRecord] { methodRows.filter { $0.metric == name } }

            for name in ["faithfulness", "value_coverage", "mix_faithfulness"] where !metric(name).isEmpty {
                let scored = metric(name).compactMap(\.score)
                add(method, name, "", mean(scored), count: scored.count, evidence: ["unscored": .integer(Int64(metric(name).count - scored.count))])
            }
            if !metric("value_coverage").isEmpty {
                let covered = metric("value_coverage").filter { flag($0, "covered") }.count
                add(method, "value_coverage_rate", "", share(covered, of: metric("value_coverage").count), count: metric("value_coverage").count)
            }

            let representation = Dictionary(grouping: metric("representation"), by: \.community)
            for community in representation.keys.sorted() {
                let communityRows = representation[community]!
                let scored = communityRows.compactMap(\.score)
                // Multiple-choice rows carry what a uniform answer would score: the baseline.
                let uniform = communityRows.compactMap { decode(Flags.self, $0)?.uniformScore }
                let comparable = uniform.count == communityRows.count
                add(method, "representation", community, mean(scored), count: scored.count,
                    baseline: comparable ? mean(uniform) : nil)
                let represented = communityRows.filter { flag($0, "represented") }.count
                let uniformRepresented = communityRows.filter { decode(Flags.self, $0)?.uniformRepresented == true }.count
                add(method, "representation_rate", community, share(represented, of: communityRows.count), count: communityRows.count,
                    baseline: comparable ? share(uniformRepresented, of: communityRows.count) : nil)
            }

            let steering = metric("steering_correct").compactMap { row -> (gold: String, predicted: String, labels: [String])? in
                guard let evidence = decode(SteeringEvidence.self, row) else { return nil }
                return (evidence.options[evidence.gold], evidence.options[evidence.predicted], evidence.options)
            }
            if !steering.isEmpty { addSteering(method, steering, add: add) }

            let js = metric("js_distance").compactMap { row in decode(DistributionEvidence.self, row).map { (row, $0) } }
            let mostLikely = Dictionary(uniqueKeysWithValues: metric("most_likely_correct").map { ($0.itemID, $0.score ?? 0) })
            let populations = [""] + Set(js.compactMap { $0.1.population }).sorted()
            for population in populations {
                let members = js.filter { population.isEmpty || $0.1.population == population }
                guard !members.isEmpty else { continue }
                add(method, "js_distance", population, mean(members.compactMap { $0.0.score }), count: members.count,
                    baseline: mean(members.map { $0.1.uniformJS }))
                let correct = members.map { mostLikely[$0.0.itemID] ?? 0 }
                add(method, "most_likely_correct", population, mean(correct), count: members.count,
                    baseline: mean(members.map { 1 / Double($0.1.gold.count) }))
            }
        }

        for method in Set(contents.syntheses.map(\.method)).sorted() {
            let selections = contents.syntheses.filter { $0.method == method && $0.selectionParsed != nil }
            if !selections.isEmpty {
                add(method, "selection_fallbacks", "", Double(selections.filter { $0.selectionParsed == false }.count), count: selections.count)
            }
            // Distributions read from the model: the distributional mode's parts, every other
            // method's single distribution (the distributional mix is computed, not read).
            let read = contents.syntheses.filter { $0.method == method }.flatMap { contents.distributions($0.itemID, method) }
                .filter { method != Method.distributional.rawValue || $0.community != "" }
            if !read.isEmpty {
                add(method, "distribution_fallbacks", "", Double(read.filter(\.fallback).count), count: read.count)
                add(method, "covered_mass", "", mean(read.map(\.coveredMass)), count: read.count)
            }
        }
        addOrderBias(OrderBiasReport(contents: contents), add: add)
        return rows.sorted { ($0.method, $0.metric, $0.subject) < ($1.method, $1.metric, $1.subject) }
    }

    /// The share of choices at each position before and after debiasing (`OrderBias`), each
    /// beside a uniform choice's share, and the JS distance of the configuration-order read.
    private static func addOrderBias(_ report: OrderBiasReport,
                                     add: (String, String, String, Double?, Int, Double?, [String: JSON]) -> Void) {
        for entry in report.methods {
            for (kind, views) in [(OrderBias.Kind.selection, entry.selection), (.answer, entry.answer)] {
                for view in OrderBias.View.allCases {
                    guard let shares = views[view], shares.count > 0 else { continue }
                    for (position, share) in shares.shares.enumerated() {
                        let subject = kind == .selection ? "\(position + 1)" : Prompts.optionLetters[position]
                        add(entry.method, "\(kind.rawValue)_position_\(view.rawValue)", subject, share, shares.count,
                            shares.uniform[position], [:])
                    }
                }
            }
            if entry.jsCount > 0 {
                add(entry.method, "js_distance_before", "", entry.jsBefore, entry.jsCount, entry.jsUniform, [:])
            }
        }
    }

    /// Accuracy, balanced accuracy and macro-F1 over option labels (the classes), with the
    /// majority class as baseline; the 2-way macro-F1 without "either" when items offer it.
    private static func addSteering(_ method: String, _ pairs: [(gold: String, predicted: String, labels: [String])],
                                    add: (String, String, String, Double?, Int, Double?, [String: JSON]) -> Void) {
        var labels: [String] = []
        for pair in pairs { for label in pair.labels where !labels.contains(label) { labels.append(label) } }
        let index = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($1, $0) })
        let matrix = Classification(classes: labels.count, pairs: pairs.map { (index[$0.gold]!, index[$0.predicted]!) })
        let baseline = matrix.majorityBaseline
        let evidence: [String: JSON] = [
            "labels": .array(labels.map(JSON.string)),
            "confusion": .array(matrix.counts.map { .array($0.map { .integer(Int64($0)) }) }),
            "majority_class": matrix.majorityClass.map { .string(labels[$0]) } ?? .null,
        ]
        add(method, "accuracy", "", matrix.accuracy, pairs.count, baseline.accuracy, evidence)
        add(method, "balanced_accuracy", "", matrix.balancedAccuracy, pairs.count, baseline.balancedAccuracy, evidence)
        add(method, "macro_f1", "", matrix.macroF1, pairs.count, baseline.macroF1, evidence)

        guard let either = labels.firstIndex(where: { $0.lowercased() == "either" }) else { return }
        let twoWay = pairs.filter { $0.gold.lowercased() != "either" }
        guard !twoWay.isEmpty else { return }
        let binary = Classification(classes: labels.count, pairs: twoWay.map { (index[$0.gold]!, index[$0.predicted]!) })
        let kept = labels.indices.filter { $0 != either }
        add(method, "macro_f1_binary", "", binary.macroF1(labels: kept), twoWay.count,
            binary.majorityBaseline.macroF1(labels: kept), ["labels": .array(kept.map { .string(labels[$0]) })])
    }

    private struct SteeringEvidence: Decodable {
        var predicted: Int
        var gold: Int
        var options: [String]
    }

    private struct DistributionEvidence: Decodable {
        var gold: [Double]
        var population: String?
        var uniformJS: Double

        enum CodingKeys: String, CodingKey {
            case gold, population
            case uniformJS = "uniform_js"
        }
    }

    private struct Flags: Decodable {
        var represented: Bool?
        var covered: Bool?
        var uniformScore: Double?
        var uniformRepresented: Bool?

        enum CodingKeys: String, CodingKey {
            case represented, covered
            case uniformScore = "uniform_score"
            case uniformRepresented = "uniform_represented"
        }
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ row: AuditRecord) -> T? {
        try? JSONDecoder().decode(T.self, from: Data(row.evidenceJSON.utf8))
    }

    private static func flag(_ row: AuditRecord, _ name: String) -> Bool {
        guard let flags = decode(Flags.self, row) else { return false }
        return (name == "covered" ? flags.covered : flags.represented) ?? false
    }

    static func mean(_ values: [Double]) -> Double? {
        values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    static func share(_ count: Int, of total: Int) -> Double? {
        total > 0 ? Double(count) / Double(total) : nil
    }
}

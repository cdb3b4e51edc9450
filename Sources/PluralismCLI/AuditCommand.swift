import ArgumentParser
import Corpus
import Foundation
import Pluralism
import Report

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Score every answer for faithfulness and coverage, from the corpus alone.",
        discussion: """
        For each answer of the run: how many of its sentences are supported by the comments \
        in its prompt (faithfulness), how strongly each community's comment shows in it \
        (representation; baselines included, for comparison), how well Overton answers \
        cover the item's reference values, steering accuracy against gold labels, and the \
        Jensen–Shannon distance of answer distributions to gold ones. Every score is stored \
        with its evidence (the sentence pairs behind it), and per-run summaries are stored \
        beside a trivial baseline's score. docs/audit.md defines each metric.

        No community or base model is called. The scorer is the embedded sentence encoder \
        (all-MiniLM-L6-v2) unless the config's `audit` block chooses a judge model, whose \
        calls go through the call archive. Auditing again changes nothing; after changing \
        the scorer or a threshold it re-scores the run.

        Examples:
          pluralism audit
          pluralism audit --config my/run.json --corpus out/corpus.sqlite

        \(ExitStatus.helpText)
        """)

    @OptionGroup var options: RunOptions

    func run() async throws {
        do {
            let (context, _, _) = try options.prepare()
            let report = try await Pipeline.stage(context, Stages.audit)
            print(describe(report))
            print(AuditTable.render(try context.corpus.auditSummaries(runID: context.runID)))
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}

/// The audit summary as an aligned table: one row per method, each score beside its trivial
/// baseline where one applies, and the share of choices at the first position (selections)
/// and of option A (answers) before and after debiasing.
enum AuditTable {
    static func render(_ summaries: [AuditSummaryRecord]) -> String {
        guard !summaries.isEmpty else { return "no audit scores yet" }
        let methods = Method.allCases.map(\.rawValue).filter { method in summaries.contains { $0.method == method } }
        func value(_ method: String, _ metric: String) -> AuditSummaryRecord? {
            summaries.first { $0.method == method && $0.metric == metric && $0.subject == "" }
        }
        func number(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "–" }
        func withBaseline(_ record: AuditSummaryRecord?) -> String {
            guard let record else { return "" }
            return number(record.value) + (record.baseline.map { " (" + number($0) + ")" } ?? "")
        }
        /// "before→after (uniform)" for a position metric's first position.
        func shift(_ method: String, _ metric: String, _ subject: String) -> String {
            let at = { (view: String) in summaries.first { $0.method == method && $0.metric == "\(metric)_\(view)" && $0.subject == subject } }
            guard let before = at("before"), let after = at("after") else { return "" }
            return number(before.value) + "→" + number(after.value) + (after.baseline.map { " (" + number($0) + ")" } ?? "")
        }
        let header = ["method", "faithful", "values covered", "represented (uniform)", "accuracy (majority)", "JS dist (uniform)", "fallbacks",
                      "1st chosen (uniform)", "A chosen (uniform)"]
        var rows = [header]
        for method in methods {
            let rateRows = summaries.filter { $0.method == method && $0.metric == "representation_rate" }
            let rates = rateRows.compactMap(\.value)
            let uniformRates = rateRows.compactMap(\.baseline)
            let fallbacks = (value(method, "selection_fallbacks")?.value ?? 0) + (value(method, "distribution_fallbacks")?.value ?? 0)
            let counted = (value(method, "selection_fallbacks")?.count ?? 0) + (value(method, "distribution_fallbacks")?.count ?? 0)
            rows.append([
                method,
                number(value(method, "faithfulness")?.value).replacingOccurrences(of: "–", with: ""),
                value(method, "value_coverage_rate").map { number($0.value) } ?? "",
                rates.isEmpty ? "" : number(rates.reduce(0, +) / Double(rates.count))
                    + (uniformRates.count == rateRows.count ? " (" + number(uniformRates.reduce(0, +) / Double(uniformRates.count)) + ")" : ""),
                withBaseline(value(method, "accuracy")),
                withBaseline(value(method, "js_distance")),
                counted > 0 ? "\(Int(fallbacks))/\(counted)" : "",
                shift(method, "selection_position", "1"),
                shift(method, "answer_position", "A"),
            ])
        }
        return TextTable.render(header: rows[0], rows: Array(rows.dropFirst())).joined(separator: "\n")
    }
}

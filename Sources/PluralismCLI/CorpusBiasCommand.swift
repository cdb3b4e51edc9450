import ArgumentParser
import Corpus
import Foundation
import Pluralism
import Report

extension CorpusCommand {
    struct Bias: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the order bias of a run's choices, before and after debiasing.",
            discussion: """
            From the corpus alone (no model, no audit needed), per method:
            - selections (steerable comments, MoE experts): the share chosen at position 1;
            - multiple-choice answers: the share that are option A;
            each before debiasing (the configuration's order alone, as the paper reads it), \
            over every presented rotation (the model's own preference for a position), and \
            after (the debiased choice), beside what a uniform choice would give;
            - the mean Jensen–Shannon distance of the answers to the gold distributions, \
            before and after, beside the uniform guess's.

            Example:
              pluralism corpus bias runs/default/corpus.sqlite

            \(ExitStatus.helpText)
            """)

        @Argument(help: ArgumentHelp("The corpus file.", valueName: "path"))
        var path: String

        @Option(name: .long, help: ArgumentHelp("The run (default: the most recently created).", valueName: "id"))
        var run: String?

        @Flag(name: .long, help: "Print the numbers as JSON.")
        var json = false

        func run() async throws {
            do {
                let corpus = try Corpus.open(path: path, readOnly: true)
                let record = try CorpusLocation.run(in: corpus, id: run)
                let report = try OrderBiasReport(corpus: corpus, runID: record.id)
                print(json ? BiasTable.json(report) : BiasTable.render(report, debias: BiasTable.debiasSetting(record.configJSON)))
            } catch {
                throw ExitStatus.fail(error)
            }
        }
    }
}

/// `pluralism corpus bias` output.
enum BiasTable {
    static func render(_ report: OrderBiasReport, debias: String) -> String {
        var sections = ["run \(report.runID), debias \(debias)"]
        func number(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "–" }
        func shares(_ title: String, _ pick: (OrderBiasReport.Method) -> [OrderBias.View: OrderBias.Shares]) {
            var rows = [["method", "choices", "before", "presented", "after", "uniform"]]
            for entry in report.methods {
                let views = pick(entry)
                guard let after = views[.after], after.count > 0 else { continue }
                rows.append([entry.method, "\(after.count)", number(views[.before]?.shares.first),
                             number(views[.presented]?.shares.first), number(after.shares.first), number(after.uniform.first)])
            }
            if rows.count > 1 { sections.append(title + "\n" + aligned(rows)) }
        }
        shares("Selections: share at position 1", \.selection)
        shares("Multiple-choice answers: share of option A", \.answer)
        var rows = [["method", "items", "before", "after", "uniform"]]
        for entry in report.methods where entry.jsCount > 0 {
            rows.append([entry.method, "\(entry.jsCount)", number(entry.jsBefore), number(entry.jsAfter), number(entry.jsUniform)])
        }
        if rows.count > 1 { sections.append("JS distance to the gold distributions (lower is closer)\n" + aligned(rows)) }
        return sections.joined(separator: "\n\n")
    }

    static func json(_ report: OrderBiasReport) -> String {
        func views(_ views: [OrderBias.View: OrderBias.Shares]) -> JSON {
            .object(Dictionary(uniqueKeysWithValues: views.map { view, shares in
                (view.rawValue, JSON.object([
                    "count": .integer(Int64(shares.count)),
                    "shares": .array(shares.shares.map(JSON.double)),
                    "uniform": .array(shares.uniform.map(JSON.double)),
                ]))
            }))
        }
        let methods: [JSON] = report.methods.map { entry in
            .object([
                "method": .string(entry.method),
                "selection": views(entry.selection),
                "answer": views(entry.answer),
                "js": .object([
                    "items": .integer(Int64(entry.jsCount)),
                    "before": entry.jsBefore.map(JSON.double) ?? .null,
                    "after": entry.jsAfter.map(JSON.double) ?? .null,
                    "uniform": entry.jsUniform.map(JSON.double) ?? .null,
                ]),
            ])
        }
        return JSON.object(["run": .string(report.runID), "methods": .array(methods)]).canonical
    }

    /// The run's `debias` setting as its manifest recorded it ("not recorded" for runs made
    /// before the setting existed, which read every choice once, in configuration order).
    static func debiasSetting(_ configJSON: String) -> String {
        guard let config = try? JSONSerialization.jsonObject(with: Data(configJSON.utf8)) as? [String: Any],
              let debias = config["debias"] as? [String: Any] else { return "not recorded (a single order)" }
        return "rotations \(debias["rotations"].map { "\($0)" } ?? "?"), passages \(debias["passages"].map { "\($0)" } ?? "?")"
    }

    private static func aligned(_ rows: [[String]]) -> String {
        TextTable.render(header: rows[0], rows: Array(rows.dropFirst())).joined(separator: "\n")
    }
}

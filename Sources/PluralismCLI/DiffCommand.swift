import ArgumentParser
import Corpus
import Foundation
import Pluralism
import Report

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Compare two runs item by item, with paired bootstrap confidence intervals.",
        discussion: """
        A and B each name a run: an id or a unique prefix of one, a run name (its latest \
        run), latest, or previous (the run created before the latest). Both come from the \
        same corpus unless --corpus-b names another file for B.

        Items are matched by id; a matched item whose content hash differs is reported as \
        changed. For every community and method the command reports the change in the \
        representation rate (the audit's per-item verdicts), and for every method and metric \
        the change in its mean, each paired over the items both runs scored, with a 95% \
        paired bootstrap interval (seeded: the same runs and seed give the same interval). \
        A community one run does not have counts as not represented there, so adding a \
        community shows its gain from zero. Then the largest per-item changes.

        Example: add a community to the config, run again, and compare:
          pluralism run && pluralism diff previous latest
          pluralism diff 3fa2 9be1 --json > diff.json
          pluralism diff latest latest --corpus-b other/corpus.sqlite --out /tmp/diff-site

        \(ExitStatus.helpText)
        """)

    @Argument(help: ArgumentHelp("Run A (the baseline of the comparison).", valueName: "A"))
    var a: String

    @Argument(help: ArgumentHelp("Run B (compared with A).", valueName: "B"))
    var b: String

    @OptionGroup var source: ReportSource

    @Option(name: .customLong("corpus-b"), help: ArgumentHelp("The corpus of run B (default: the same as A).", valueName: "file"))
    var corpusB: String?

    @Flag(name: .long, help: "Print the comparison as JSON instead of tables.")
    var json = false

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Per-item changes to print.", valueName: "n"))
    var top = 10

    @Option(name: .long, help: ArgumentHelp("Also write a one-page site with the comparison into this folder.", valueName: "dir"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("The templates folder for --out (default: templates/).", valueName: "dir"))
    var templates: String?

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Bootstrap resamples.", valueName: "n"))
    var resamples = PairedBootstrap.defaultResamples

    @Option(name: .long, parsing: .unconditional, help: ArgumentHelp("Bootstrap seed.", valueName: "n"))
    var seed: UInt64 = 0

    func validate() throws {
        if resamples < 1 { throw ValidationError("--resamples must be at least 1") }
        if top < 0 { throw ValidationError("--top must not be negative") }
    }

    func run() async throws {
        do {
            let first = try Corpus.open(path: try source.corpusPath(), readOnly: true)
            let second = try corpusB.map { try Corpus.open(path: $0, readOnly: true) } ?? first
            let diff = try RunDiff.compute(
                a: RunSource(corpus: first, run: try RunSelection.resolve(a, in: first)),
                b: RunSource(corpus: second, run: try RunSelection.resolve(b, in: second)),
                resamples: resamples, seed: seed)
            if json {
                print(Self.json(diff).canonical)
            } else {
                print(diff.text(top: top), terminator: "")
            }
            if let out {
                let folder = try renderDiffSite(diff, out: out, templates: templates)
                note("wrote the comparison to \(folder)/index.html")
            }
        } catch {
            throw ExitStatus.fail(error)
        }
    }

    /// The diff for machines: every comparison, item list and per-item change.
    static func json(_ diff: RunDiff) -> JSON {
        func number(_ value: Double?) -> JSON { value.map(JSON.double) ?? .null }
        func side(_ side: RunDiff.Side) -> JSON {
            .object(["run": .string(side.runID), "name": .string(side.name), "created_at": .string(side.createdAt),
                     "corpus": .string(side.corpus), "items": .integer(Int64(side.items))])
        }
        func change(_ change: RunDiff.Change) -> JSON {
            var fields: [String: JSON] = [
                "method": .string(change.method), "metric": .string(change.metric), "a": .double(change.meanA),
                "b": .double(change.meanB), "change": .double(change.change), "items": .integer(Int64(change.pairs)),
                "interval": change.interval.map { .array([.double($0.low), .double($0.high)]) } ?? .null,
            ]
            if !change.community.isEmpty { fields["community"] = .string(change.community) }
            if !change.note.isEmpty { fields["note"] = .string(change.note) }
            return .object(fields)
        }
        return .object([
            "a": side(diff.a), "b": side(diff.b),
            "bootstrap": .object(["resamples": .integer(Int64(diff.resamples)), "seed": .unsigned(diff.seed), "level": .double(0.95)]),
            "items": .object([
                "matched": .integer(Int64(diff.matched.count)), "added": .array(diff.added.map(JSON.string)),
                "removed": .array(diff.removed.map(JSON.string)), "changed": .array(diff.changed.map(JSON.string)),
            ]),
            "representation_rate": .array(diff.representation.map(change)),
            "metrics": .array(diff.metrics.map(change)),
            "item_changes": .array(diff.itemChanges.map { item in
                .object(["item": .string(item.itemID), "method": .string(item.method), "metric": .string(item.metric),
                         "community": .string(item.community), "a": .double(item.a), "b": .double(item.b), "change": .double(item.change)])
            }),
        ])
    }
}

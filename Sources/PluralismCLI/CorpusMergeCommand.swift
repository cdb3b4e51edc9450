import ArgumentParser
import Corpus
import Foundation
import Pluralism

extension CorpusCommand {
    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge the corpora of one run's shards into a new corpus.",
            discussion: """
            Each machine of a cluster runs `pluralism run --shard K/N` into a corpus of its \
            own; this joins them: the run manifest, items, communities, comments, syntheses, \
            distributions and per-answer audits, and every archived call. The merged run's \
            digest equals the digest of the same run done on one machine. Then run the \
            pipeline on the merged corpus (`pluralism run --corpus OUT --replay-only`): it \
            replays everything, does what a missing shard left undone (without \
            --replay-only), audits the whole run and renders the report.

            Refused, writing nothing: inputs holding different runs (a changed config, \
            input or tool version is a different run id), an OUT that exists, and \
            conflicts — the same key with different content in two inputs (say, one call \
            answered differently by two servers); every conflict is listed. Exit status 65 \
            for different runs and conflicts, 73 when OUT exists.

            Examples:
              pluralism corpus merge runs/merged.sqlite shards/*.sqlite
              pluralism corpus merge out.sqlite a.sqlite b.sqlite --run 3f2a9c0d1e4b5a67
                  inputs holding several runs: merge this one

            \(ExitStatus.helpText)
            """)

        @Argument(help: ArgumentHelp("The merged corpus to create (must not exist).", valueName: "out"))
        var output: String

        @Argument(help: ArgumentHelp("The shards' corpora.", valueName: "in"))
        var inputs: [String]

        @Option(name: .long, help: ArgumentHelp("The run to merge, when the inputs hold several.", valueName: "id"))
        var run: String?

        func validate() throws {
            if inputs.isEmpty { throw ValidationError("name at least one input corpus after OUT") }
        }

        func run() async throws {
            do {
                let report = try Corpus.merge(inputs, into: output, runID: run)
                print("merged run \(report.runID) from \(report.inputs.count) corpora into \(output)")
                for input in report.inputs {
                    let added = ["item", "comment", "synthesis", "distribution", "audit", "call"]
                        .map { "\($0) \(input.added[$0] ?? 0)" }.joined(separator: ", ")
                    print("  \(input.path): added \(added)")
                }
                let merged = try Corpus.open(path: output, readOnly: true)
                let counts = try merged.counts(runID: report.runID)
                print("  now: \(counts.items) items, \(counts.comments) comments, \(counts.syntheses) syntheses")
                print("  digest: \(try merged.digest(runID: report.runID))")
                print("  next: pluralism run --config <the run's config> --corpus \(output) --replay-only")
            } catch {
                throw ExitStatus.fail(error)
            }
        }
    }
}

import ArgumentParser
import Corpus
import Foundation
import Pluralism

struct CorpusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "corpus",
        abstract: "Inspect a corpus file (its runs, their content digests, the order bias of their choices) or merge shards.",
        subcommands: [Digest.self, Runs.self, Bias.self, Merge.self])

    struct Digest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the sha256 over a run's content tables, in canonical order.",
            discussion: """
            Two fresh runs with the same inputs, config and seed print the same digest, \
            whatever the thread count or batch size. Timestamps and call durations are not \
            content and do not enter it.

            Example:
              pluralism corpus digest runs/default/corpus.sqlite

            \(ExitStatus.helpText)
            """)

        @Argument(help: ArgumentHelp("The corpus file.", valueName: "path"))
        var path: String

        @Option(name: .long, help: ArgumentHelp("The run (default: the most recently created).", valueName: "id"))
        var run: String?

        func run() async throws {
            do {
                let corpus = try Corpus.open(path: path, readOnly: true)
                print(try corpus.digest(runID: CorpusLocation.run(in: corpus, id: run).id))
            } catch {
                throw ExitStatus.fail(error)
            }
        }
    }

    struct Runs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the runs in a corpus, oldest first.",
            discussion: """
            Example:
              pluralism corpus runs runs/default/corpus.sqlite

            \(ExitStatus.helpText)
            """)

        @Argument(help: ArgumentHelp("The corpus file.", valueName: "path"))
        var path: String

        func run() async throws {
            do {
                let corpus = try Corpus.open(path: path, readOnly: true)
                let runs = try corpus.runs()
                if runs.isEmpty { print("no runs"); return }
                print(["run", "name", "status", "created", "items", "comments", "syntheses", "tool"].joined(separator: "\t"))
                for run in runs {
                    let counts = try corpus.counts(runID: run.id)
                    print([run.id, run.name, run.status.rawValue, run.createdAt, "\(counts.items)", "\(counts.comments)",
                           "\(counts.syntheses)", run.toolVersion].joined(separator: "\t"))
                }
                print("archived calls: \(try corpus.archivedCallCount())")
            } catch {
                throw ExitStatus.fail(error)
            }
        }
    }
}

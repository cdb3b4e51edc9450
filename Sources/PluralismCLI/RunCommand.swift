import ArgumentParser
import Foundation
import Pluralism
import Report

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the whole pipeline: ingest, comment, synthesize, audit, then render the report site.",
        discussion: """
        Validates the inputs, stores the run in the corpus, has every community comment on \
        every item of its pool, and has the base model synthesize each item with every \
        method of the config, then audits every answer (`pluralism help audit`). Every model call goes through the corpus's call archive: \
        running again does no finished work twice, an interrupted run resumes where it \
        stopped, and a changed config (say, one more community) is a new run in the same \
        corpus whose unchanged calls replay from the archive. Then every run of the corpus is \
        rendered as a static HTML site (`pluralism report`), comparisons between consecutive \
        runs of one configuration included.

        Examples:
          pluralism run
              inputs/run.json into runs/<config name>/corpus.sqlite
          pluralism run --config my/run.json --corpus out/corpus.sqlite
          pluralism run --replay-only --quiet
              reproduce a run from the archive alone (CI, audits)
          pluralism run --shard 2/8 --corpus shards/2.sqlite
              machine 2 of 8: comments and syntheses of the items whose id hashes
              to shard 2, in a corpus of its own (no audit, no report); then
              `pluralism corpus merge` joins the shards and `pluralism run --corpus
              MERGED --replay-only` audits and reports the whole run

        \(ExitStatus.helpText)
        """)

    @OptionGroup var options: RunOptions

    @Option(name: .long, help: ArgumentHelp("Where the report site goes.", valueName: "dir"))
    var site = "site"

    @Flag(name: .long, help: "Do not render the report site.")
    var noReport = false

    @Option(name: .long, help: ArgumentHelp("Do only shard K of N (1 ≤ K ≤ N) of the items, chosen by a hash of their ids.", valueName: "K/N"),
            transform: { try Shard(parsing: $0) })
    var shard: Shard?

    func run() async throws {
        do {
            if !noReport { try OutputPath.checkFolder(site, option: "--site") }
            let (context, path, loader) = try options.prepare(shard: shard)
            let summary = try await Pipeline.run(context)
            print("run \(summary.runID) (\(context.config.name)) finished in \(formatDuration(summary.seconds))")
            print("  items \(summary.items), comments \(summary.comments), syntheses \(summary.syntheses)")
            print("  comments cut at max_tokens: \(summary.truncatedComments) of \(summary.comments)")
            print("  model calls: \(summary.freshCalls) fresh, \(summary.replayedCalls) replayed from the archive")
            for report in summary.stages { print("  " + describe(report)) }
            for line in describePrefixReuse(loader) { print("  " + line) }
            if let shard {
                print("  shard \(shard): \(context.workItems.count) of \(summary.items) items; corpus: \(path)")
                print("  merge the shards with: pluralism corpus merge OUT <every shard's corpus>")
                return
            }
            print(AuditTable.render(try context.corpus.auditSummaries(runID: summary.runID)))
            print("  corpus: \(path)  (digest: pluralism corpus digest \(path) --run \(summary.runID))")
            if !noReport {
                // Runs not audited yet render too: their pages say so.
                let report = try renderSite(corpus: context.corpus, runIDs: nil, templates: nil, out: site)
                print("  report: \(report.folder)/index.html (\(report.pages) pages in \(formatDuration(report.seconds)))")
            }
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}

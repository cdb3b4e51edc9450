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

        \(ExitStatus.helpText)
        """)

    @OptionGroup var options: RunOptions

    @Option(name: .long, help: ArgumentHelp("Where the report site goes.", valueName: "dir"))
    var site = "site"

    @Flag(name: .long, help: "Do not render the report site.")
    var noReport = false

    func run() async throws {
        do {
            if !noReport { try OutputPath.checkFolder(site, option: "--site") }
            let (context, path) = try options.prepare()
            let summary = try await Pipeline.run(context)
            print("run \(summary.runID) (\(context.config.name)) finished in \(formatDuration(summary.seconds))")
            print("  items \(summary.items), comments \(summary.comments), syntheses \(summary.syntheses)")
            print("  model calls: \(summary.freshCalls) fresh, \(summary.replayedCalls) replayed from the archive")
            for report in summary.stages { print("  " + describe(report)) }
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

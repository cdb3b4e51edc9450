import ArgumentParser
import Corpus
import Foundation
import Pluralism
import Report

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render the corpus as a static HTML site: runs, items, communities, comparisons.",
        discussion: """
        Writes one folder of HTML pages that work opened from disk (no server, no network, no \
        JavaScript): an index of the runs with their manifests and headline numbers; per run, \
        the audit's numbers by mode and method beside their trivial baselines, with charts; \
        one page per item (comments, each method's answer with every sentence marked by the \
        community that supports it, scores, distributions against gold, the archived calls); \
        one page per community; and, for each run with an earlier run of the same name, a \
        comparison with paired bootstrap intervals.

        Pages are built from the HTML templates in templates/ (or --templates DIR), filled as \
        a DOM by libxml2: text from inputs and models only ever becomes text. The same corpus \
        gives byte-identical pages. The site is written beside --out and swapped in when \
        complete, so a failed render leaves an earlier site as it was; --out must be absent, \
        empty or a site this command wrote.

        Examples:
          pluralism report
              every run of runs/<config name>/corpus.sqlite into site/
          pluralism report --corpus runs/default/corpus.sqlite --run latest --out /tmp/site
          pluralism report --templates my-templates
              render with your own copies of the templates

        \(ExitStatus.helpText)
        """)

    @OptionGroup var source: ReportSource

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp(
        "A run to include: an id or unique prefix, a run name, latest or previous (repeatable; default: every run).",
        valueName: "run"))
    var run: [String] = []

    @OptionGroup var site: SiteOutputOptions

    @Flag(name: .long, help: "No comparison pages between consecutive runs of the same name.")
    var noCompare = false

    func run() async throws {
        do {
            let corpus = try Corpus.open(path: try source.corpusPath(), readOnly: true)
            let ids = try run.isEmpty ? nil : run.map { try RunSelection.resolve($0, in: corpus).id }
            let summary = try renderSite(corpus: corpus, runIDs: ids, out: site.out, options: site.options(compareRuns: !noCompare))
            print("wrote \(summary.pages) pages for \(summary.runs) runs (\(summary.items) items) to \(summary.folder) "
                + "in \(formatDuration(summary.seconds)); open \(summary.folder)/index.html")
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}

/// Which corpus a read-only report command reads.
struct ReportSource: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The corpus file (default: runs/<config name>/corpus.sqlite).", valueName: "file"))
    var corpus: String?

    @Option(name: .long, help: ArgumentHelp("Names the default corpus when --corpus is not given.", valueName: "file"))
    var config = "inputs/run.json"

    func corpusPath() throws -> String {
        try corpus ?? CorpusLocation.defaultPath(runName: InputLoader.load(configPath: config).config.name)
    }
}

/// Where and how a site is rendered: shared by `report` and `diff --out`.
struct SiteOutputOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The site folder (replaced whole when the render succeeds).", valueName: "dir"))
    var out = "site"

    @Option(name: .long, help: ArgumentHelp("The templates folder (default: templates/).", valueName: "dir"))
    var templates: String?

    @Option(name: .long, help: ArgumentHelp("Threads rendering pages (default: all cores). Pages do not depend on it.", valueName: "n"))
    var threads: Int?

    @Option(name: .long, help: ArgumentHelp("Bootstrap resamples of comparisons.", valueName: "n"))
    var resamples = PairedBootstrap.defaultResamples

    @Option(name: .long, help: ArgumentHelp("Bootstrap seed of comparisons.", valueName: "n"))
    var seed: UInt64 = 0

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if resamples < 1 { throw ValidationError("--resamples must be at least 1") }
    }

    func options(compareRuns: Bool = true) -> SiteOptions {
        SiteOptions(templates: templates, workers: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                    resamples: resamples, seed: seed, compareRuns: compareRuns)
    }
}

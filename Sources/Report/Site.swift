import Corpus
import Foundation

/// How a site is rendered.
public struct SiteOptions: Sendable {
    /// The templates folder (nil: `TemplateSet.defaultFolder()`).
    public var templates: String?
    /// Threads rendering pages (default: all cores). The pages do not depend on it.
    public var workers: Int
    /// Bootstrap resamples and seed of the comparison pages.
    public var resamples: Int
    public var seed: UInt64
    /// Whether each run gets a comparison with the previous selected run of the same name.
    public var compareRuns: Bool

    public init(templates: String? = nil, workers: Int = ProcessInfo.processInfo.activeProcessorCount,
                resamples: Int = PairedBootstrap.defaultResamples, seed: UInt64 = 0, compareRuns: Bool = true) {
        self.templates = templates
        self.workers = max(1, workers)
        self.resamples = resamples
        self.seed = seed
        self.compareRuns = compareRuns
    }
}

/// What a render wrote.
public struct SiteSummary: Sendable {
    public var folder: String
    public var pages: Int
    public var runs: Int
    public var items: Int
    public var seconds: Double
}

/// Renders the report site for the given runs of a corpus (all runs when `runIDs` is nil)
/// into `out`, using the templates in `templates` (nil: the built-in `templates/`).
///
/// The site is written into a temporary folder beside `out` and swapped in when complete:
/// a failed render leaves an earlier site as it was. The same corpus and templates give
/// byte-identical pages. A run without audit rows renders too; its pages say it is not
/// audited yet.
@discardableResult
public func renderSite(corpus: Corpus, runIDs: [String]? = nil, templates: String? = nil, out: String = "site") throws -> SiteSummary {
    try renderSite(corpus: corpus, runIDs: runIDs, out: out, options: SiteOptions(templates: templates))
}

/// `renderSite` with every option.
@discardableResult
public func renderSite(corpus: Corpus, runIDs: [String]?, out: String, options: SiteOptions) throws -> SiteSummary {
    let started = Date()
    let templates = try TemplateSet(folder: options.templates ?? TemplateSet.defaultFolder())
    let all = try corpus.runs()
    let runs: [RunRecord]
    if let runIDs {
        for id in runIDs where !all.contains(where: { $0.id == id }) { throw CorpusError.unknownRun(id: id) }
        runs = all.filter { runIDs.contains($0.id) }
    } else {
        runs = all
    }
    let overviews = try runs.map { try RunOverview(corpus: corpus, runID: $0.id) }
    let writer = try SiteWriter(destination: out)
    do {
        let renderer = SiteRenderer(corpus: corpus, templates: templates, overviews: overviews, writer: writer, options: options)
        try renderer.render()
        try writer.commit()
    } catch {
        writer.discard()
        throw error
    }
    return SiteSummary(folder: writer.destination, pages: writer.pageCount, runs: runs.count,
                       items: overviews.reduce(0) { $0 + $1.items.count }, seconds: Date().timeIntervalSince(started))
}

/// One render: the work split into units that threads take in turn.
private final class SiteRenderer: @unchecked Sendable {
    let corpus: Corpus
    let templates: TemplateSet
    let overviews: [RunOverview]
    let writer: SiteWriter
    let options: SiteOptions

    /// A slice of one pool's items (one community page's worth): their item pages and that
    /// page of each community of the pool. Or a run's content digest.
    enum Unit {
        case digest(run: Int)
        case itemList(run: Int)
        case slice(run: Int, pool: String, page: Int, firstItem: Int, poolItems: Int, itemIDs: [String])
    }

    private let lock = NSLock()
    private var digests: [String?]
    private var failure: Error?
    private var nextUnit = 0

    init(corpus: Corpus, templates: TemplateSet, overviews: [RunOverview], writer: SiteWriter, options: SiteOptions) {
        self.corpus = corpus
        self.templates = templates
        self.overviews = overviews
        self.writer = writer
        self.options = options
        digests = Array(repeating: nil, count: overviews.count)
    }

    func render() throws {
        let units = plan()
        DispatchQueue.concurrentPerform(iterations: min(options.workers, max(units.count, 1))) { _ in
            // Each thread reads through a connection of its own: one thread's long read (a
            // digest) does not hold up the others, which the shared connection's lock would.
            let reader = (try? Corpus.open(path: corpus.path, readOnly: true)) ?? corpus
            let renderers = (item: templates.item.renderer(), community: templates.community.renderer())
            while true {
                let index: Int? = lock.withLock {
                    guard failure == nil, nextUnit < units.count else { return nil }
                    nextUnit += 1
                    return nextUnit - 1
                }
                guard let index else { return }
                do {
                    try perform(units[index], reading: reader, renderers: renderers)
                } catch {
                    lock.withLock { if failure == nil { failure = error } }
                    return
                }
            }
        }
        if let failure { throw failure }

        var comparisons: [(a: Int, b: Int)] = []
        if options.compareRuns {
            for (index, overview) in overviews.enumerated() {
                if let previous = overviews[..<index].lastIndex(where: { $0.run.name == overview.run.name }) {
                    comparisons.append((previous, index))
                }
            }
        }
        func diffLinks(_ run: Int) -> [(label: String, path: SitePath)] {
            comparisons.compactMap { pair in
                let a = overviews[pair.a].run, b = overviews[pair.b].run
                if pair.b == run { return ("compared with the previous run \(a.id) (\(a.createdAt))", .diff(a.id, b.id)) }
                if pair.a == run { return ("compared with the next run \(b.id) (\(b.createdAt))", .diff(a.id, b.id)) }
                return nil
            }
        }
        for pair in comparisons {
            let a = overviews[pair.a].run, b = overviews[pair.b].run
            let diff = try RunDiff.compute(
                a: RunSource(corpus: corpus, run: a), b: RunSource(corpus: corpus, run: b),
                resamples: options.resamples, seed: options.seed)
            let path = SitePath.diff(a.id, b.id)
            try writer.write(templates.diff.render(DiffPage.slots(diff, at: path, inSite: true)), at: path)
        }
        for (index, overview) in overviews.enumerated() {
            let run = overview.run
            let faithfulness = try corpus.auditScores(runID: run.id, metric: "faithfulness")
            try writer.write(templates.run.render(RunPage.slots(
                overview, digest: digests[index] ?? "", faithfulness: faithfulness, diffs: diffLinks(index))), at: .run(run.id))
        }
        let entries = overviews.enumerated().map { index, overview in
            IndexPage.RunEntry(overview: overview, digest: digests[index] ?? "", diffs: diffLinks(index))
        }
        let corpusName = (corpus.path as NSString).lastPathComponent
        try writer.write(templates.index.render(IndexPage.slots(corpusName: corpusName, runs: entries)), at: .index)
        for asset in templates.assets {
            try writer.copyAsset(from: (templates.folder as NSString).appendingPathComponent(asset), to: .asset(asset))
        }
    }

    /// Digests first (each reads a whole run), then the item lists, then every pool's slices
    /// in item order.
    private func plan() -> [Unit] {
        var units: [Unit] = overviews.indices.map { .digest(run: $0) } + overviews.indices.map { .itemList(run: $0) }
        for (runIndex, overview) in overviews.enumerated() {
            var pools: [String] = []
            var members: [String: [String]] = [:]
            for item in overview.items {
                if members[item.pool] == nil { pools.append(item.pool) }
                members[item.pool, default: []].append(item.id)
            }
            for community in overview.communities where members[community.pool] == nil {
                members[community.pool] = []
                pools.append(community.pool)
            }
            for pool in pools {
                let ids = members[pool] ?? []
                let pages = CommunityPage.pageCount(items: ids.count)
                for page in 1...pages {
                    let first = (page - 1) * CommunityPage.pageSize
                    let slice = Array(ids[min(first, ids.count)..<min(first + CommunityPage.pageSize, ids.count)])
                    units.append(.slice(run: runIndex, pool: pool, page: page, firstItem: first, poolItems: ids.count, itemIDs: slice))
                }
            }
        }
        return units
    }

    private func perform(_ unit: Unit, reading corpus: Corpus,
                         renderers: (item: TemplateRenderer, community: TemplateRenderer)) throws {
        switch unit {
        case .digest(let run):
            let digest = try corpus.digest(runID: overviews[run].run.id)
            lock.withLock { digests[run] = digest }
        case .itemList(let run):
            let overview = overviews[run]
            try writer.write(templates.items.render(ItemsPage.slots(overview)), at: .items(overview.run.id))
        case .slice(let runIndex, let pool, let page, let firstItem, let poolItems, let itemIDs):
            let overview = overviews[runIndex]
            let runID = overview.run.id
            let contents = try corpus.itemContents(runID: runID, itemIDs: itemIDs)
            let calls = try corpus.archivedCalls(keys: contents.flatMap { $0.syntheses.flatMap(\.callKeys) })
            let bundles = contents.map(ItemBundle.init)
            for bundle in bundles {
                let page = renderers.item.render(ItemPage.slots(overview, bundle, calls: calls))
                try writer.write(page, at: .item(runID, bundle.id))
            }
            for community in overview.communities(inPool: pool) {
                let slots = CommunityPage.slots(overview, community: community, page: page, poolItemCount: poolItems,
                                                firstItem: firstItem, bundles: bundles)
                try writer.write(renderers.community.render(slots), at: .community(runID, community.name, page: page))
            }
        }
    }
}

/// Writes a comparison as a site of its own: `index.html` holds the diff page (the two runs
/// may come from different corpora, so items are shown without links), beside the
/// stylesheet. Written and swapped in like `renderSite`. Returns the folder.
@discardableResult
public func renderDiffSite(_ diff: RunDiff, out: String, templates: String? = nil) throws -> String {
    let templates = try TemplateSet(folder: templates ?? TemplateSet.defaultFolder())
    let writer = try SiteWriter(destination: out)
    do {
        try writer.write(templates.diff.render(DiffPage.slots(diff, at: .index, inSite: false)), at: .index)
        for asset in templates.assets {
            try writer.copyAsset(from: (templates.folder as NSString).appendingPathComponent(asset), to: .asset(asset))
        }
        try writer.commit()
    } catch {
        writer.discard()
        throw error
    }
    return writer.destination
}

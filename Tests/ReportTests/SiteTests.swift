import Corpus
import Foundation
@testable import Report
import Testing

/// A corpus with two runs of one configuration (B: one community more, representation
/// better, one item reworded, one added, one removed) and its rendered site.
struct RenderedFixture {
    let folder: TemporaryFolder
    let corpus: Corpus
    let runA: FixtureRun
    let runB: FixtureRun
    let site: String

    init(hostile: String? = nil, audited: Bool = true, workers: Int = 2, configure: (inout FixtureRun) -> Void = { _ in },
         afterWriting: (Corpus) throws -> Void = { _ in }) throws {
        folder = try TemporaryFolder()
        corpus = try Corpus.open(path: folder.file("corpus.sqlite"))
        var a = FixtureRun()
        a.hostile = hostile
        a.audited = audited
        configure(&a)
        var b = a
        b.runID = "run-b"
        b.createdAt = "2026-01-02T00:00:00.000Z"
        b.communities.insert(("centre", "perspective"), at: 2)
        b.representationBias = 0.3
        b.reworded = ["o2"]
        b.overtonItems = a.overtonItems.filter { $0 != "o3" } + ["o4"]
        try a.write(to: corpus)
        try b.write(to: corpus)
        try afterWriting(corpus)
        runA = a
        runB = b
        site = folder.file("site")
        try renderSite(corpus: corpus, runIDs: nil, out: site, options: SiteOptions(templates: builtInTemplates, workers: workers))
    }

    func page(_ path: String) throws -> RenderedPage { try RenderedPage(site: site, path: path) }
}

@Suite struct SiteTests {
    @Test func everyPageParsesWithoutErrors() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let all = try pages(in: fixture.site)
        // index, per run: run page, items, communities, items; one comparison.
        let expected = 1 + 2 * 2 + (4 + 5) + (FixtureRun().items.count + 7) + 1
        #expect(all.count == expected)
        for path in all {
            let page = try fixture.page(path)
            #expect(page.problems.isEmpty, "\(path): \(page.problems)")
            #expect(page.elements(named: "title").count == 1, "\(path)")
            // The template's own attributes survive filling: the stylesheet link and the language.
            let stylesheet = page.elements(named: "link").first { $0.attribute("rel") == "stylesheet" }
            let href = try #require(stylesheet?.attribute("href"), "\(path) links no stylesheet")
            #expect(resolve(href, from: (path as NSString).deletingLastPathComponent) == "style.css")
            #expect(page.elements(named: "html").first?.attribute("lang") == "en")
        }
    }

    @Test func runPageShowsTheAuditSummaryNumbers() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let page = try fixture.page("runs/run-a/index.html")
        let summaries = try fixture.corpus.auditSummaries(runID: "run-a")
        #expect(!summaries.isEmpty)
        var checked = 0
        for summary in summaries {
            let cell: String?
            switch summary.metric {
            case "representation_rate":
                cell = page.cell(row: summary.subject, column: Methods.label(summary.method), tableCaption: "Representation rate")
            case "representation":
                cell = page.cell(row: summary.subject, column: Methods.label(summary.method), tableCaption: "Mean representation")
            case "js_distance":
                cell = page.cell(row: Methods.label(summary.method), column: Format.metric(summary.metric),
                                 sublabel: summary.subject.isEmpty ? "all" : summary.subject)
            default:
                cell = page.cell(row: Methods.label(summary.method), column: Format.metric(summary.metric))
            }
            let shown = try #require(cell, "\(summary.method) \(summary.metric) \(summary.subject) not on the run page")
            #expect(shown.hasPrefix(Format.summaryValue(summary.metric, summary.value) + " n = \(summary.count)"),
                    "\(summary.method) \(summary.metric) '\(summary.subject)': \(shown)")
            if let baseline = summary.baseline {
                #expect(shown.hasSuffix("baseline \(Format.score(baseline))"), "\(shown)")
            } else {
                #expect(!shown.contains("baseline"))
            }
            checked += 1
        }
        #expect(checked == summaries.count)
        // One histogram per method with faithfulness scores, counting them all.
        let faithfulness = try fixture.corpus.auditScores(runID: "run-a", metric: "faithfulness")
        for method in Set(faithfulness.map(\.method)) {
            let count = faithfulness.filter { $0.method == method }.count
            #expect(page.text.contains("\(Methods.label(method)): faithfulness of \(count) answers"))
        }
    }

    @Test func indexShowsEachRunsManifestAndDigest() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let index = try fixture.page("index.html")
        for run in try fixture.corpus.runs() {
            #expect(index.text.contains(run.id))
            #expect(index.text.contains(try fixture.corpus.digest(runID: run.id)))
            #expect(index.text.contains("\(try fixture.corpus.items(runID: run.id).count) items"))
            for community in try fixture.corpus.communities(runID: run.id) { #expect(index.text.contains(community.name)) }
        }
        let overton = try #require(index.cell(row: "overton", column: "faithfulness"))
        let summary = try #require(try fixture.corpus.auditSummaries(runID: "run-a").first { $0.method == "overton" && $0.metric == "faithfulness" })
        #expect(overton.hasPrefix(Format.score(summary.value)))
    }

    @Test func itemPagesShowCommentsAnswersScoresAndCalls() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        for item in try fixture.corpus.items(runID: "run-a") {
            let page = try fixture.page("runs/run-a/items/\(item.id).html")
            let contents = try #require(try fixture.corpus.itemContents(runID: "run-a", itemIDs: [item.id]).first)
            for comment in contents.comments { #expect(page.text.contains(collapse(comment.text))) }
            #expect(contents.syntheses.count == page.elements(named: "article").filter { $0.attribute("id")?.hasPrefix("answer-") == true }.count)
            for audit in contents.audits {
                let answer = try #require(page.elements.first { $0.attribute("id") == "answer-\(audit.method)" })
                let row = page.tables(in: answer).flatMap(\.rows).first {
                    $0.first == Format.metric(audit.metric) && $0[safe: 1] == audit.community
                }
                #expect(row?[safe: 2] == Format.score(audit.score), "\(item.id) \(audit.method) \(audit.metric)")
                if let pair = AuditView(audit).pairs.first {
                    let titles = answer.descendants().filter { $0.name == "tr" }.compactMap { $0.attribute("title") }
                    #expect(titles.contains { $0.contains(pair.commentSentence) && $0.contains(pair.answerSentence) })
                }
            }
            // Each marked sentence names its community, or says it is unsupported.
            for audit in contents.audits where audit.metric == "faithfulness" {
                for sentence in AuditView(audit).sentences {
                    #expect(page.text.contains(collapse(sentence.text) + (sentence.supported ? sentence.community! : "unsupported")))
                }
            }
            let calls = page.elements(named: "details").filter { $0.textContent.contains("Request") }
            #expect(calls.count == contents.syntheses.reduce(0) { $0 + $1.callKeys.count })
            #expect(calls.allSatisfy { $0.attribute("open") == nil })
            for synthesis in contents.syntheses {
                for key in synthesis.callKeys {
                    let call = try #require(try fixture.corpus.archivedCall(key: key))
                    #expect(page.text.contains(collapse(call.requestJSON)))
                }
            }
            for distribution in contents.distributions {
                let shown = distribution.probabilities.enumerated().map { "\(Format.letter($0)) \(Format.score($1))" }.joined(separator: " ")
                #expect(page.text.contains(shown))
            }
        }
    }

    @Test func communityPagesShowVerdictsFromTheEvidence() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let page = try fixture.page("runs/run-a/communities/left.html")
        let items = page.elements(named: "article")
        #expect(items.count == FixtureRun().items.filter { $0.pool == "perspective" }.count)
        for article in items {
            let id = try #require(article.elements.first { $0.name == "h3" }).textContent
            let contents = try #require(try fixture.corpus.itemContents(runID: "run-a", itemIDs: [id]).first)
            let text = collapse(article.textContent)
            for audit in contents.audits where audit.metric == "representation" && audit.community == "left" {
                let verdict = AuditView(audit).represented! ? "represented" : "not represented"
                #expect(text.contains("\(Methods.label(audit.method)): \(verdict) (score \(Format.score(audit.score)))"), "\(id) \(audit.method)")
            }
        }
    }

    @Test func renderingTwiceGivesIdenticalBytesWhateverTheThreads() throws {
        let fixture = try RenderedFixture(workers: 2)
        defer { fixture.folder.remove() }
        let first = try filesUnder(fixture.site)
        let again = fixture.folder.file("again")
        try renderSite(corpus: fixture.corpus, runIDs: nil, out: again, options: SiteOptions(templates: builtInTemplates, workers: 1))
        let second = try filesUnder(again)
        #expect(first.keys.sorted() == second.keys.sorted())
        for (path, bytes) in first { #expect(second[path] == bytes, "\(path) differs") }
        // The same destination again: replaced by identical bytes.
        try renderSite(corpus: fixture.corpus, runIDs: nil, out: fixture.site, options: SiteOptions(templates: builtInTemplates))
        #expect(try filesUnder(fixture.site) == first)
    }

    @Test func indexReachesEveryPageAndEveryLinkResolves() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let all = Set(try pages(in: fixture.site))
        var reached: Set<String> = ["index.html"]
        var queue = ["index.html"]
        while let path = queue.popLast() {
            let page = try fixture.page(path)
            let folder = (path as NSString).deletingLastPathComponent
            for href in page.links where !href.hasPrefix("#") {
                #expect(!href.contains(":"), "\(path): \(href) is not a relative link")
                let decoded = try #require(href.removingPercentEncoding)
                let target = resolve(decoded, from: folder)
                #expect(FileManager.default.fileExists(atPath: (fixture.site as NSString).appendingPathComponent(target)),
                        "\(path) links \(href), which does not exist")
                if target.hasSuffix(".html"), reached.insert(target).inserted { queue.append(target) }
            }
        }
        #expect(reached == all, "unreached: \(all.subtracting(reached).sorted())")
        // The index links each run's page, item list and community pages, and the comparison, itself.
        let index = try fixture.page("index.html")
        for expected in ["runs/run-a/index.html", "runs/run-a/items.html", "runs/run-b/communities/centre.html", "diffs/run-a/run-b.html"] {
            #expect(index.links.contains(expected))
        }
    }

    @Test func unauditedRunStillRenders() throws {
        let fixture = try RenderedFixture(audited: false)
        defer { fixture.folder.remove() }
        let run = try fixture.page("runs/run-a/index.html")
        #expect(run.problems.isEmpty)
        #expect(run.text.contains("not audited yet"))
        #expect(run.text.contains("No audit numbers for this section."))
        let item = try fixture.page("runs/run-a/items/o1.html")
        #expect(item.text.contains("overton answer to o1 opens."))
        #expect(try fixture.page("diffs/run-a/run-b.html").text.contains("Neither run has representation rows"))
    }

    @Test func longPoolsAreSplitIntoLinkedCommunityPages() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try Corpus.open(path: folder.file("corpus.sqlite"))
        var run = FixtureRun()
        run.overtonItems = (1...(CommunityPage.pageSize + 5)).map { "o\($0)" }
        try run.write(to: corpus)
        let site = folder.file("site")
        try renderSite(corpus: corpus, runIDs: nil, out: site, options: SiteOptions(templates: builtInTemplates))
        let first = try RenderedPage(site: site, path: "runs/run-a/communities/left.html")
        let second = try RenderedPage(site: site, path: "runs/run-a/communities/left~2.html")
        let perspective = run.items.filter { $0.pool == "perspective" }.count
        #expect(first.elements(named: "article").count == CommunityPage.pageSize)
        #expect(second.elements(named: "article").count == perspective - CommunityPage.pageSize)
        #expect(first.links.contains("left~2.html"))
        #expect(second.links.contains("left.html"))
        #expect(second.text.contains("items \(CommunityPage.pageSize + 1)–\(perspective) of \(perspective)"))
    }
}

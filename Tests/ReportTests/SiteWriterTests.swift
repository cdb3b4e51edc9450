import Corpus
import Foundation
@testable import Report
import Testing

@Suite struct SiteWriterTests {
    /// Names in the site's parent folder that a render left behind (staging or set-aside copies).
    private func leftovers(beside site: String) throws -> [String] {
        let parent = (site as NSString).deletingLastPathComponent
        return try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.contains(".partial-") || $0.contains(".old-") }
    }

    @Test func aRenderFailingHalfwayLeavesTheEarlierSiteAsItWas() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let before = try filesUnder(fixture.site)
        // A damaged row deep in run B: pages before it render, then reading it fails.
        try fixture.corpus.database.execute(
            "UPDATE synthesis SET call_keys_json = 'not json' WHERE run_id = 'run-b' AND item_id = 'd2' AND method = 'vanilla'")
        #expect(throws: CorpusError.self) {
            try renderSite(corpus: fixture.corpus, runIDs: nil, out: fixture.site, options: SiteOptions(templates: builtInTemplates, workers: 1))
        }
        #expect(try filesUnder(fixture.site) == before)
        #expect(try leftovers(beside: fixture.site).isEmpty)
    }

    @Test func invalidTemplatesLeaveTheEarlierSiteAsItWas() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let before = try filesUnder(fixture.site)
        let templates = fixture.folder.file("templates")
        try FileManager.default.copyItem(atPath: builtInTemplates, toPath: templates)
        let run = templates + "/run.html"
        try (try String(contentsOfFile: run, encoding: .utf8)).replacingOccurrences(of: "data-text=\"seed\"", with: "data-seed=\"x\"")
            .write(toFile: run, atomically: true, encoding: .utf8)
        #expect(throws: TemplateErrors.self) {
            try renderSite(corpus: fixture.corpus, templates: templates, out: fixture.site)
        }
        #expect(try filesUnder(fixture.site) == before)
        #expect(try leftovers(beside: fixture.site).isEmpty)
    }

    @Test func aFolderOfOtherFilesIsNeverReplaced() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let mine = fixture.folder.file("mine")
        try FileManager.default.createDirectory(atPath: mine, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: mine + "/notes.txt"))
        #expect {
            try renderSite(corpus: fixture.corpus, templates: builtInTemplates, out: mine)
        } throws: { "\($0)".contains("holds files this tool did not write") }
        #expect(try filesUnder(mine) == ["notes.txt": Array("keep me".utf8)])
        // An empty folder, or a site this tool wrote, is fine.
        try FileManager.default.removeItem(atPath: mine + "/notes.txt")
        try renderSite(corpus: fixture.corpus, templates: builtInTemplates, out: mine)
        #expect(FileManager.default.fileExists(atPath: mine + "/index.html"))
        #expect(FileManager.default.fileExists(atPath: mine + "/" + SiteWriter.stamp))
    }

    @Test func selectedRunsOnly() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let only = fixture.folder.file("only-b")
        let summary = try renderSite(corpus: fixture.corpus, runIDs: ["run-b"], templates: builtInTemplates, out: only)
        #expect(summary.runs == 1)
        let files = try pages(in: only)
        #expect(!files.contains { $0.hasPrefix("runs/run-a/") || $0.hasPrefix("diffs/") })
        #expect(files.contains("runs/run-b/index.html"))
        #expect { try renderSite(corpus: fixture.corpus, runIDs: ["nope"], templates: builtInTemplates, out: only) } throws: {
            "\($0)".contains("no run with id nope")
        }
    }
}

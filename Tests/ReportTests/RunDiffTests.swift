import Corpus
import Foundation
@testable import Report
import Testing

@Suite struct RunDiffTests {
    private func diff(_ fixture: RenderedFixture, seed: UInt64 = 0, resamples: Int = 2000) throws -> RunDiff {
        try RunDiff.compute(
            a: RunSource(corpus: fixture.corpus, run: try #require(try fixture.corpus.run(id: "run-a"))),
            b: RunSource(corpus: fixture.corpus, run: try #require(try fixture.corpus.run(id: "run-b"))),
            resamples: resamples, seed: seed)
    }

    @Test func itemsAreMatchedByIdAndChangesFoundByContentHash() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let diff = try diff(fixture)
        #expect(diff.matched == ["o1", "o2", "s1", "s2", "d1", "d2"])
        #expect(diff.added == ["o4"])
        #expect(diff.removed == ["o3"])
        #expect(diff.changed == ["o2"])
    }

    @Test func anAddedCommunityShowsItsGainWithAnInterval() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let diff = try diff(fixture)
        let centre = diff.representation.filter { $0.community == "centre" }
        #expect(Set(centre.map(\.method)) == ["overton", "vanilla", "prompting", "moe"])
        for change in centre {
            let verdicts = ["o1", "o2"].map { fixture.runB.represented($0, change.method, "centre").represented ? 1.0 : 0.0 }
            #expect(change.note == "new in B")
            #expect(change.pairs == 2)
            #expect(change.meanA == 0)
            #expect(change.meanB == verdicts.reduce(0, +) / 2)
            #expect(change.change == change.meanB)
            let interval = try #require(change.interval)
            #expect(interval.low >= 0 && interval.high <= 1 && interval.contains(change.change))
        }
    }

    @Test func sharedCommunitiesArePairedOnItemsBothRunsScored() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let diff = try diff(fixture)
        let left = try #require(diff.representation.first { $0.community == "left" && $0.method == "vanilla" })
        let items = ["o1", "o2"]  // vanilla's text answers on matched perspective items
        let a = items.map { fixture.runA.represented($0, "vanilla", "left").represented ? 1.0 : 0.0 }
        let b = items.map { fixture.runB.represented($0, "vanilla", "left").represented ? 1.0 : 0.0 }
        #expect(left.pairs == items.count && left.note.isEmpty)
        #expect(left.meanA == a.reduce(0, +) / 2 && left.meanB == b.reduce(0, +) / 2)
        // Metric means pair the per-item scores of both runs.
        let faithfulness = try #require(diff.metrics.first { $0.method == "overton" && $0.metric == "faithfulness" })
        #expect(faithfulness.pairs == 2)
        let scoresA = try fixture.corpus.auditScores(runID: "run-a", metric: "faithfulness").filter { $0.method == "overton" && ["o1", "o2"].contains($0.itemID) }
        #expect(abs(faithfulness.meanA - scoresA.compactMap(\.score).reduce(0, +) / 2) < 1e-12)
    }

    @Test func theSameSeedGivesTheSameDiff() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let first = try diff(fixture, seed: 5)
        let second = try diff(fixture, seed: 5)
        #expect(first.representation.map(\.interval) == second.representation.map(\.interval))
        #expect(first.metrics.map(\.interval) == second.metrics.map(\.interval))
        #expect(first.text() == second.text())
    }

    @Test func largestItemChangesComeFirst() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let changes = try diff(fixture).itemChanges
        #expect(!changes.isEmpty)
        #expect(zip(changes, changes.dropFirst()).allSatisfy { abs($0.change) >= abs($1.change) })
        #expect(changes.allSatisfy { $0.itemID != "o3" && $0.itemID != "o4" && $0.change != 0 })
    }

    @Test func textIsAlignedAndNamesEverything() throws {
        let fixture = try RenderedFixture()
        defer { fixture.folder.remove() }
        let diff = try diff(fixture)
        let text = diff.text(top: 5)
        #expect(text.contains("items: 6 matched (1 with changed content), 1 added, 1 removed"))
        #expect(text.contains("  added: o4") && text.contains("  removed: o3") && text.contains("  changed: o2"))
        let lines = text.split(separator: "\n").map(String.init)
        let header = try #require(lines.firstIndex { $0.hasPrefix("  community") })
        let centre = try #require(lines.first { $0.contains("centre") && $0.contains("overton") })
        #expect(centre.hasSuffix("new in B"))
        // Columns line up: "change" header ends where each row's change ends.
        let end = lines[header].range(of: "change")!.upperBound.utf16Offset(in: lines[header])
        for row in lines[(header + 1)...] {
            guard row.hasPrefix("  ") && !row.trimmingCharacters(in: .whitespaces).isEmpty else { break }
            let upToChange = String(row.utf16.prefix(end))!
            #expect(upToChange.range(of: #" [+-][0-9]\.[0-9]{3}$"#, options: .regularExpression) != nil, "\(row)")
        }
    }

    @Test func runsMayComeFromTwoCorpora() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let first = try Corpus.open(path: folder.file("a.sqlite")), second = try Corpus.open(path: folder.file("b.sqlite"))
        try FixtureRun().write(to: first)
        var other = FixtureRun()
        other.steerableItems = ["s1"]
        try other.write(to: second)
        let diff = try RunDiff.compute(a: RunSource(corpus: first, run: try first.runs()[0]), b: RunSource(corpus: second, run: try second.runs()[0]),
                                       resamples: 500)
        #expect(diff.removed == ["s2"] && diff.added.isEmpty && diff.changed.isEmpty)
        #expect(diff.representation.allSatisfy { $0.change == 0 })
        #expect(diff.itemChanges.isEmpty)
    }
}

@Suite struct RunSelectionTests {
    @Test func selectorsResolve() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try Corpus.open(path: folder.file("c.sqlite"))
        #expect { try RunSelection.resolve("latest", in: corpus) } throws: { "\($0)".contains("holds no run") }
        var a = FixtureRun(), b = FixtureRun(), c = FixtureRun()
        a.runID = "3fa2c1"; a.name = "default"; a.createdAt = "2026-01-01T00:00:00.000Z"
        b.runID = "3fb900"; b.name = "default"; b.createdAt = "2026-01-02T00:00:00.000Z"
        c.runID = "9ab"; c.name = "other"; c.createdAt = "2026-01-03T00:00:00.000Z"
        for run in [a, b, c] { try run.write(to: corpus) }
        #expect(try RunSelection.resolve("latest", in: corpus).id == "9ab")
        #expect(try RunSelection.resolve("previous", in: corpus).id == "3fb900")
        #expect(try RunSelection.resolve("default", in: corpus).id == "3fb900")
        #expect(try RunSelection.resolve("3fa", in: corpus).id == "3fa2c1")
        #expect(try RunSelection.resolve("9ab", in: corpus).id == "9ab")
        #expect { try RunSelection.resolve("3f", in: corpus) } throws: { "\($0)".contains("start of 2 run ids") }
        #expect { try RunSelection.resolve("nothing", in: corpus) } throws: { "\($0)".contains("no run \"nothing\"") }
    }
}

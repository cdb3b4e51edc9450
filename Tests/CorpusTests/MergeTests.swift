import Corpus
import Foundation
import Testing

@Suite struct MergeTests {
    /// The sample run's rows of some items only (the run manifest, items, communities and
    /// calls in full), the way a shard stores them.
    static func shard(_ sample: SampleRun, items: Set<String>, at path: String, change: (inout SampleRun) -> Void = { _ in }) throws {
        var part = sample
        part.comments = sample.comments.filter { items.contains($0.itemID) }
        part.syntheses = sample.syntheses.filter { items.contains($0.itemID) }
        part.distributions = sample.distributions.filter { items.contains($0.itemID) }
        part.audits = sample.audits.filter { items.contains($0.itemID) }
        change(&part)
        let corpus = try Corpus.open(path: path)
        try corpus.transaction { try part.write(to: corpus) }
    }

    @Test func shardsMergeToTheWholeRunsDigest() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let sample = SampleRun()
        let whole = try Corpus.open(path: folder.file("whole.sqlite"))
        try whole.transaction { try sample.write(to: whole) }

        try Self.shard(sample, items: ["q1"], at: folder.file("a.sqlite"))
        // Where inputs were read from, timestamps and durations are not content.
        try Self.shard(sample, items: ["q2"], at: folder.file("b.sqlite")) { part in
            part.items = part.items.map { var item = $0; item.sourceFile = "/elsewhere/items.jsonl"; return item }
            part.calls = part.calls.map { var call = $0; call.createdAt = "2026-02-02T00:00:00.000Z"; call.durationMS = 99; return call }
            part.run.createdAt = "2026-02-02T00:00:00.000Z"
            part.run.status = .finished
        }
        let report = try Corpus.merge([folder.file("a.sqlite"), folder.file("b.sqlite")], into: folder.file("merged.sqlite"))
        #expect(report.runID == "run-1")
        #expect(report.inputs[0].added["comment"] == 3)
        #expect(report.inputs[1].added["comment"] == 0)
        #expect(report.inputs[1].added["call"] == 0)
        #expect(report.inputs[1].added["distribution"] == 3)
        let merged = try Corpus.open(path: folder.file("merged.sqlite"), readOnly: true)
        #expect(try merged.digest(runID: "run-1") == whole.digest(runID: "run-1"))
        #expect(try merged.counts(runID: "run-1") == whole.counts(runID: "run-1"))
        // Not finished until the merged run is audited or run.
        #expect(try merged.run(id: "run-1")?.status == .running)
        // One file: the log was folded in before the rename.
        #expect(!FileManager.default.fileExists(atPath: folder.file("merged.sqlite-wal")))
    }

    @Test func theSameKeyWithOtherContentIsAConflict() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let sample = SampleRun()
        try Self.shard(sample, items: ["q1"], at: folder.file("a.sqlite"))
        try Self.shard(sample, items: ["q1", "q2"], at: folder.file("b.sqlite")) { part in
            part.calls[4].responseJSON = #"{"text":"another answer"}"#
            part.audits[0].score = 0.75
        }
        do {
            _ = try Corpus.merge([folder.file("a.sqlite"), folder.file("b.sqlite")], into: folder.file("merged.sqlite"))
            Issue.record("a conflict must stop the merge")
        } catch CorpusMergeError.conflicts(let conflicts) {
            #expect(conflicts.map(\.table) == ["call", "audit"])
            #expect(conflicts[0].columns == ["response_json"])
            #expect(conflicts[0].key == "'\(sample.calls[4].key)'")
            #expect(conflicts[1].columns == ["score"])
            #expect(conflicts[0].description.contains("b.sqlite: call"))
        }
        #expect(!FileManager.default.fileExists(atPath: folder.file("merged.sqlite")))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).allSatisfy { !$0.contains("merging") })
    }

    @Test func aRunIsChosenAmongSeveralOrRefused() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let sample = SampleRun()
        try Self.shard(sample, items: ["q1"], at: folder.file("a.sqlite"))
        try Self.shard(sample, items: ["q2"], at: folder.file("b.sqlite"))
        // A second run in b: without --run the inputs are ambiguous.
        let b = try Corpus.open(path: folder.file("b.sqlite"))
        var other = sample.run
        other.id = "run-2"
        try b.insertRun(other)
        #expect(throws: CorpusMergeError.self) {
            try Corpus.merge([folder.file("a.sqlite"), folder.file("b.sqlite")], into: folder.file("m1.sqlite"))
        }
        let report = try Corpus.merge([folder.file("a.sqlite"), folder.file("b.sqlite")], into: folder.file("m2.sqlite"), runID: "run-1")
        #expect(report.runID == "run-1")
        let merged = try Corpus.open(path: folder.file("m2.sqlite"), readOnly: true)
        #expect(try merged.runs().map(\.id) == ["run-1"])
        do {
            _ = try Corpus.merge([folder.file("a.sqlite"), folder.file("b.sqlite")], into: folder.file("m3.sqlite"), runID: "run-2")
            Issue.record("a is missing run-2")
        } catch CorpusMergeError.runMissing(let path, let runID) {
            #expect(path == folder.file("a.sqlite") && runID == "run-2")
        }
    }
}

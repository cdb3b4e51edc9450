import ContentHash
import Corpus
import Foundation
import Testing

@Suite struct RecordTests {
    private func freshCorpus(_ folder: TemporaryFolder) throws -> Corpus { try Corpus.open(path: folder.file("corpus.sqlite")) }

    @Test func runManifestRoundTripsAndIsIdempotent() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        var run = SampleRun().run
        run.seed = UInt64.max  // beyond SQLite's signed integers: stored as decimal text
        try corpus.insertRun(run)
        var again = run
        again.name = "renamed"
        try corpus.insertRun(again)  // same id: the first manifest is kept
        #expect(try corpus.run(id: run.id) == run)
        #expect(try corpus.run(id: "missing") == nil)

        let later = RunRecord(id: "run-2", name: "later", configJSON: "{}", inputHashes: [:], toolVersion: "0.1.0", seed: 0,
                              createdAt: "2026-02-01T00:00:00.000Z")
        try corpus.insertRun(later)
        #expect(try corpus.runs().map(\.id) == ["run-1", "run-2"])
        #expect(try corpus.database.fetchValue("SELECT input_hashes_json FROM run WHERE id = 'run-1'", as: String.self)
            == #"{"config.json":"cd34","inputs/items.jsonl":"ab12"}"#)

        try corpus.setRunStatus(id: "run-2", status: .failed)
        #expect(try corpus.run(id: "run-2")?.status == .failed)
        #expect(throws: CorpusError.self) { try corpus.setRunStatus(id: "nope", status: .finished) }
    }

    @Test func itemsAndCommunitiesAreIdempotentAndOrdered() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        try sample.write(to: corpus, reversed: true)
        try corpus.insertItems(sample.items)
        try corpus.insertCommunities(sample.communities)
        #expect(try corpus.items(runID: "run-1") == sample.items)
        #expect(try corpus.communities(runID: "run-1") == sample.communities)
        #expect(try corpus.counts(runID: "run-1") == CorpusCounts(items: 2, communities: 2, comments: 3, syntheses: 3, distributions: 3, audits: 2))
        #expect(try corpus.counts(runID: "other") == CorpusCounts())
    }

    @Test func archiveKeepsTheFirstAnswerForAKey() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let call = ArchivedCall(key: SHA256.hex("request"), backend: "openai", baseURL: "http://localhost:8080/v1", model: "m",
                                requestJSON: #"{"messages":[]}"#, responseJSON: #"{"text":"first"}"#,
                                createdAt: "2026-01-01T00:00:00.000Z", durationMS: 250)
        #expect(try corpus.archivedCall(key: call.key) == nil)
        try corpus.archiveCall(call)
        var second = call
        second.responseJSON = #"{"text":"second"}"#
        try corpus.archiveCall(second)
        #expect(try corpus.archivedCall(key: call.key) == call)
        #expect(try corpus.archivedCallCount() == 1)
    }

    @Test func duplicateCommentIsRejected() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        try sample.write(to: corpus)
        var duplicate = sample.comments[0]
        duplicate.text = "A different text for the same sample"
        #expect {
            try corpus.insertComment(duplicate)
        } throws: { error in
            (error as? DatabaseError)?.isUniqueViolation == true && "\(error)".contains("comment")
        }
        #expect(try corpus.comments(runID: "run-1", itemID: "q1") == sample.comments)
        #expect(try corpus.commentExists(runID: "run-1", itemID: "q1", community: "right", sampleIndex: 1))
        #expect(try !corpus.commentExists(runID: "run-1", itemID: "q1", community: "right", sampleIndex: 2))
        #expect(try corpus.comments(runID: "run-1", itemID: "q2").isEmpty)
    }

    @Test func duplicateSynthesisIsRejectedWithItsDistributions() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        try sample.write(to: corpus)
        #expect(try corpus.synthesisExists(runID: "run-1", itemID: "q2", method: "distributional"))
        #expect(try !corpus.synthesisExists(runID: "run-1", itemID: "q2", method: "vanilla"))
        #expect(throws: DatabaseError.self) {
            try corpus.insertSynthesis(sample.syntheses[2], distributions: sample.distributions)
        }
        #expect(try corpus.distributions(runID: "run-1").count == 3)
    }

    @Test func foreignKeysAreEnforced() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        try sample.write(to: corpus)
        /// A foreign key error whose text names the missing row.
        func missing(_ parent: String) -> (any Error) -> Bool {
            { error in (error as? DatabaseError)?.isForeignKeyViolation == true && "\(error)".contains(parent) }
        }

        var unknownItem = sample.comments[0]
        unknownItem.itemID = "q404"
        #expect(performing: { try corpus.insertComment(unknownItem) }, throws: missing("no item q404 in run run-1"))
        var unknownCommunity = sample.comments[0]
        unknownCommunity.community = "centre"
        #expect(performing: { try corpus.insertComment(unknownCommunity) }, throws: missing("no community centre in run run-1"))
        var unarchivedCall = sample.comments[0]
        unarchivedCall.sampleIndex = 5
        unarchivedCall.callKey = SHA256.hex("never archived")
        #expect(performing: { try corpus.insertComment(unarchivedCall) }, throws: missing("no archived call \(unarchivedCall.callKey)"))
        var orphanItem = sample.items[0]
        orphanItem.runID = "run-404"
        #expect(performing: { try corpus.insertItems([orphanItem]) }, throws: missing("no run run-404"))
        var orphanCommunity = sample.communities[0]
        orphanCommunity.runID = "run-404"
        #expect(performing: { try corpus.insertCommunities([orphanCommunity]) }, throws: missing("no run run-404"))
        let badSelection = SynthesisRecord(runID: "run-1", itemID: "q2", method: "steerable", text: "x", selectedCommunity: "centre")
        #expect(performing: { try corpus.insertSynthesis(badSelection, distributions: []) }, throws: missing("no community centre"))
        let audit = AuditRecord(runID: "run-1", itemID: "q404", method: "overton", metric: "m", score: 1, evidenceJSON: "{}")
        #expect(performing: { try corpus.insertAudits([audit]) }, throws: missing("no item q404"))
        #expect(try corpus.counts(runID: "run-1") == CorpusCounts(items: 2, communities: 2, comments: 3, syntheses: 3, distributions: 3, audits: 2))
    }

    @Test func failedWritesLeaveNoPartialRows() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        try corpus.insertRun(sample.run)
        try corpus.insertCommunities(sample.communities)

        struct Interrupted: Error {}
        #expect(throws: Interrupted.self) {
            try corpus.transaction {
                try corpus.insertItems(sample.items)
                throw Interrupted()
            }
        }
        #expect(try corpus.items(runID: "run-1").isEmpty)

        // A batch that fails half-way stores none of it.
        var batch = sample.items
        batch.append(ItemRecord(runID: "run-404", id: "q3", mode: "overton", pool: "p", sourceFile: "f", line: 3, ordinal: 2,
                                contentJSON: "{}", contentHash: "h"))
        #expect(throws: DatabaseError.self) { try corpus.insertItems(batch) }
        #expect(try corpus.items(runID: "run-1").isEmpty)

        // A synthesis whose second distribution fails is not stored either.
        try corpus.insertItems(sample.items)
        var parts = Array(sample.distributions.prefix(2))
        parts[1].community = "left"  // same primary key as the first
        #expect(throws: DatabaseError.self) { try corpus.insertSynthesis(sample.syntheses[2], distributions: parts) }
        #expect(try corpus.syntheses(runID: "run-1").isEmpty)
        #expect(try corpus.distributions(runID: "run-1").isEmpty)
        #expect(!corpus.database.isInTransaction)
    }

    @Test func nestedTransactionJoinsTheOuterOneAndUndoesOnlyItselfOnError() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        struct Interrupted: Error {}
        try corpus.transaction {
            try corpus.insertRun(sample.run)
            try? corpus.transaction {
                try corpus.insertItems([sample.items[0]])
                throw Interrupted()
            }
            try corpus.transaction { try corpus.insertItems([sample.items[1]]) }
            #expect(corpus.database.isInTransaction)
        }
        #expect(!corpus.database.isInTransaction)
        #expect(try corpus.items(runID: "run-1").map(\.id) == ["q2"])
        #expect(try corpus.run(id: "run-1") == sample.run)
    }

    @Test func valuesRoundTripExactly() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        var sample = SampleRun()
        sample.comments[0].text = ""  // empty text is text, not NULL
        sample.comments[1].text = "zero\u{0}byte, émoji 🧭, quote ' and \" and \\"
        sample.distributions[0].probabilities = [0.1, 1.0 / 3.0, .leastNonzeroMagnitude, 1e300, 0.30000000000000004, 0]
        sample.distributions[0].coveredMass = 1.0 / 7.0
        try sample.write(to: corpus)
        #expect(try corpus.comments(runID: "run-1") == sample.comments)
        let stored = try corpus.distributions(runID: "run-1", itemID: "q2", method: "distributional")
        #expect(stored == sample.distributions)
        #expect(stored[0].probabilities.map(\.bitPattern) == sample.distributions[0].probabilities.map(\.bitPattern))
        #expect(stored.map(\.community) == ["left", "right", ""])  // the mixed distribution last
        #expect(try corpus.syntheses(runID: "run-1", itemID: "q1") == Array(sample.syntheses.prefix(2)))
    }

    @Test func nonFiniteNumbersAreRejected() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        try corpus.insertRun(sample.run)
        try corpus.insertItems(sample.items)
        try corpus.insertCommunities(sample.communities)
        var parts = sample.distributions
        parts[0].probabilities = [.nan, 1]
        #expect(throws: CorpusError.self) { try corpus.insertSynthesis(sample.syntheses[2], distributions: parts) }
        parts = sample.distributions
        parts[2].coveredMass = .infinity
        #expect(throws: CorpusError.self) { try corpus.insertSynthesis(sample.syntheses[2], distributions: parts) }
        var audit = sample.audits[0]
        audit.score = .nan
        #expect(throws: CorpusError.self) { try corpus.insertAudits([audit]) }
        #expect(try corpus.counts(runID: "run-1").syntheses == 0)
    }

    @Test func jsonColumnsMustHoldJSON() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        try corpus.insertRun(sample.run)
        try corpus.insertItems(sample.items)
        try corpus.insertCommunities(sample.communities)
        try corpus.archiveCall(sample.calls[4])
        var parts = sample.distributions
        parts[0].rotationsJSON = "[{offset: 0}]"
        #expect(throws: CorpusError.self) { try corpus.insertSynthesis(sample.syntheses[2], distributions: parts) }
        var synthesis = sample.syntheses[2]
        synthesis.answerTieJSON = "tied"
        #expect(throws: CorpusError.self) { try corpus.insertSynthesis(synthesis, distributions: sample.distributions) }
        #expect(try corpus.counts(runID: "run-1").syntheses == 0)
    }

    @Test func aSelectionMethodOutsideTheThreeIsRefusedBySQLite() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        try SampleRun().write(to: corpus)
        #expect(throws: DatabaseError.self) {
            try corpus.database.execute("UPDATE synthesis SET selection_method = 'guessed' WHERE method = 'steerable'")
        }
    }

    @Test func distributionsMustBelongToTheirSynthesis() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        try corpus.insertRun(sample.run)
        try corpus.insertItems(sample.items)
        var parts = sample.distributions
        parts[0].method = "moe"
        #expect {
            try corpus.insertSynthesis(sample.syntheses[2], distributions: parts)
        } throws: { error in
            guard case CorpusError.invalidRecord = error else { return false }
            return "\(error)".contains("moe")
        }
    }

    @Test func concurrentWritersAreSerialised() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        try corpus.insertRun(sample.run)
        try corpus.insertItems(sample.items)
        try corpus.insertCommunities(sample.communities)
        try corpus.archiveCall(sample.calls[0])
        let key = sample.calls[0].key
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    for sample in 0..<25 {
                        try corpus.transaction {
                            try corpus.insertComment(CommentRecord(
                                runID: "run-1", itemID: "q1", community: writer % 2 == 0 ? "left" : "right",
                                sampleIndex: writer * 100 + sample, text: "\(writer)/\(sample)", callKey: key))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try corpus.counts(runID: "run-1").comments == 200)
    }

    @Test func auditSummariesAndScorerRoundTripAndAreReplacedTogether() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let corpus = try freshCorpus(folder)
        let sample = SampleRun()
        try sample.write(to: corpus)
        let summaries = [
            AuditSummaryRecord(runID: "run-1", method: "overton", metric: "representation_rate", subject: "left",
                               value: 0.5, count: 2, baseline: nil, evidenceJSON: #"{"represented":1}"#),
            AuditSummaryRecord(runID: "run-1", method: "distributional", metric: "js_distance", subject: "",
                               value: 0.25, count: 1, baseline: 0.3, evidenceJSON: "{}"),
        ]
        try corpus.insertAuditSummaries(summaries)
        #expect(try corpus.auditSummaries(runID: "run-1") == summaries.sorted { $0.method < $1.method })
        #expect(throws: DatabaseError.self) { try corpus.insertAuditSummaries([summaries[0]]) }
        #expect(throws: CorpusError.self) {
            try corpus.insertAuditSummaries([AuditSummaryRecord(runID: "run-1", method: "m", metric: "x", value: .nan, count: 0)])
        }
        let scorer = AuditScorerRecord(runID: "run-1", scorer: "embedding", model: "sha", thresholdsJSON: #"{"faithfulness":0.5}"#,
                                       metricVersion: "1", createdAt: "2026-01-01T00:00:00.000Z")
        try corpus.setAuditScorer(scorer)
        #expect(try corpus.auditScorer(runID: "run-1") == scorer)

        try corpus.deleteAudit(runID: "run-1")
        #expect(try corpus.audits(runID: "run-1").isEmpty)
        #expect(try corpus.auditSummaries(runID: "run-1").isEmpty)
        #expect(try corpus.auditScorer(runID: "run-1") == nil)
        #expect(try corpus.counts(runID: "run-1").syntheses == sample.syntheses.count)
    }
}

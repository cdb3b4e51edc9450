import Corpus
import Foundation
import Testing
@testable import Pluralism

/// A run stopped by its stop signal, and a run whose disk fills up: both keep what was
/// committed, leave a valid corpus, and resume to the digest of an uninterrupted run.
@Suite struct InterruptionTests {
    /// Asks the run to stop after its `after`-th batch of requests.
    final class StoppingModel: LanguageModel, @unchecked Sendable {
        let inner: ScriptedModel
        let stop: StopSignal
        let after: Int
        private let lock = NSLock()
        private var batches = 0

        init(_ inner: ScriptedModel, stop: StopSignal, after: Int) {
            self.inner = inner
            self.stop = stop
            self.after = after
        }

        var identity: ModelIdentity { inner.identity }

        func respond(to requests: [ModelRequest]) async throws -> [ModelResponse] {
            let answers = try await inner.respond(to: requests)
            if lock.withLock({ batches += 1; return batches }) == after { stop.request(.interrupt) }
            return answers
        }
    }

    static func freshDigest(_ inputs: RunInputs) async throws -> String {
        let corpus = try PipelineFixture.temporaryCorpus()
        let summary = try await Pipeline.run(PipelineFixture.context(inputs, corpus: corpus, model: ScriptedModel()))
        return try corpus.digest(runID: summary.runID)
    }

    @Test func aStoppedRunIsMarkedInterruptedAndResumesToTheSameDigest() async throws {
        let inputs = PipelineFixture.inputs()
        let expected = try await Self.freshDigest(inputs)

        let corpus = try PipelineFixture.temporaryCorpus()
        let stop = StopSignal()
        let model = StoppingModel(ScriptedModel(), stop: stop, after: 3)
        let context = StageContext(inputs: inputs, corpus: corpus, options: StageOptions(batchSize: 4, quiet: true, stop: stop),
                                   models: { _ in model }, embedder: { WordEmbedder() })
        await #expect(throws: RunStopped(reason: .interrupt)) { try await Pipeline.run(context) }
        #expect(try corpus.run(id: inputs.runID)?.status == .interrupted)
        let stored = try corpus.comments(runID: inputs.runID).count
        // The model answers in lockstep batches of its capacity (8): two batches were
        // delivered before the third's stop; of the third, at most what was delivered when
        // the archive saw the stop (it checks after each answer) is kept.
        #expect((16...24).contains(stored), "two batches of eight committed, nothing past the third (\(stored))")
        #expect(stop.reason?.exitStatus == 130)

        let resumed = try await Pipeline.run(PipelineFixture.context(inputs, corpus: corpus, model: ScriptedModel()))
        #expect(try corpus.run(id: inputs.runID)?.status == .finished)
        #expect(try corpus.digest(runID: resumed.runID) == expected)
    }

    @Test func aFullDiskNamesTheFileKeepsTheCorpusValidAndResumes() async throws {
        let inputs = PipelineFixture.inputs()
        let expected = try await Self.freshDigest(inputs)

        let path = try PipelineFixture.temporaryCorpus().path
        var error: DatabaseError?
        do {
            let corpus = try Corpus.open(path: path)
            try Stages.ingest(inputs, into: corpus)
            // A size limit a few pages above what ingest wrote: the stages run out of room.
            let pages: Int = try corpus.database.fetchValue("PRAGMA page_count") ?? 0
            try corpus.database.executeScript("PRAGMA max_page_count = \(pages + 3)")
            do {
                _ = try await Pipeline.run(PipelineFixture.context(inputs, corpus: corpus, model: ScriptedModel()))
            } catch let caught as DatabaseError {
                error = caught
            }
        }
        let full = try #require(error, "the run must fail when the file cannot grow")
        #expect(full.isFull)
        #expect("\(full)".contains(path))
        #expect("\(full)".contains("run the same command again to resume"))

        let reopened = try Corpus.open(path: path)
        #expect(try reopened.database.fetchValue("PRAGMA integrity_check", as: String.self) == "ok")
        #expect(try reopened.database.fetchValue("PRAGMA foreign_key_check", as: String.self) == nil)
        let resumed = try await Pipeline.run(PipelineFixture.context(inputs, corpus: reopened, model: ScriptedModel()))
        #expect(try reopened.digest(runID: resumed.runID) == expected)
    }
}

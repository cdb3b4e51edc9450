import Corpus
import Foundation

/// The whole pipeline: ingest → comment → synthesize → audit, over one corpus.
public enum Pipeline {
    /// What a run did, for the summary line and for tests.
    public struct Summary: Sendable {
        public var runID: String
        public var items: Int
        /// Comments and syntheses the run holds now (written by this or earlier invocations).
        public var comments: Int
        public var syntheses: Int
        /// Comments whose answer stopped at `max_tokens` rather than ending by itself.
        public var truncatedComments: Int
        public var stages: [StageReport]
        public var freshCalls: Int
        public var replayedCalls: Int
        public var seconds: Double
    }

    /// Runs every stage. The run's status is `finished` when all stages complete,
    /// `interrupted` when the context's stop signal ended it, and `failed` when one throws (the
    /// error is rethrown; the answers delivered and the outputs made of them stay stored, so
    /// running again resumes). A shard's run skips the audit.
    public static func run(_ context: StageContext) async throws -> Summary {
        let started = Date()
        try Stages.ingest(context.inputs, into: context.corpus)
        try context.corpus.setRunStatus(id: context.runID, status: .running)
        var reports: [StageReport] = []
        do {
            reports.append(try await Stages.comment(context))
            reports.append(try await Stages.synthesize(context))
            // A shard's audit would summarise part of the run: the merged corpus is audited.
            if context.options.shard == nil { reports.append(try await Stages.audit(context)) }
            try context.corpus.setRunStatus(id: context.runID, status: .finished)
        } catch {
            try? context.corpus.setRunStatus(id: context.runID, status: error is RunStopped ? .interrupted : .failed)
            throw error
        }
        return Summary(
            runID: context.runID, items: context.inputs.items.count,
            comments: try context.corpus.comments(runID: context.runID).count,
            syntheses: try context.corpus.syntheses(runID: context.runID).count,
            truncatedComments: try context.corpus.truncatedCommentCount(runID: context.runID),
            stages: reports, freshCalls: context.tally.fresh, replayedCalls: context.tally.replayed,
            seconds: Date().timeIntervalSince(started))
    }

    /// Runs one stage on its own (the `comment`, `synthesize` and `audit` commands): a stop
    /// signal that ends it marks the run `interrupted`, as it would a whole run, so
    /// `pluralism corpus runs` tells a stopped run from one still going.
    public static func stage<Report>(_ context: StageContext,
                                     _ body: (StageContext) async throws -> Report) async throws -> Report {
        do {
            return try await body(context)
        } catch let stop as RunStopped {
            try? context.corpus.setRunStatus(id: context.runID, status: .interrupted)
            throw stop
        }
    }
}

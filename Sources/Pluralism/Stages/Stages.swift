import ContentHash
import Corpus
import Foundation

/// The pipeline's stages. Each reads what it needs from the corpus, writes its outputs there
/// in one transaction per finished batch, and skips work already stored — so running a stage
/// twice does nothing new, and a stage killed at any point resumes where it stopped with
/// nothing lost or duplicated.
public enum Stages {
    // MARK: ingest

    /// Stores the run manifest (config, input file hashes, tool version, seed), its items and
    /// its communities. Idempotent: a run already stored is left as it is.
    @discardableResult
    public static func ingest(_ inputs: RunInputs, into corpus: Corpus) throws -> RunRecord {
        let config = inputs.config
        let runID = inputs.runID
        return try corpus.transaction {
            if let existing = try corpus.run(id: runID) { return existing }
            let run = RunRecord(
                id: runID, name: config.name, configJSON: config.canonicalJSON, inputHashes: inputs.fileHashes,
                toolVersion: PipelineVersion.current, seed: config.seed, status: .running)
            try corpus.insertRun(run)
            try corpus.insertItems(inputs.items.enumerated().map { ordinal, item in
                ItemRecord(runID: runID, id: item.id, mode: item.mode.rawValue, pool: item.pool,
                           sourceFile: item.sourceFile, line: item.line, ordinal: ordinal,
                           contentJSON: item.contentJSON, contentHash: SHA256.hex(item.contentJSON))
            })
            try corpus.insertCommunities(config.communities.enumerated().map { ordinal, community in
                CommunityRecord(runID: runID, name: community.name, pool: community.pool,
                                description: community.description, systemPrompt: community.systemPrompt,
                                profile: community.profile, modelJSON: community.model.canonicalJSON, ordinal: ordinal,
                                label: community.label ?? "")
            })
            return run
        }
    }

    // MARK: comment

    /// Every community of an item's pool comments on the item (one sample each). Requests to
    /// the same model are batched across communities and items, so the embedded engine decodes
    /// several comments at once.
    public static func comment(_ context: StageContext) async throws -> StageReport {
        let clock = StageClock(context.tally)
        _ = try context.requireRun()
        let config = context.config
        let done = Set(try context.corpus.comments(runID: context.runID).map { CommentKey($0.itemID, $0.community, $0.sampleIndex) })

        var pending: [(item: Item, community: CommunitySpec)] = []
        var alreadyDone = 0
        for item in context.inputs.items {
            for community in config.communities(inPool: item.pool) {
                if done.contains(CommentKey(item.id, community.name, 0)) {
                    alreadyDone += 1
                } else {
                    pending.append((item, community))
                }
            }
        }

        // Nothing to draw when nothing is pending; otherwise the line shows at once, before
        // the first batch (which can take a minute) is done.
        let progress = ProgressReporter(label: "comments", total: pending.count, quiet: context.options.quiet || pending.isEmpty)
        progress.advance(by: 0)
        defer { progress.finish() }
        var written = 0
        for group in groupedPreservingOrder(pending, by: { $0.community.model }) {
            let model = try context.archivedModel(for: group.key)
            for batch in group.members.chunked(context.options.batchSize) {
                try context.stop.check()
                let requests = batch.map { task in
                    var decoding = task.community.decoding
                    decoding.seed = CallSeed.derive(runSeed: config.seed, itemID: task.item.id,
                                                    purpose: "comment/\(task.community.name)")
                    return ModelRequest(messages: Prompts.comment(item: task.item, community: task.community),
                                        decoding: decoding, sampleIndex: 0)
                }
                let answers = try await model.respond(to: requests)
                try context.corpus.transaction {
                    for (task, answer) in zip(batch, answers) {
                        try context.corpus.insertComment(CommentRecord(
                            runID: context.runID, itemID: task.item.id, community: task.community.name,
                            sampleIndex: 0, text: answer.response.text, callKey: answer.key))
                    }
                }
                written += batch.count
                progress.advance(by: batch.count)
            }
        }
        return clock.report("comment", written: written, alreadyDone: alreadyDone)
    }

    struct CommentKey: Hashable {
        var item: String
        var community: String
        var sample: Int
        init(_ item: String, _ community: String, _ sample: Int) {
            self.item = item
            self.community = community
            self.sample = sample
        }
    }
}

/// Groups elements by a key, groups in order of first appearance, members in original order.
func groupedPreservingOrder<Element, Key: Hashable>(_ elements: [Element], by key: (Element) -> Key) -> [(key: Key, members: [Element])] {
    var order: [Key] = []
    var groups: [Key: [Element]] = [:]
    for element in elements {
        let k = key(element)
        if groups[k] == nil { order.append(k) }
        groups[k, default: []].append(element)
    }
    return order.map { ($0, groups[$0]!) }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: Swift.max(1, size)).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

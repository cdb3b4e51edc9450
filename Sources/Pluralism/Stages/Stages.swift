import ContentHash
import Corpus
import Foundation

/// The pipeline's stages. Each reads what it needs from the corpus, hands every pending call
/// of a model to that model at once (through its archive), and writes each output as soon as
/// its answers are in, in the archive's group commits; it skips work already stored — so
/// running a stage twice does nothing new, and a stage killed at any point resumes where it
/// stopped with nothing lost or duplicated. Every call's seed comes from what it is for, and
/// every output is made from its answers in request order, so the order answers complete in
/// never changes a byte.
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

    /// Every community of an item's pool comments on the item (one sample each). All comments
    /// a model writes go to it at once (the embedded engine decodes several together, a server
    /// gets up to its `max_in_flight`), different models work at the same time, and each
    /// comment is stored as it arrives.
    public static func comment(_ context: StageContext) async throws -> StageReport {
        let clock = StageClock(context.tally)
        _ = try context.requireRun()
        let config = context.config
        let done = Set(try context.corpus.comments(runID: context.runID).map { CommentKey($0.itemID, $0.community, $0.sampleIndex) })

        var pending: [(item: Item, community: CommunitySpec)] = []
        var alreadyDone = 0
        for item in context.workItems {
            for community in config.communities(inPool: item.pool) {
                if done.contains(CommentKey(item.id, community.name, 0)) {
                    alreadyDone += 1
                } else {
                    pending.append((item, community))
                }
            }
        }

        // Nothing to draw when nothing is pending; otherwise the line shows at once, before
        // the first answer (which can take a minute) is in.
        let progress = ProgressReporter(label: "comments", total: pending.count, quiet: context.options.quiet || pending.isEmpty)
        progress.advance(by: 0)
        defer { progress.finish() }
        let groups = try groupedPreservingOrder(pending, by: { $0.community.model }).map { group in
            (model: try context.archivedModel(for: group.key), tasks: group.members)
        }
        let written = Counter()
        let (runID, writes) = (context.runID, context.writes)
        try await withThrowingTaskGroup(of: Void.self) { running in
            for group in groups {
                running.addTask {
                    let requests = group.tasks.map { task in
                        var decoding = task.community.decoding
                        decoding.seed = CallSeed.derive(runSeed: config.seed, itemID: task.item.id,
                                                        purpose: "comment/\(task.community.name)")
                        return ModelRequest(messages: Prompts.comment(item: task.item, community: task.community),
                                            decoding: decoding, sampleIndex: 0)
                    }
                    try await group.model.respond(to: requests) { index, answer in
                        let task = group.tasks[index]
                        let comment = CommentRecord(runID: runID, itemID: task.item.id, community: task.community.name,
                                                    sampleIndex: 0, text: answer.response.text, callKey: answer.key)
                        try writes.add { try $0.insertComment(comment) }
                        written.add(1)
                        progress.advance(by: 1)
                    }
                }
            }
            try await running.waitForAll()
        }
        return clock.report("comment", written: written.value, alreadyDone: alreadyDone)
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
func groupedPreservingOrder<Element, Key: Hashable>(_ elements: [Element], by key: (Element) throws -> Key) rethrows -> [(key: Key, members: [Element])] {
    var order: [Key] = []
    var groups: [Key: [Element]] = [:]
    for element in elements {
        let k = try key(element)
        if groups[k] == nil { order.append(k) }
        groups[k, default: []].append(element)
    }
    return order.map { ($0, groups[$0]!) }
}

/// A count shared by concurrent deliveries.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    var value: Int { lock.withLock { count } }

    func add(_ amount: Int) { lock.withLock { count += amount } }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: Swift.max(1, size)).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

import Foundation

/// Everything stored about one item of a run: what reports show on the item's page.
public struct ItemContents: Sendable, Equatable {
    public var item: ItemRecord
    /// In community order, then sample index.
    public var comments: [CommentRecord]
    /// By method name.
    public var syntheses: [SynthesisRecord]
    /// By method, then per community in community order, the mixed one ("") last.
    public var distributions: [DistributionRecord]
    /// By method, metric and community name.
    public var audits: [AuditRecord]

    public init(item: ItemRecord, comments: [CommentRecord] = [], syntheses: [SynthesisRecord] = [],
                distributions: [DistributionRecord] = [], audits: [AuditRecord] = []) {
        self.item = item
        self.comments = comments
        self.syntheses = syntheses
        self.distributions = distributions
        self.audits = audits
    }
}

/// One per-item audit score without its evidence (histograms, diffs).
public struct AuditScore: Sendable, Equatable {
    public var itemID, method, metric, community: String
    public var score: Double?

    public init(itemID: String, method: String, metric: String, community: String, score: Double?) {
        self.itemID = itemID
        self.method = method
        self.metric = metric
        self.community = community
        self.score = score
    }
}

// Bulk reads for reports: a run's contents a slice of items at a time, so a report over a
// large run holds one slice in memory instead of the whole run, and runs one query per table
// per slice instead of one per item.
extension Corpus {
    /// Ids bound per `IN (...)` list. Lists are padded to this size by repeating their last id,
    /// so each query is one cached statement whatever the slice's size.
    static let idsPerQuery = 50

    /// The contents of the given items of a run, in the order given, read on one snapshot.
    /// Ids with no stored item are left out.
    public func itemContents(runID: String, itemIDs: [String]) throws -> [ItemContents] {
        try read {
            var items: [String: ItemRecord] = [:]
            var comments: [String: [CommentRecord]] = [:]
            var syntheses: [String: [SynthesisRecord]] = [:]
            var distributions: [String: [DistributionRecord]] = [:]
            var audits: [String: [AuditRecord]] = [:]
            try forEachIDList(itemIDs) { placeholders, ids in
                let arguments: [any DatabaseValueConvertible] = [runID] + ids
                for item in try database.fetchAll(
                    """
                    SELECT run_id, id, mode, pool, source_file, line, ordinal, content_json, content_hash
                    FROM item WHERE run_id = ? AND id IN (\(placeholders))
                    """, arguments, { row in
                        ItemRecord(
                            runID: try row.get(0), id: try row.get(1), mode: try row.get(2), pool: try row.get(3),
                            sourceFile: try row.get(4), line: try row.get(5), ordinal: try row.get(6),
                            contentJSON: try row.get(7), contentHash: try row.get(8))
                    }) {
                    items[item.id] = item
                }
                for comment in try database.fetchAll(
                    """
                    SELECT c.run_id, c.item_id, c.community, c.sample_index, c.text, c.call_key
                    FROM comment c LEFT JOIN community m ON m.run_id = c.run_id AND m.name = c.community
                    WHERE c.run_id = ? AND c.item_id IN (\(placeholders))
                    ORDER BY c.item_id, m.ordinal, c.community, c.sample_index
                    """, arguments, { row in
                        CommentRecord(
                            runID: try row.get(0), itemID: try row.get(1), community: try row.get(2),
                            sampleIndex: try row.get(3), text: try row.get(4), callKey: try row.get(5))
                    }) {
                    comments[comment.itemID, default: []].append(comment)
                }
                for synthesis in try database.fetchAll(
                    """
                    SELECT \(Self.synthesisColumns)
                    FROM synthesis s WHERE s.run_id = ? AND s.item_id IN (\(placeholders)) ORDER BY s.item_id, s.method
                    """, arguments, readSynthesis) {
                    syntheses[synthesis.itemID, default: []].append(synthesis)
                }
                for distribution in try database.fetchAll(
                    """
                    SELECT \(Self.distributionColumns)
                    FROM distribution d LEFT JOIN community m ON m.run_id = d.run_id AND m.name = d.community
                    WHERE d.run_id = ? AND d.item_id IN (\(placeholders))
                    ORDER BY d.item_id, d.method, d.community = '', m.ordinal, d.community
                    """, arguments, readDistribution) {
                    distributions[distribution.itemID, default: []].append(distribution)
                }
                for audit in try database.fetchAll(
                    """
                    SELECT run_id, item_id, method, metric, community, score, evidence_json
                    FROM audit WHERE run_id = ? AND item_id IN (\(placeholders)) ORDER BY item_id, method, metric, community
                    """, arguments, { row in
                        AuditRecord(
                            runID: try row.get(0), itemID: try row.get(1), method: try row.get(2), metric: try row.get(3),
                            community: try row.get(4), score: try row.get(5), evidenceJSON: try row.get(6))
                    }) {
                    audits[audit.itemID, default: []].append(audit)
                }
            }
            var seen: Set<String> = []
            return itemIDs.compactMap { id in
                guard let item = items[id], seen.insert(id).inserted else { return nil }
                return ItemContents(
                    item: item, comments: comments[id] ?? [], syntheses: syntheses[id] ?? [],
                    distributions: distributions[id] ?? [], audits: audits[id] ?? [])
            }
        }
    }

    /// The archived calls with these keys, by key (keys not in the archive are absent).
    public func archivedCalls(keys: [String]) throws -> [String: ArchivedCall] {
        var calls: [String: ArchivedCall] = [:]
        try read {
            try forEachIDList(keys) { placeholders, keys in
                for call in try database.fetchAll(
                    """
                    SELECT key, backend, base_url, model, request_json, response_json, created_at, duration_ms
                    FROM call WHERE key IN (\(placeholders))
                    """, keys, { row in
                        ArchivedCall(
                            key: try row.get(0), backend: try row.get(1), baseURL: try row.get(2), model: try row.get(3),
                            requestJSON: try row.get(4), responseJSON: try row.get(5), createdAt: try row.get(6),
                            durationMS: try row.get(7))
                    }) {
                    calls[call.key] = call
                }
            }
        }
        return calls
    }

    /// A run's per-item scores of one metric, without evidence, in item order, then method and
    /// community.
    public func auditScores(runID: String, metric: String) throws -> [AuditScore] {
        try database.fetchAll(
            """
            SELECT a.item_id, a.method, a.metric, a.community, a.score
            FROM audit a JOIN item i ON i.run_id = a.run_id AND i.id = a.item_id
            WHERE a.run_id = ? AND a.metric = ? ORDER BY i.ordinal, a.item_id, a.method, a.community
            """, [runID, metric]
        ) { row in
            AuditScore(itemID: try row.get(0), method: try row.get(1), metric: try row.get(2), community: try row.get(3),
                       score: try row.get(4))
        }
    }

    /// A run's per-item scores of every metric, without evidence, in item order, then method,
    /// metric and community.
    public func auditScores(runID: String) throws -> [AuditScore] {
        try database.fetchAll(
            """
            SELECT a.item_id, a.method, a.metric, a.community, a.score
            FROM audit a JOIN item i ON i.run_id = a.run_id AND i.id = a.item_id
            WHERE a.run_id = ? ORDER BY i.ordinal, a.item_id, a.method, a.metric, a.community
            """, [runID]
        ) { row in
            AuditScore(itemID: try row.get(0), method: try row.get(1), metric: try row.get(2), community: try row.get(3),
                       score: try row.get(4))
        }
    }

    /// A run's audit rows of one metric, with evidence, in item order, then method and community.
    public func audits(runID: String, metric: String) throws -> [AuditRecord] {
        try database.fetchAll(
            """
            SELECT a.run_id, a.item_id, a.method, a.metric, a.community, a.score, a.evidence_json
            FROM audit a JOIN item i ON i.run_id = a.run_id AND i.id = a.item_id
            WHERE a.run_id = ? AND a.metric = ? ORDER BY i.ordinal, a.item_id, a.method, a.community
            """, [runID, metric]
        ) { row in
            AuditRecord(
                runID: try row.get(0), itemID: try row.get(1), method: try row.get(2), metric: try row.get(3),
                community: try row.get(4), score: try row.get(5), evidenceJSON: try row.get(6))
        }
    }

    /// Calls `body` with `?, ?, …` (`idsPerQuery` of them) and the ids to bind, for each slice of
    /// `ids`; the last slice is padded by repeating its last id (harmless in an `IN` list).
    private func forEachIDList(_ ids: [String], _ body: (String, [String]) throws -> Void) throws {
        let size = Self.idsPerQuery
        let placeholders = Array(repeating: "?", count: size).joined(separator: ", ")
        var start = 0
        while start < ids.count {
            var slice = Array(ids[start..<min(start + size, ids.count)])
            slice += Array(repeating: slice[slice.count - 1], count: size - slice.count)
            try body(placeholders, slice)
            start += size
        }
    }
}

extension Corpus {
    /// The methods a run has answers from, by name.
    public func synthesisMethods(runID: String) throws -> [String] {
        try database.fetchAll("SELECT DISTINCT method FROM synthesis WHERE run_id = ? ORDER BY method", [runID]) { try $0.get(0) }
    }
}

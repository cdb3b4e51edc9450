import Foundation

// The audit stage's tables: per-item scores (`audit`), per-run summaries (`audit_summary`)
// and how the run was measured (`audit_scorer`). docs/audit.md defines every metric.
extension Corpus {
    /// Stores audit scores in one transaction. Fails on a duplicate (run, item, method,
    /// metric, community).
    public func insertAudits(_ audits: [AuditRecord]) throws {
        for audit in audits {
            if let score = audit.score, !score.isFinite {
                throw CorpusError.invalidRecord(
                    table: "audit", key: "(\(audit.runID), \(audit.itemID), \(audit.method), \(audit.metric), '\(audit.community)')",
                    reason: "score is \(score)")
            }
        }
        try transaction {
            for audit in audits {
                try explainingMissingParents(
                    of: "audit (\(audit.runID), \(audit.itemID), \(audit.method), \(audit.metric), '\(audit.community)')",
                    [itemParent(audit.runID, audit.itemID)]
                ) {
                    try database.execute(
                        """
                        INSERT INTO audit (run_id, item_id, method, metric, community, score, evidence_json)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                        [audit.runID, audit.itemID, audit.method, audit.metric, audit.community, audit.score, audit.evidenceJSON])
                }
            }
        }
    }

    /// Whether the audit score is stored.
    public func auditExists(runID: String, itemID: String, method: String, metric: String, community: String = "") throws -> Bool {
        try database.fetchValue(
            "SELECT 1 FROM audit WHERE run_id = ? AND item_id = ? AND method = ? AND metric = ? AND community = ?",
            [runID, itemID, method, metric, community], as: Int.self) != nil
    }

    /// A run's audit scores (of one item when `itemID` is given), in item order, then
    /// method, metric and community name.
    public func audits(runID: String, itemID: String? = nil) throws -> [AuditRecord] {
        let select = """
            SELECT a.run_id, a.item_id, a.method, a.metric, a.community, a.score, a.evidence_json
            FROM audit a JOIN item i ON i.run_id = a.run_id AND i.id = a.item_id
            """
        let order = "ORDER BY i.ordinal, a.item_id, a.method, a.metric, a.community"
        let read = { (row: Row) in
            AuditRecord(
                runID: try row.get(0), itemID: try row.get(1), method: try row.get(2), metric: try row.get(3),
                community: try row.get(4), score: try row.get(5), evidenceJSON: try row.get(6))
        }
        if let itemID {
            return try database.fetchAll("\(select) WHERE a.run_id = ? AND a.item_id = ? \(order)", [runID, itemID], read)
        }
        return try database.fetchAll("\(select) WHERE a.run_id = ? \(order)", [runID], read)
    }

    /// Stores a run's summary rows in one transaction. Fails on a duplicate (run, method,
    /// metric, subject).
    public func insertAuditSummaries(_ summaries: [AuditSummaryRecord]) throws {
        for summary in summaries {
            for (name, number) in [("value", summary.value), ("baseline", summary.baseline)] {
                if let number, !number.isFinite {
                    throw CorpusError.invalidRecord(
                        table: "audit_summary", key: "(\(summary.runID), \(summary.method), \(summary.metric), '\(summary.subject)')",
                        reason: "\(name) is \(number)")
                }
            }
        }
        try transaction {
            for summary in summaries {
                try explainingMissingParents(
                    of: "audit_summary (\(summary.runID), \(summary.method), \(summary.metric), '\(summary.subject)')",
                    [runParent(summary.runID)]
                ) {
                    try database.execute(
                        """
                        INSERT INTO audit_summary (run_id, method, metric, subject, value, count, baseline, evidence_json)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                        [summary.runID, summary.method, summary.metric, summary.subject, summary.value, summary.count,
                         summary.baseline, summary.evidenceJSON])
                }
            }
        }
    }

    /// A run's summary rows, ordered by method, metric and subject.
    public func auditSummaries(runID: String) throws -> [AuditSummaryRecord] {
        try database.fetchAll(
            """
            SELECT run_id, method, metric, subject, value, count, baseline, evidence_json
            FROM audit_summary WHERE run_id = ? ORDER BY method, metric, subject
            """, [runID]
        ) { row in
            AuditSummaryRecord(
                runID: try row.get(0), method: try row.get(1), metric: try row.get(2), subject: try row.get(3),
                value: try row.get(4), count: try row.get(5), baseline: try row.get(6), evidenceJSON: try row.get(7))
        }
    }

    /// How the run's audit was measured, if it has been audited.
    public func auditScorer(runID: String) throws -> AuditScorerRecord? {
        try database.fetchOne(
            "SELECT run_id, scorer, model, thresholds_json, metric_version, created_at FROM audit_scorer WHERE run_id = ?",
            [runID]
        ) { row in
            AuditScorerRecord(
                runID: try row.get(0), scorer: try row.get(1), model: try row.get(2), thresholdsJSON: try row.get(3),
                metricVersion: try row.get(4), createdAt: try row.get(5))
        }
    }

    /// Removes a run's audit rows, summaries and scorer record (before re-scoring with another
    /// scorer or thresholds). Joins the caller's transaction, so a re-audit replaces the old
    /// scores atomically.
    public func deleteAudit(runID: String) throws {
        try transaction {
            try database.execute("DELETE FROM audit WHERE run_id = ?", [runID])
            try database.execute("DELETE FROM audit_summary WHERE run_id = ?", [runID])
            try database.execute("DELETE FROM audit_scorer WHERE run_id = ?", [runID])
        }
    }

    /// Records how the run's audit is measured (replacing an earlier record).
    public func setAuditScorer(_ scorer: AuditScorerRecord) throws {
        try transaction {
            try explainingMissingParents(of: "audit_scorer (\(scorer.runID))", [runParent(scorer.runID)]) {
                try database.execute(
                    """
                    INSERT OR REPLACE INTO audit_scorer (run_id, scorer, model, thresholds_json, metric_version, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                    [scorer.runID, scorer.scorer, scorer.model, scorer.thresholdsJSON, scorer.metricVersion, scorer.createdAt])
            }
        }
    }
}

import Foundation

extension Corpus {
    /// A run's rows, table by table, as merge copies them: parents before children, each
    /// with its primary key and the columns that are not content (timestamps, durations,
    /// where an input was read from, the run's status), which may differ between shards.
    struct MergedTable {
        var name: String
        var key: [String]
        var notContent: [String]
        /// False for the call archive, which is shared by all runs of a corpus.
        var perRun: Bool = true
    }

    static let mergedTables: [MergedTable] = [
        MergedTable(name: "run", key: ["id"], notContent: ["status", "created_at"]),
        MergedTable(name: "item", key: ["run_id", "id"], notContent: ["source_file", "line"]),
        MergedTable(name: "community", key: ["run_id", "name"], notContent: []),
        MergedTable(name: "call", key: ["key"], notContent: ["created_at", "duration_ms"], perRun: false),
        MergedTable(name: "comment", key: ["run_id", "item_id", "community", "sample_index"], notContent: []),
        MergedTable(name: "synthesis", key: ["run_id", "item_id", "method"], notContent: []),
        MergedTable(name: "distribution", key: ["run_id", "item_id", "method", "community"], notContent: []),
        MergedTable(name: "audit_scorer", key: ["run_id"], notContent: ["created_at"]),
        MergedTable(name: "audit", key: ["run_id", "item_id", "method", "metric", "community"], notContent: []),
    ]

    /// What a merge did.
    public struct MergeReport: Sendable {
        public struct Input: Sendable {
            public var path: String
            /// Table → rows this input added (rows already present from an earlier input,
            /// identical in content, are not counted).
            public var added: [String: Int]
        }
        public var runID: String
        public var inputs: [Input]
    }

    /// Merges the corpora of one run's shards (`pluralism run --shard K/N`) into a new corpus
    /// at `output`: the run manifest, items, communities, comments, syntheses, distributions
    /// and per-answer audits of the run, and every archived call. The merged run's digest
    /// equals that of the same work done in one corpus, since the digest covers content only.
    ///
    /// Refused, writing nothing: inputs that hold different runs (or, without `runID`, more
    /// than one run), an `output` that exists, and conflicts: a row present in two inputs
    /// under the same key with different content (all of them are listed). Per-run audit
    /// summaries are not copied (a shard's summary covers part of the run): auditing the
    /// merged run writes them. The merged run's status is `failed` when any input's is,
    /// `running` otherwise, until a run or audit of the merged corpus finishes it.
    ///
    /// The merge is written to a temporary file beside `output` and renamed into place.
    public static func merge(_ inputs: [String], into output: String, runID: String? = nil) throws -> MergeReport {
        guard !inputs.isEmpty else { throw CorpusMergeError.noInputs }
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: output) { throw CorpusMergeError.outputExists(path: output) }

        var runs: [(path: String, runs: [String], status: RunRecord.Status?)] = []
        for path in inputs {
            let corpus = try Corpus.open(path: path, readOnly: true)
            let ids = try corpus.runs().map(\.id)
            let status = try runID.map { try corpus.run(id: $0)?.status } ?? corpus.runs().first?.status
            runs.append((path, ids, status))
        }
        let merged: String
        if let runID {
            if let lacking = runs.first(where: { !$0.runs.contains(runID) }) {
                throw CorpusMergeError.runMissing(path: lacking.path, runID: runID)
            }
            merged = runID
        } else {
            guard runs.allSatisfy({ $0.runs.count == 1 }), Set(runs.map { $0.runs[0] }).count == 1 else {
                throw CorpusMergeError.differentRuns(runs.map { ($0.path, $0.runs) })
            }
            merged = runs[0].runs[0]
        }

        let folder = (output as NSString).deletingLastPathComponent
        let temporary = (folder.isEmpty ? "." : folder) + "/.\((output as NSString).lastPathComponent).merging-\(UUID().uuidString)"
        let removeTemporary = {
            for suffix in ["", "-wal", "-shm", "-journal", "-lock"] { try? fileManager.removeItem(atPath: temporary + suffix) }
        }
        var report = MergeReport(runID: merged, inputs: [])
        do {
            try mergeInto(temporary, inputs: inputs, runID: merged, statuses: runs.map(\.status), report: &report)
            guard !fileManager.fileExists(atPath: output) else { throw CorpusMergeError.outputExists(path: output) }
            try fileManager.moveItem(atPath: temporary, toPath: output)
        } catch {
            removeTemporary()
            throw error
        }
        removeTemporary()
        return report
    }

    /// Writes the merge into a new corpus file and closes it, its log folded into the file,
    /// so the one file can be renamed.
    private static func mergeInto(_ path: String, inputs: [String], runID: String, statuses: [RunRecord.Status?],
                                  report: inout MergeReport) throws {
        let corpus = try Corpus.open(path: path)
        let database = corpus.database
        var conflicts: [CorpusMergeError.Conflict] = []
        for input in inputs {
            try database.execute("ATTACH DATABASE ? AS source", [input])
            do {
                var added: [String: Int] = [:]
                try corpus.transaction {
                    for table in mergedTables {
                        let columns = try database.fetchAll("SELECT name FROM pragma_table_info(?)", [table.name]) {
                            try $0.get(0, as: String.self)
                        }
                        let scope = table.perRun ? "s.\(table.name == "run" ? "id" : "run_id") = ?" : "1"
                        let arguments: [any DatabaseValueConvertible] = table.perRun ? [runID] : []
                        let compared = columns.filter { !table.key.contains($0) && !table.notContent.contains($0) }
                        if !compared.isEmpty {
                            let join = table.key.map { "m.\($0) = s.\($0)" }.joined(separator: " AND ")
                            let differs = compared.map { "m.\($0) IS NOT s.\($0)" }.joined(separator: " OR ")
                            let keyList = table.key.map { "quote(s.\($0))" }.joined(separator: " || ', ' || ")
                            let found = try database.fetchAll(
                                """
                                SELECT \(keyList), \(compared.map { "CASE WHEN m.\($0) IS NOT s.\($0) THEN '\($0)' END" }.joined(separator: ", "))
                                FROM source.\(table.name) s JOIN main.\(table.name) m ON \(join)
                                WHERE \(scope) AND (\(differs))
                                """, arguments
                            ) { row -> CorpusMergeError.Conflict in
                                let differing = try (1..<(compared.count + 1)).compactMap { try row.get($0, as: String?.self) }
                                return CorpusMergeError.Conflict(path: input, table: table.name, key: try row.get(0),
                                                                 columns: differing)
                            }
                            conflicts += found
                        }
                        let list = columns.joined(separator: ", ")
                        try database.execute(
                            "INSERT OR IGNORE INTO main.\(table.name) (\(list)) SELECT \(columns.map { "s.\($0)" }.joined(separator: ", ")) FROM source.\(table.name) s WHERE \(scope)",
                            arguments)
                        added[table.name] = database.changes
                    }
                }
                report.inputs.append(.init(path: input, added: added))
            } catch {
                try? database.execute("DETACH DATABASE source")
                throw error
            }
            try database.execute("DETACH DATABASE source")
        }
        if !conflicts.isEmpty { throw CorpusMergeError.conflicts(conflicts) }
        let status: RunRecord.Status = statuses.contains(.failed) ? .failed : .running
        try corpus.setRunStatus(id: runID, status: status)
        try database.executeScript("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE")
    }
}

/// Why corpora could not be merged. Nothing was written.
public enum CorpusMergeError: Error, CustomStringConvertible, Sendable {
    /// The same key in two inputs with different content.
    public struct Conflict: Sendable, CustomStringConvertible {
        public var path: String
        public var table: String
        /// The key's values, quoted as SQL literals.
        public var key: String
        /// The content columns that differ.
        public var columns: [String]
        public var description: String {
            "\(path): \(table) (\(key)): \(columns.joined(separator: ", ")) differ from an earlier input's"
        }
    }

    case noInputs
    case outputExists(path: String)
    /// The inputs' runs: each input must hold the same one run (or name it with `--run`).
    case differentRuns([(path: String, runs: [String])])
    case runMissing(path: String, runID: String)
    case conflicts([Conflict])

    public var description: String {
        switch self {
        case .noInputs:
            return "nothing to merge: name at least one input corpus"
        case .outputExists(let path):
            return "\(path) exists: merge writes a new corpus and never overwrites one; choose another path"
        case .differentRuns(let inputs):
            let lines = inputs.map { "  \($0.path): \($0.runs.isEmpty ? "no run" : $0.runs.joined(separator: ", "))" }
            return "these corpora are not shards of one run (only corpora holding the same run id merge; "
                + "with several runs in a file, pick one with --run):\n" + lines.joined(separator: "\n")
        case .runMissing(let path, let runID):
            return "\(path) does not hold run \(runID)"
        case .conflicts(let conflicts):
            let shown = conflicts.prefix(20).map { "  \($0)" }
            let more = conflicts.count > 20 ? ["  … and \(conflicts.count - 20) more"] : []
            return "\(conflicts.count) conflict\(conflicts.count == 1 ? "" : "s") (same key, different content); nothing was written:\n"
                + (shown + more).joined(separator: "\n")
        }
    }
}

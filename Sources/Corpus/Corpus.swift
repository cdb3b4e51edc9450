// Corpus: the SQLite store of a pluralism run: schema and migrations, the call archive,
// typed reads and writes, and the content digest.
import CSQLite
import ContentHash
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A corpus file: the runs, their items and communities, the comments and syntheses, and
/// the archive of every model call, in one SQLite file readable with the `sqlite3` shell
/// (docs/corpus-schema.md documents the tables).
///
/// Every write runs in a transaction (writes inside a `transaction` body join it), so an
/// interrupted process leaves whole records or none. Safe to share between threads: calls
/// are serialised on one connection.
public final class Corpus: @unchecked Sendable {
    /// The file's path, as given to `open`.
    public let path: String
    /// The connection, for queries this API does not cover (reports, ad-hoc analysis).
    public let database: Database

    /// The writer lock (exclusive) or the immutable reader's claim on it (shared), held
    /// while the corpus is open.
    private let lock: WriterLock.Handle?

    private init(path: String, database: Database, lock: WriterLock.Handle?) {
        self.path = path
        self.database = database
        self.lock = lock
    }

    /// Opens the corpus at `path`, creating it (and its parent folder) when missing and
    /// migrating an older schema; WAL journal, foreign keys enforced.
    ///
    /// A writer holds the corpus's writer lock (`<path>-lock`) until it is closed: a second
    /// process that opens the corpus to write waits for it, after `waiting` is told who
    /// holds it, so two runs never interleave or call the same models twice.
    ///
    /// With `readOnly`, the file must exist at the current schema version and is never
    /// written (for digests and exports of a corpus another process may be writing). When no
    /// other process writes it, or its folder is read-only, it is opened as immutable: no
    /// `-wal`/`-shm` file is created beside it, and read-only media work.
    ///
    /// A file that is not a corpus (not SQLite, corrupt, another program's database) or one
    /// written by a newer tool is refused with an error naming the path, and left unchanged.
    public static func open(path: String, readOnly: Bool = false, waiting: (String) -> Void = { _ in }) throws -> Corpus {
        try open(path: path, readOnly: readOnly, migrations: Schema.migrations, waiting: waiting)
    }

    /// `open` with a given list of migrations (the tests' way to exercise migrating).
    static func open(path: String, readOnly: Bool, migrations: [Schema.Migration],
                     waiting: (String) -> Void = { _ in }) throws -> Corpus {
        let knownVersion = migrations.last?.version ?? 0
        let fileManager = FileManager.default
        var access = Database.Access.readWrite
        var readerClaim: WriterLock.Handle?
        if readOnly {
            if let problem = CorpusPath.readProblem(path) { throw problem }
            (access, readerClaim) = readAccess(path)
        } else {
            if let problem = CorpusPath.writeProblem(path) { throw problem }
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty && !fileManager.fileExists(atPath: parent) {
                do {
                    try fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
                } catch {
                    throw CorpusError.cannotCreate(path: path, reason: "cannot create the folder \(parent): \(error.localizedDescription)")
                }
            }
        }
        let database: Database
        do {
            database = try Database(path: path, access: access)
        } catch let error as DatabaseError {
            throw CorpusError.cannotOpen(path: path, reason: String(cString: sqlite3_errstr(error.extendedCode)))
        }

        // Look before writing anything: the first read of the header is what tells a
        // non-SQLite or damaged file apart.
        let tables: Int, applicationID: Int, version: Int
        do {
            tables = try database.fetchValue("SELECT count(*) FROM sqlite_schema") ?? 0
            applicationID = try database.fetchValue("PRAGMA application_id") ?? 0
            version = try database.fetchValue("PRAGMA user_version") ?? 0
        } catch let error as DatabaseError {
            if error.isCorrupt {
                throw CorpusError.notACorpus(path: path, reason: "not a readable SQLite database (\(error.message))")
            }
            throw CorpusError.cannotOpen(path: path, reason: error.message)
        }
        if applicationID != 0 && applicationID != Int(Schema.applicationID) {
            throw CorpusError.notACorpus(
                path: path, reason: "an SQLite database of another application (application_id \(applicationID))")
        }
        if applicationID == 0 && tables > 0 {
            throw CorpusError.notACorpus(path: path, reason: "an SQLite database with \(tables) schema objects of its own")
        }
        if version > knownVersion {
            throw CorpusError.newerSchema(path: path, version: version, supported: knownVersion)
        }
        if readOnly {
            if tables == 0 { throw CorpusError.notACorpus(path: path, reason: "an empty database") }
            if version < knownVersion {
                throw CorpusError.olderSchema(path: path, version: version, supported: knownVersion)
            }
            try database.executeScript("PRAGMA foreign_keys = ON")
            return Corpus(path: path, database: database, lock: readerClaim)
        }
        // The file is a corpus (or new): only now is anything created beside it.
        let writerLock = try WriterLock.exclusive(corpus: path) { holder in
            waiting("corpus \(path) is being written by \(holder); waiting for it to finish (Ctrl-C to give up)")
        }
        // WAL: readers (digest, export, reports) never block the writing stage and vice
        // versa; synchronous=NORMAL is still safe against a crash or kill -9 of the process.
        try database.executeScript("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL")
        try database.executeScript("PRAGMA foreign_keys = ON")
        let corpus = Corpus(path: path, database: database, lock: writerLock)
        try corpus.migrate(migrations)
        return corpus
    }

    /// How a read-only command opens `path`: immutable (nothing created beside the file, no
    /// locks) when no process writes it, holding the shared lock so none starts meanwhile,
    /// or when its folder is read-only; else SQLite's read-only mode, which reads the
    /// writer's `-wal` as it grows.
    private static func readAccess(_ path: String) -> (Database.Access, WriterLock.Handle?) {
        let folderIsWritable = Glibc.access(CorpusPath.folder(of: path), W_OK) == 0
        if !folderIsWritable { return (.immutable, nil) }
        if WriterLock.isHeldExclusively(corpus: path) { return (.readOnly, nil) }
        let claim = WriterLock.sharedIfIdle(corpus: path)
        let lockExists = FileManager.default.fileExists(atPath: WriterLock.lockPath(forCorpus: path))
        let walExists = FileManager.default.fileExists(atPath: path + "-wal")
        if let claim, !walExists { return (.immutable, claim) }
        // A lock file without a claim: a writer is at work. No lock file and no -wal: the
        // file was last written by something other than this tool, and is at rest.
        if !lockExists && !walExists { return (.immutable, nil) }
        return (.readOnly, claim)
    }

    /// The schema version this tool writes.
    public static var schemaVersion: Int { Schema.currentVersion }

    /// The file's schema version (`PRAGMA user_version`).
    public func schemaVersion() throws -> Int { try database.fetchValue("PRAGMA user_version") ?? 0 }

    /// Applies the missing migrations, one transaction each. The version is read inside the
    /// write transaction, so two processes opening a new file at once do not both migrate.
    private func migrate(_ migrations: [Schema.Migration]) throws {
        let knownVersion = migrations.last?.version ?? 0
        while try database.transaction({ () throws -> Bool in
            let version = try schemaVersion()
            if version > knownVersion {
                throw CorpusError.newerSchema(path: path, version: version, supported: knownVersion)
            }
            guard let step = migrations.first(where: { $0.version == version + 1 }) else { return false }
            try database.executeScript(step.sql)
            // Pragmas take no bound parameters; both numbers are this file's own constants.
            try database.executeScript("PRAGMA user_version = \(step.version); PRAGMA application_id = \(Schema.applicationID)")
            return true
        }) {}
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    /// Corpus writes inside `body` join it; nested calls join the outer transaction.
    ///
    /// The corpus is locked for the whole of `body`: other threads' corpus calls wait, so
    /// `body` must not wait for them (run model calls first, then store their results).
    public func transaction<T>(_ body: () throws -> T) throws -> T { try database.transaction(body) }

    /// Runs `body` on one consistent snapshot of the file (several reads that must agree).
    public func read<T>(_ body: () throws -> T) throws -> T { try database.read(body) }

    /// The current time in ISO 8601 (UTC, milliseconds), the format of `created_at` columns.
    public static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    // MARK: Runs

    /// Records a run's manifest. Idempotent on `id`: the first manifest stored is kept.
    public func insertRun(_ run: RunRecord) throws {
        try transaction {
            try database.execute(
                """
                INSERT OR IGNORE INTO run (id, name, config_json, input_hashes_json, tool_version, seed, status, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [run.id, run.name, run.configJSON, JSONColumn.encode(run.inputHashes), run.toolVersion,
                 String(run.seed), run.status.rawValue, run.createdAt])
        }
    }

    private static let runColumns = "id, name, config_json, input_hashes_json, tool_version, seed, status, created_at"

    private func readRun(_ row: Row) throws -> RunRecord {
        let id: String = try row.get(0)
        let seedText: String = try row.get(5)
        let statusText: String = try row.get(6)
        guard let seed = UInt64(seedText) else {
            throw CorpusError.invalidValue(table: "run", column: "seed", key: id, reason: "\(seedText) is not an unsigned 64-bit integer")
        }
        guard let status = RunRecord.Status(rawValue: statusText) else {
            throw CorpusError.invalidValue(table: "run", column: "status", key: id, reason: "unknown status \(statusText)")
        }
        return RunRecord(
            id: id, name: try row.get(1), configJSON: try row.get(2),
            inputHashes: try JSONColumn.decode([String: String].self, try row.get(3), table: "run", column: "input_hashes_json", key: id),
            toolVersion: try row.get(4), seed: seed, status: status, createdAt: try row.get(7))
    }

    /// The run with this id, if stored.
    public func run(id: String) throws -> RunRecord? {
        try database.fetchOne("SELECT \(Self.runColumns) FROM run WHERE id = ?", [id], readRun)
    }

    /// All runs, oldest first.
    public func runs() throws -> [RunRecord] {
        try database.fetchAll("SELECT \(Self.runColumns) FROM run ORDER BY created_at, id", [], readRun)
    }

    /// Sets a run's status; throws `unknownRun` when there is no such run.
    public func setRunStatus(id: String, status: RunRecord.Status) throws {
        try transaction {
            try database.execute("UPDATE run SET status = ? WHERE id = ?", [status.rawValue, id])
            if database.changes == 0 { throw CorpusError.unknownRun(id: id) }
        }
    }

    // MARK: Items and communities

    /// Stores a run's items. Idempotent on (runID, id): an item already stored is kept.
    public func insertItems(_ items: [ItemRecord]) throws {
        try transaction {
            for item in items {
                try explainingMissingParents(of: "item (\(item.runID), \(item.id))", [runParent(item.runID)]) {
                    try database.execute(
                    """
                    INSERT OR IGNORE INTO item (run_id, id, mode, pool, source_file, line, ordinal, content_json, content_hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                        [item.runID, item.id, item.mode, item.pool, item.sourceFile, item.line, item.ordinal,
                         item.contentJSON, item.contentHash])
                }
            }
        }
    }

    /// A run's items in input order.
    public func items(runID: String) throws -> [ItemRecord] {
        try database.fetchAll(
            """
            SELECT run_id, id, mode, pool, source_file, line, ordinal, content_json, content_hash
            FROM item WHERE run_id = ? ORDER BY ordinal, id
            """, [runID]
        ) { row in
            ItemRecord(
                runID: try row.get(0), id: try row.get(1), mode: try row.get(2), pool: try row.get(3),
                sourceFile: try row.get(4), line: try row.get(5), ordinal: try row.get(6),
                contentJSON: try row.get(7), contentHash: try row.get(8))
        }
    }

    /// Stores a run's communities. Idempotent on (runID, name).
    public func insertCommunities(_ communities: [CommunityRecord]) throws {
        try transaction {
            for community in communities {
                try explainingMissingParents(of: "community (\(community.runID), \(community.name))", [runParent(community.runID)]) {
                    try database.execute(
                    """
                    INSERT OR IGNORE INTO community (run_id, name, pool, description, system_prompt, profile, model_json, ordinal,
                                                     label)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                        [community.runID, community.name, community.pool, community.description, community.systemPrompt,
                         community.profile, community.modelJSON, community.ordinal, community.label])
                }
            }
        }
    }

    /// A run's communities in configuration order.
    public func communities(runID: String) throws -> [CommunityRecord] {
        try database.fetchAll(
            """
            SELECT run_id, name, pool, description, system_prompt, profile, model_json, ordinal, label
            FROM community WHERE run_id = ? ORDER BY ordinal, name
            """, [runID]
        ) { row in
            CommunityRecord(
                runID: try row.get(0), name: try row.get(1), pool: try row.get(2), description: try row.get(3),
                systemPrompt: try row.get(4), profile: try row.get(5), modelJSON: try row.get(6), ordinal: try row.get(7),
                label: try row.get(8))
        }
    }

    // MARK: The call archive

    /// The archived call with this key, if any.
    public func archivedCall(key: String) throws -> ArchivedCall? {
        try database.fetchOne(
            """
            SELECT key, backend, base_url, model, request_json, response_json, created_at, duration_ms
            FROM call WHERE key = ?
            """, [key]
        ) { row in
            ArchivedCall(
                key: try row.get(0), backend: try row.get(1), baseURL: try row.get(2), model: try row.get(3),
                requestJSON: try row.get(4), responseJSON: try row.get(5), createdAt: try row.get(6),
                durationMS: try row.get(7))
        }
    }

    /// Archives a call. A key already archived keeps its first answer: the same request
    /// always replays the same response.
    public func archiveCall(_ call: ArchivedCall) throws {
        try transaction {
            try database.execute(
                """
                INSERT OR IGNORE INTO call (key, backend, base_url, model, request_json, response_json, created_at, duration_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [call.key, call.backend, call.baseURL, call.model, call.requestJSON, call.responseJSON, call.createdAt,
                 call.durationMS])
        }
    }

    /// How many calls the archive holds (all runs together).
    public func archivedCallCount() throws -> Int { try database.fetchValue("SELECT count(*) FROM call") ?? 0 }

    // MARK: Comments

    /// Stores a comment. Fails (a `DatabaseError` with `isUniqueViolation`) when the run
    /// already has that (item, community, sample), and (`isForeignKeyViolation`) when the
    /// item, community or archived call does not exist.
    public func insertComment(_ comment: CommentRecord) throws {
        let parents = [
            itemParent(comment.runID, comment.itemID), communityParent(comment.runID, comment.community),
            MissingParent(description: "no archived call \(comment.callKey)", sql: "SELECT 1 FROM call WHERE key = ?", arguments: [comment.callKey]),
        ]
        try transaction {
            try explainingMissingParents(
                of: "comment (\(comment.runID), \(comment.itemID), \(comment.community), \(comment.sampleIndex))", parents
            ) {
                try database.execute(
                    """
                    INSERT INTO comment (run_id, item_id, community, sample_index, text, call_key)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                    [comment.runID, comment.itemID, comment.community, comment.sampleIndex, comment.text, comment.callKey])
            }
        }
    }

    /// Whether the comment is stored (how a resumed stage skips finished work).
    public func commentExists(runID: String, itemID: String, community: String, sampleIndex: Int) throws -> Bool {
        try database.fetchValue(
            "SELECT 1 FROM comment WHERE run_id = ? AND item_id = ? AND community = ? AND sample_index = ?",
            [runID, itemID, community, sampleIndex], as: Int.self) != nil
    }

    /// A run's comments (of one item when `itemID` is given), in item order, then community
    /// order, then sample index.
    public func comments(runID: String, itemID: String? = nil) throws -> [CommentRecord] {
        let select = """
            SELECT c.run_id, c.item_id, c.community, c.sample_index, c.text, c.call_key
            FROM comment c
            JOIN item i ON i.run_id = c.run_id AND i.id = c.item_id
            JOIN community m ON m.run_id = c.run_id AND m.name = c.community
            """
        let order = "ORDER BY i.ordinal, c.item_id, m.ordinal, c.community, c.sample_index"
        let read = { (row: Row) in
            CommentRecord(
                runID: try row.get(0), itemID: try row.get(1), community: try row.get(2), sampleIndex: try row.get(3),
                text: try row.get(4), callKey: try row.get(5))
        }
        if let itemID {
            return try database.fetchAll("\(select) WHERE c.run_id = ? AND c.item_id = ? \(order)", [runID, itemID], read)
        }
        return try database.fetchAll("\(select) WHERE c.run_id = ? \(order)", [runID], read)
    }

    // MARK: Syntheses and distributions

    /// Stores a method's answer to an item together with its distributions, in one
    /// transaction: both or neither. Fails on a duplicate (run, item, method).
    public func insertSynthesis(_ synthesis: SynthesisRecord, distributions: [DistributionRecord]) throws {
        let key = "(\(synthesis.runID), \(synthesis.itemID), \(synthesis.method))"
        for distribution in distributions
        where (distribution.runID, distribution.itemID, distribution.method) != (synthesis.runID, synthesis.itemID, synthesis.method) {
            throw CorpusError.invalidRecord(
                table: "distribution", key: key,
                reason: "distribution for (\(distribution.runID), \(distribution.itemID), \(distribution.method)) given with this synthesis")
        }
        let distributionJSON = try distributions.map { distribution in
            let distributionKey = "\(key) community '\(distribution.community)'"
            for (name, value) in [("covered_mass", distribution.coveredMass), ("weight", distribution.weight)] where !value.isFinite {
                throw CorpusError.invalidRecord(table: "distribution", key: distributionKey, reason: "\(name) is \(value)")
            }
            try JSONColumn.requireJSON(distribution.rotationsJSON, table: "distribution", column: "rotations_json", key: distributionKey)
            return try JSONColumn.encode(distribution.probabilities, table: "distribution", key: distributionKey)
        }
        for (column, text) in [("selection_json", synthesis.selectionJSON), ("answer_tie_json", synthesis.answerTieJSON)] {
            if let text { try JSONColumn.requireJSON(text, table: "synthesis", column: column, key: key) }
        }
        var parents = [itemParent(synthesis.runID, synthesis.itemID)]
        if let selected = synthesis.selectedCommunity { parents.append(communityParent(synthesis.runID, selected)) }
        try transaction {
            try explainingMissingParents(of: "synthesis \(key)", parents) {
                try database.execute(
                    """
                    INSERT INTO synthesis (run_id, item_id, method, text, selected_community, selection_parsed, selection_reply,
                                           answer_option, call_keys_json, selection_method, selection_json, passages_json,
                                           answer_tie_json)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [synthesis.runID, synthesis.itemID, synthesis.method, synthesis.text, synthesis.selectedCommunity,
                     synthesis.selectionParsed, synthesis.selectionReply, synthesis.answerOption,
                     JSONColumn.encode(synthesis.callKeys), synthesis.selectionMethod?.rawValue, synthesis.selectionJSON,
                     synthesis.passages.map(JSONColumn.encode), synthesis.answerTieJSON])
            }
            for (distribution, probabilities) in zip(distributions, distributionJSON) {
                try database.execute(
                    """
                    INSERT INTO distribution (run_id, item_id, method, community, probabilities_json, covered_mass, fallback, weight,
                                              rotations_json)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [distribution.runID, distribution.itemID, distribution.method, distribution.community, probabilities,
                     distribution.coveredMass, distribution.fallback, distribution.weight, distribution.rotationsJSON])
            }
        }
    }

    /// Whether the method's answer to the item is stored.
    public func synthesisExists(runID: String, itemID: String, method: String) throws -> Bool {
        try database.fetchValue(
            "SELECT 1 FROM synthesis WHERE run_id = ? AND item_id = ? AND method = ?", [runID, itemID, method],
            as: Int.self) != nil
    }

    /// The synthesis columns `readSynthesis` reads, in its order (table alias `s`).
    static let synthesisColumns = """
        s.run_id, s.item_id, s.method, s.text, s.selected_community, s.selection_parsed, s.selection_reply,
        s.answer_option, s.call_keys_json, s.selection_method, s.selection_json, s.passages_json, s.answer_tie_json
        """

    func readSynthesis(_ row: Row) throws -> SynthesisRecord {
        let runID: String = try row.get(0), itemID: String = try row.get(1), method: String = try row.get(2)
        let key = "(\(runID), \(itemID), \(method))"
        let methodText: String? = try row.get(9)
        var selectionMethod: SynthesisRecord.SelectionMethod?
        if let methodText {
            guard let known = SynthesisRecord.SelectionMethod(rawValue: methodText) else {
                throw CorpusError.invalidValue(table: "synthesis", column: "selection_method", key: key,
                                               reason: "unknown selection method \(methodText)")
            }
            selectionMethod = known
        }
        let passagesText: String? = try row.get(11)
        return SynthesisRecord(
            runID: runID, itemID: itemID, method: method, text: try row.get(3), selectedCommunity: try row.get(4),
            selectionParsed: try row.get(5), selectionReply: try row.get(6), answerOption: try row.get(7),
            callKeys: try JSONColumn.decode([String].self, try row.get(8), table: "synthesis", column: "call_keys_json", key: key),
            selectionMethod: selectionMethod, selectionJSON: try row.get(10),
            passages: try passagesText.map { try JSONColumn.decode([String].self, $0, table: "synthesis", column: "passages_json", key: key) },
            answerTieJSON: try row.get(12))
    }

    /// A run's syntheses (of one item when `itemID` is given), in item order, then method name.
    public func syntheses(runID: String, itemID: String? = nil) throws -> [SynthesisRecord] {
        let select = """
            SELECT \(Self.synthesisColumns)
            FROM synthesis s JOIN item i ON i.run_id = s.run_id AND i.id = s.item_id
            """
        let order = "ORDER BY i.ordinal, s.item_id, s.method"
        if let itemID {
            return try database.fetchAll("\(select) WHERE s.run_id = ? AND s.item_id = ? \(order)", [runID, itemID], readSynthesis)
        }
        return try database.fetchAll("\(select) WHERE s.run_id = ? \(order)", [runID], readSynthesis)
    }

    /// The distribution columns `readDistribution` reads, in its order (table alias `d`).
    static let distributionColumns = """
        d.run_id, d.item_id, d.method, d.community, d.probabilities_json, d.covered_mass, d.fallback, d.weight, d.rotations_json
        """

    private static let distributionSelect = """
        SELECT \(distributionColumns)
        FROM distribution d
        JOIN item i ON i.run_id = d.run_id AND i.id = d.item_id
        LEFT JOIN community m ON m.run_id = d.run_id AND m.name = d.community
        """
    /// Per-community distributions in community order, the mixed one ("") last.
    private static let distributionOrder = "ORDER BY i.ordinal, d.item_id, d.method, d.community = '', m.ordinal, d.community"

    func readDistribution(_ row: Row) throws -> DistributionRecord {
        let runID: String = try row.get(0), itemID: String = try row.get(1), method: String = try row.get(2)
        let community: String = try row.get(3)
        return DistributionRecord(
            runID: runID, itemID: itemID, method: method, community: community,
            probabilities: try JSONColumn.decode(
                [Double].self, try row.get(4), table: "distribution", column: "probabilities_json",
                key: "(\(runID), \(itemID), \(method), '\(community)')"),
            coveredMass: try row.get(5), fallback: try row.get(6), weight: try row.get(7), rotationsJSON: try row.get(8))
    }

    /// The distributions of one method's answer to one item: per community in community
    /// order, then the mixed one (community "").
    public func distributions(runID: String, itemID: String, method: String) throws -> [DistributionRecord] {
        try database.fetchAll(
            "\(Self.distributionSelect) WHERE d.run_id = ? AND d.item_id = ? AND d.method = ? \(Self.distributionOrder)",
            [runID, itemID, method], readDistribution)
    }

    /// All distributions of a run, in item order, then method, then as above.
    public func distributions(runID: String) throws -> [DistributionRecord] {
        try database.fetchAll(
            "\(Self.distributionSelect) WHERE d.run_id = ? \(Self.distributionOrder)", [runID], readDistribution)
    }

    // MARK: Foreign key messages

    /// A row another row refers to, and how to look for it.
    struct MissingParent {
        let description: String
        let sql: String
        let arguments: [any DatabaseValueConvertible]
    }

    func runParent(_ runID: String) -> MissingParent {
        MissingParent(description: "no run \(runID)", sql: "SELECT 1 FROM run WHERE id = ?", arguments: [runID])
    }

    func itemParent(_ runID: String, _ itemID: String) -> MissingParent {
        MissingParent(description: "no item \(itemID) in run \(runID)", sql: "SELECT 1 FROM item WHERE run_id = ? AND id = ?",
                      arguments: [runID, itemID])
    }

    func communityParent(_ runID: String, _ name: String) -> MissingParent {
        MissingParent(description: "no community \(name) in run \(runID)",
                      sql: "SELECT 1 FROM community WHERE run_id = ? AND name = ?", arguments: [runID, name])
    }

    /// SQLite reports only "FOREIGN KEY constraint failed"; this names the missing rows
    /// (keeping the error a `DatabaseError` with `isForeignKeyViolation`).
    func explainingMissingParents(of row: String, _ parents: [MissingParent], _ write: () throws -> Void) throws {
        do {
            try write()
        } catch var error as DatabaseError where error.isForeignKeyViolation {
            let missing = try parents.filter { try database.fetchValue($0.sql, $0.arguments, as: Int.self) == nil }
            error.message += " for \(row): " + (missing.isEmpty ? "a referenced row is missing" : missing.map(\.description).joined(separator: "; "))
            throw error
        }
    }

    // MARK: Counts

    /// Row counts of a run's tables, on one snapshot.
    public func counts(runID: String) throws -> CorpusCounts {
        try read {
            func count(_ table: String) throws -> Int {
                // Table names come from the fixed list below, never from input.
                try database.fetchValue("SELECT count(*) FROM \(table) WHERE run_id = ?", [runID]) ?? 0
            }
            return CorpusCounts(
                items: try count("item"), communities: try count("community"), comments: try count("comment"),
                syntheses: try count("synthesis"), distributions: try count("distribution"), audits: try count("audit"))
        }
    }
}

/// JSON-valued columns: keys sorted and slashes unescaped, so the text is canonical and
/// reads well in the `sqlite3` shell.
enum JSONColumn {
    private static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func encode(_ dictionary: [String: String]) -> String {
        // Encoding strings cannot fail.
        String(decoding: try! encoder().encode(dictionary), as: UTF8.self)
    }

    static func encode(_ strings: [String]) -> String {
        String(decoding: try! encoder().encode(strings), as: UTF8.self)
    }

    /// Numbers in Swift's shortest round-trip form, so reading them back gives the same bits.
    static func encode(_ numbers: [Double], table: String, key: String) throws -> String {
        if let bad = numbers.first(where: { !$0.isFinite }) {
            throw CorpusError.invalidRecord(table: table, key: key, reason: "probability \(bad) cannot be stored")
        }
        return "[" + numbers.map(\.description).joined(separator: ",") + "]"
    }

    /// Refuses text that is not JSON, so a JSON column always holds what `->>` can query.
    static func requireJSON(_ text: String, table: String, column: String, key: String) throws {
        guard (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil else {
            throw CorpusError.invalidRecord(table: table, key: key, reason: "\(column) is not JSON: \(text.prefix(80))")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String, table: String, column: String, key: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(text.utf8))
        } catch {
            throw CorpusError.invalidValue(table: table, column: column, key: key, reason: "not valid JSON for \(T.self): \(text.prefix(80))")
        }
    }
}

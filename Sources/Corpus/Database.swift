import CSQLite
import Foundation

/// One SQLite connection.
///
/// All access goes through one recursive lock, so the connection can be shared between
/// threads (hence `@unchecked Sendable`): a transaction holds the lock from `BEGIN` to
/// `COMMIT`, and the same thread may re-enter (a write method called inside a transaction
/// body joins that transaction).
public final class Database: @unchecked Sendable {
    /// The file this connection opened.
    public let path: String
    private let connection: OpaquePointer
    private let lock = NSRecursiveLock()
    /// Prepared statements by SQL text: the stages run the same few inserts thousands of times.
    private var statements: [String: Statement] = [:]
    /// How many `transaction` calls are active on the lock-holding thread.
    private var transactionDepth = 0

    /// How a connection may use its file.
    public enum Access: Sendable {
        /// Read and write, creating the file when missing.
        case readWrite
        /// Read only (`SQLITE_OPEN_READONLY`). On a WAL database SQLite may still create the
        /// `-wal`/`-shm` files beside it.
        case readOnly
        /// Read only, and the file is promised not to change while open (`immutable=1`):
        /// no locks, no `-wal`/`-shm` files, so it works on read-only media.
        case immutable
    }

    /// Opens (or, unless `readOnly`, creates) the database at `path`.
    ///
    /// - Parameter busyTimeout: how long a statement waits for another process's lock on
    ///   the file before failing with `SQLITE_BUSY` (two `pluralism` commands on one corpus).
    public convenience init(path: String, readOnly: Bool = false, busyTimeout: Duration = .seconds(10)) throws {
        try self.init(path: path, access: readOnly ? .readOnly : .readWrite, busyTimeout: busyTimeout)
    }

    /// Opens the database at `path` with the given access (see `Access`).
    public init(path: String, access: Access, busyTimeout: Duration = .seconds(10)) throws {
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI  // our lock serialises access
        flags |= access == .readWrite ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY
        var handle: OpaquePointer?
        let code = sqlite3_open_v2(Database.uri(path: path, access: access), &handle, flags, nil)
        guard code == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(handle)
            throw DatabaseError(extendedCode: code, message: "cannot open \(path): \(message)")
        }
        sqlite3_extended_result_codes(handle, 1)
        let milliseconds = busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(handle, Int32(clamping: milliseconds))
        self.path = path
        self.connection = handle
    }

    /// A `file:` URI for `path` (percent-encoded, so `?` or `#` in a name stays a name).
    static func uri(path: String, access: Access) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "/-._~")
        let encoded = path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
        switch access {
        case .readWrite: return "file:\(encoded)"
        case .readOnly: return "file:\(encoded)?mode=ro"
        case .immutable: return "file:\(encoded)?mode=ro&immutable=1"
        }
    }

    deinit {
        statements.removeAll()  // finalize before closing
        sqlite3_close_v2(connection)
    }

    // MARK: Statements

    /// Runs one statement with bound arguments, discarding any rows.
    public func execute(_ sql: String, _ arguments: [any DatabaseValueConvertible] = []) throws {
        try withLock {
            let statement = try cachedStatement(sql)
            defer { statement.reset() }
            try statement.bind(arguments)
            while try statement.step() {}
        }
    }

    /// Runs several `;`-separated statements that take no arguments (schema definitions).
    public func executeScript(_ sql: String) throws {
        try withLock {
            var message: UnsafeMutablePointer<CChar>?
            let code = sqlite3_exec(connection, sql, nil, nil, &message)
            defer { sqlite3_free(message) }
            guard code == SQLITE_OK else {
                throw DatabaseError(
                    extendedCode: sqlite3_extended_errcode(connection),
                    message: message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code)),
                    sql: sql, path: path)
            }
        }
    }

    /// Every row of a query, each turned into a `T` by `read`.
    public func fetchAll<T>(
        _ sql: String, _ arguments: [any DatabaseValueConvertible] = [], _ read: (Row) throws -> T
    ) throws -> [T] {
        try withLock {
            let statement = try cachedStatement(sql)
            defer { statement.reset() }
            try statement.bind(arguments)
            var results: [T] = []
            while try statement.step() { results.append(try read(Row(statement: statement))) }
            return results
        }
    }

    /// The first row of a query, if any.
    public func fetchOne<T>(
        _ sql: String, _ arguments: [any DatabaseValueConvertible] = [], _ read: (Row) throws -> T
    ) throws -> T? {
        try withLock {
            let statement = try cachedStatement(sql)
            defer { statement.reset() }
            try statement.bind(arguments)
            return try statement.step() ? read(Row(statement: statement)) : nil
        }
    }

    /// The first column of the first row, read as `T`; nil when there is no row.
    public func fetchValue<T: DatabaseValueConvertible>(
        _ sql: String, _ arguments: [any DatabaseValueConvertible] = [], as type: T.Type = T.self
    ) throws -> T? {
        try fetchOne(sql, arguments) { try $0.get(0, as: T.self) }
    }

    /// Rows changed by the most recent INSERT, UPDATE or DELETE on this connection (an
    /// `INSERT OR IGNORE` that ignored reports 0).
    public var changes: Int { withLock { Int(sqlite3_changes64(connection)) } }

    // MARK: Transactions

    /// Runs `body` in a transaction: committed when it returns, rolled back when it throws,
    /// so a failed write leaves no partial rows.
    ///
    /// The outermost call starts with `BEGIN IMMEDIATE`, taking the write lock at once (a
    /// deferred transaction that later tries to write can fail with `SQLITE_BUSY` without
    /// waiting). A nested call joins the outer transaction: its writes commit only with the
    /// outer one, and it runs inside a savepoint, so that if it throws and the outer body
    /// catches the error, the nested call's writes are undone and the rest go on.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try withLock {
            let depth = transactionDepth
            let savepoint = "nested\(depth)"  // our own counter, not a value: safe in SQL text
            try executeScript(depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT \(savepoint)")
            transactionDepth += 1
            defer { transactionDepth -= 1 }
            let result: T
            do {
                result = try body()
            } catch {
                try? executeScript(depth == 0 ? "ROLLBACK" : "ROLLBACK TO \(savepoint); RELEASE \(savepoint)")
                throw error
            }
            do {
                try executeScript(depth == 0 ? "COMMIT" : "RELEASE \(savepoint)")
            } catch {
                if depth == 0 { try? executeScript("ROLLBACK") }
                throw error
            }
            return result
        }
    }

    /// Runs `body` in a read transaction, so that its queries see one snapshot of the file
    /// even while another process writes (WAL readers are never blocked by the writer).
    /// Inside an open transaction it simply runs `body`.
    public func read<T>(_ body: () throws -> T) throws -> T {
        try withLock {
            guard transactionDepth == 0 else { return try body() }
            try executeScript("BEGIN DEFERRED")
            transactionDepth += 1
            defer { transactionDepth -= 1 }
            let result: T
            do {
                result = try body()
            } catch {
                try? executeScript("ROLLBACK")
                throw error
            }
            try executeScript("COMMIT")
            return result
        }
    }

    /// Whether a transaction is open on this connection.
    public var isInTransaction: Bool { withLock { sqlite3_get_autocommit(connection) == 0 } }

    // MARK: Internals

    private func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    private func cachedStatement(_ sql: String) throws -> Statement {
        if let statement = statements[sql] { return statement }
        let statement = try Statement(database: self, connection: connection, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// The connection's current error, with the statement that raised it.
    func error(code: Int32, sql: String?) -> DatabaseError {
        let extended = sqlite3_extended_errcode(connection)
        // sqlite3_errmsg describes the connection's latest error; trust it only when it is
        // about this code (bind errors, for one, do not always set it).
        let message = (extended & 0xFF) == (code & 0xFF)
            ? String(cString: sqlite3_errmsg(connection)) : String(cString: sqlite3_errstr(code))
        return DatabaseError(extendedCode: (extended & 0xFF) == (code & 0xFF) ? extended : code, message: message, sql: sql,
                             path: path)
    }
}

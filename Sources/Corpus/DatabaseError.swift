import CSQLite

/// An error reported by SQLite, with what is needed to understand it without a debugger:
/// the result code, SQLite's own message and the statement that failed.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`, ...).
    public var code: Int32 { extendedCode & 0xFF }
    /// The extended result code (`SQLITE_CONSTRAINT_PRIMARYKEY`, ...).
    public var extendedCode: Int32
    /// SQLite's message, or ours when the error is found on the Swift side (a type mismatch).
    public var message: String
    /// The statement that failed, when there is one.
    public var sql: String?

    /// The database file, when the error is about one (a full disk names the file).
    public var path: String?

    public init(extendedCode: Int32, message: String, sql: String? = nil, path: String? = nil) {
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
        self.path = path
    }

    /// The disk (or the file's size limit) is full: nothing of the failed transaction was
    /// written, and the work can go on once there is room.
    public var isFull: Bool { code == SQLITE_FULL }

    /// The operating system failed a read or write (`SQLITE_IOERR`, or a file that
    /// cannot be written: `SQLITE_READONLY`, `SQLITE_CANTOPEN`).
    public var isIOError: Bool { code == SQLITE_IOERR || code == SQLITE_READONLY || code == SQLITE_CANTOPEN }

    /// Another connection holds a lock longer than the busy timeout.
    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }

    /// The file is damaged or not a database.
    public var isCorrupt: Bool { code == SQLITE_CORRUPT || code == SQLITE_NOTADB }

    // Extended codes are C macro expressions, which Swift does not import (sqlite3.h:
    // SQLITE_CONSTRAINT | n << 8).
    private static let constraintForeignKey = SQLITE_CONSTRAINT | 3 << 8
    private static let constraintPrimaryKey = SQLITE_CONSTRAINT | 6 << 8
    private static let constraintUnique = SQLITE_CONSTRAINT | 8 << 8

    /// A row with the same primary key or unique value already exists.
    public var isUniqueViolation: Bool {
        extendedCode == Self.constraintPrimaryKey || extendedCode == Self.constraintUnique
    }

    /// A row refers to a parent row that does not exist (or a parent still has children).
    public var isForeignKeyViolation: Bool { extendedCode == Self.constraintForeignKey }

    public var description: String {
        let name = String(cString: sqlite3_errstr(extendedCode))
        if isFull, let path {
            return "cannot write \(path): the disk (or the file's size limit) is full; nothing of the failed step was "
                + "stored and the corpus is intact: free some space and run the same command again to resume"
        }
        var text = (path.map { "\($0): " } ?? "") + "SQLite error \(extendedCode) (\(name)): \(message)"
        if let sql { text += " — in `\(sql.split(whereSeparator: \.isWhitespace).joined(separator: " "))`" }
        return text
    }
}

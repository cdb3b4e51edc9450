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

    public init(extendedCode: Int32, message: String, sql: String? = nil) {
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

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
        var text = "SQLite error \(extendedCode) (\(name)): \(message)"
        if let sql { text += " — in `\(sql.split(whereSeparator: \.isWhitespace).joined(separator: " "))`" }
        return text
    }
}

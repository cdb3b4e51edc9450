import CSQLite

/// SQLite copies bound text and blobs when given this destructor; the C macro
/// `SQLITE_TRANSIENT` is a cast Swift does not import.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A prepared statement. Values reach it only as bound arguments, never as SQL text.
///
/// Statements belong to their `Database` (which caches them by SQL, so each SQL text is
/// compiled once) and are used only under its lock.
final class Statement {
    let handle: OpaquePointer
    /// The SQL text, kept for error messages.
    let sql: String
    private unowned let database: Database

    init(database: Database, connection: OpaquePointer, sql: String) throws {
        var handle: OpaquePointer?
        // The tail pointer points into the C string SQLite compiled, so it is read inside
        // `withCString`, while that buffer still exists.
        let (code, hasMore) = sql.withCString { text -> (Int32, Bool) in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(connection, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, &tail)
            guard let tail, tail.pointee != 0 else { return (code, false) }
            return (code, !String(cString: tail).allSatisfy(\.isWhitespace))
        }
        guard code == SQLITE_OK, let handle else {
            throw DatabaseError(extendedCode: code, message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
        if hasMore {
            sqlite3_finalize(handle)
            throw DatabaseError(
                extendedCode: SQLITE_MISUSE,
                message: "a statement takes one SQL command; found more after the first (use executeScript)",
                sql: sql)
        }
        self.handle = handle
        self.sql = sql
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds `arguments` to the statement's `?` parameters, in order.
    func bind(_ arguments: [any DatabaseValueConvertible]) throws {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard arguments.count == expected else {
            throw DatabaseError(
                extendedCode: SQLITE_RANGE,
                message: "the statement has \(expected) parameters but \(arguments.count) arguments were given",
                sql: sql)
        }
        for (offset, argument) in arguments.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch argument.databaseValue {
            case .null:
                code = sqlite3_bind_null(handle, index)
            case .integer(let integer):
                code = sqlite3_bind_int64(handle, index, integer)
            case .real(let real):
                code = sqlite3_bind_double(handle, index, real)
            case .text(var text):
                // Bind with an explicit length: a Swift string may contain NUL characters.
                // An empty buffer may have no address, which SQLite would read as NULL.
                code = text.withUTF8 { utf8 in
                    guard let address = utf8.baseAddress, !utf8.isEmpty else {
                        return sqlite3_bind_text(handle, index, "", 0, transient)
                    }
                    return address.withMemoryRebound(to: CChar.self, capacity: utf8.count) { chars in
                        sqlite3_bind_text64(handle, index, chars, UInt64(utf8.count), transient, UInt8(SQLITE_UTF8))
                    }
                }
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { raw in
                    raw.baseAddress.map { sqlite3_bind_blob64(handle, index, $0, UInt64(raw.count), transient) }
                        ?? sqlite3_bind_zeroblob(handle, index, 0)
                }
            }
            guard code == SQLITE_OK else { throw database.error(code: code, sql: sql) }
        }
    }

    /// Advances to the next row: true when a row is available, false when done.
    func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw database.error(code: code, sql: sql)
        }
    }

    /// Returns the statement to its initial state and drops the bound values, so that a
    /// cached statement keeps no large text alive and holds no read transaction open.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }
}

/// The current row of a statement being stepped. Valid only inside the closure that
/// receives it: it reads straight from SQLite's buffers, without copying the row first.
public struct Row {
    let statement: Statement

    /// The number of columns.
    public var count: Int { Int(sqlite3_column_count(statement.handle)) }

    /// The column's name, as the statement defines it.
    public func name(_ index: Int) -> String {
        String(cString: sqlite3_column_name(statement.handle, Int32(index)))
    }

    /// The stored value of a column.
    public func value(_ index: Int) -> DatabaseValue {
        let handle = statement.handle
        let column = Int32(index)
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT:
            return .real(sqlite3_column_double(handle, column))
        case SQLITE_TEXT:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard let bytes = sqlite3_column_text(handle, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(handle, column))
            guard let bytes = sqlite3_column_blob(handle, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            return .null
        }
    }

    /// A column read as `T`; throws, naming the column and the statement, when the stored
    /// value does not fit (a NULL where a string is expected, say).
    public func get<T: DatabaseValueConvertible>(_ index: Int, as type: T.Type = T.self) throws -> T {
        let stored = value(index)
        guard let converted = T.fromDatabaseValue(stored) else {
            throw DatabaseError(
                extendedCode: SQLITE_MISMATCH,
                message: "column \(index) (\(name(index))) holds \(stored.storageClass), which does not read as \(T.self)",
                sql: statement.sql)
        }
        return converted
    }
}

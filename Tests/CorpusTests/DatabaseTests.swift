import Corpus
import Testing

@Suite struct DatabaseTests {
    @Test func argumentsAreBoundNotInterpolated() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let database = try Database(path: folder.file("plain.sqlite"))
        try database.executeScript("CREATE TABLE t (a TEXT, b INTEGER, c REAL, d BLOB)")
        let hostile = "x'); DROP TABLE t; --"
        try database.execute("INSERT INTO t VALUES (?, ?, ?, ?)", [hostile, Int64.min, -0.5, [UInt8]([0, 1, 255])])
        try database.execute("INSERT INTO t VALUES (?, ?, ?, ?)", [String?.none, Int?.none, Double?.none, DatabaseValue.null])
        let rows = try database.fetchAll("SELECT a, b, c, d FROM t ORDER BY rowid") { row in
            [row.value(0), row.value(1), row.value(2), row.value(3)]
        }
        #expect(rows == [[.text(hostile), .integer(.min), .real(-0.5), .blob([0, 1, 255])], [.null, .null, .null, .null]])
    }

    /// One statement per `execute`: a second command is refused, a trailing one of only
    /// whitespace or `;` is not. Many distinct statements exercise the check on fresh SQL text
    /// each time (it once read SQLite's tail pointer after the text's buffer was freed).
    @Test func executeTakesExactlyOneCommand() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let database = try Database(path: folder.file("plain.sqlite"))
        try database.executeScript("CREATE TABLE t (a INTEGER)")
        #expect(throws: DatabaseError.self) { try database.execute("INSERT INTO t VALUES (1); DELETE FROM t") }
        for n in 0..<500 {
            try database.execute("INSERT INTO t (a) VALUES (?)" + String(repeating: " ", count: n % 7), [n])
        }
        #expect(try database.fetchValue("SELECT count(*) FROM t", as: Int.self) == 500)
    }

    @Test func typeMismatchNamesTheColumnAndTheStatement() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let database = try Database(path: folder.file("plain.sqlite"))
        try database.executeScript("CREATE TABLE t (label TEXT)")
        try database.execute("INSERT INTO t VALUES (NULL)")
        #expect {
            try database.fetchValue("SELECT label FROM t", as: String.self)
        } throws: { error in
            let text = "\(error)"
            return text.contains("label") && text.contains("NULL") && text.contains("SELECT label FROM t")
        }
        #expect(try database.fetchValue("SELECT label FROM t", as: String?.self) == .some(nil))
    }

    @Test func wrongArgumentCountAndBadSQLAreClearErrors() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let database = try Database(path: folder.file("plain.sqlite"))
        try database.executeScript("CREATE TABLE t (a)")
        #expect {
            try database.execute("INSERT INTO t VALUES (?)", [])
        } throws: { error in "\(error)".contains("1 parameters but 0 arguments") }
        #expect {
            try database.execute("INSERT INTO nowhere VALUES (1)")
        } throws: { error in
            let text = "\(error)"
            return text.contains("no such table: nowhere") && text.contains("INSERT INTO nowhere")
        }
        #expect {
            try database.execute("INSERT INTO t VALUES (1); DELETE FROM t")
        } throws: { error in "\(error)".contains("executeScript") }
    }
}

import Foundation
import Testing
@testable import Pluralism

/// The streaming CSV reader: RFC 4180 quoting, line numbers across quoted line breaks and
/// chunk boundaries, and an error naming file, line and column for each malformation.
struct ImportCSVTests {
    private func rows(_ text: String) throws -> (header: [String], rows: [CSVRow]) {
        let scratch = try ImportScratch(["t.csv": text])
        defer { scratch.remove() }
        let reader = try CSVReader(path: scratch.file("t.csv"))
        var rows: [CSVRow] = []
        while let row = try reader.next() { rows.append(row) }
        return (reader.header, rows)
    }

    /// The error reading `text` gives, its path shortened to `t.csv`.
    private func error(_ text: String) -> String {
        guard let scratch = try? ImportScratch(["t.csv": text]) else { return "no scratch folder" }
        defer { scratch.remove() }
        do {
            let reader = try CSVReader(path: scratch.file("t.csv"))
            while try reader.next() != nil {}
            return "no error"
        } catch let errors as InputErrors {
            return errors.errors.map { $0.description.replacingOccurrences(of: scratch.file("t.csv"), with: "t.csv") }.joined(separator: "\n")
        } catch {
            return "\(error)"
        }
    }

    @Test func quotedFieldsHoldCommasQuotesAndLineBreaks() throws {
        let (header, rows) = try rows("a, b ,c\r\n1,\"x, \"\"y\"\"\",3\r\n\r\n\"multi\nline\",,\"\"\n4,5,6")
        #expect(header == ["a", "b", "c"])
        #expect(rows.map(\.fields) == [["1", "x, \"y\"", "3"], ["multi\nline", "", ""], ["4", "5", "6"]])
        #expect(rows.map(\.line) == [2, 4, 6])
    }

    @Test func byteOrderMarkIsSkippedAndUTF8Kept() throws {
        let (header, rows) = try rows("\u{FEFF}name,city\nJosé,Zürich\n")
        #expect(header == ["name", "city"])
        #expect(rows.map(\.fields) == [["José", "Zürich"]])
    }

    @Test func rowsSpanningChunkBoundariesReadWhole() throws {
        // 1 MiB chunks: a quoted field of 1.5 MB crosses at least one boundary.
        let long = String(repeating: "ab\"\"c,\n", count: 220_000)
        let (_, rows) = try rows("x,y\n\"\(long)\",tail\n1,2\n")
        #expect(rows.count == 2)
        #expect(rows[0].fields[0] == long.replacingOccurrences(of: "\"\"", with: "\""))
        #expect(rows[0].fields[1] == "tail")
        #expect(rows[1].line == 220_003)
    }

    @Test func malformationsAreReportedWithLineAndColumn() {
        #expect(error("a,b\n1,x\"y\n") == "t.csv:2: b: quote inside an unquoted field; quote the whole field and write the quote twice (\"\")")
        #expect(error("a,b\n1,\"x\"y\n") == "t.csv:2: b: unexpected 'y' after a closing quote; a quote inside a quoted field is written twice (\"\")")
        #expect(error("a,b\n1,2\n\"open,3\n4,5\n") == "t.csv:3: a: unterminated quoted field (the quote opened on line 3 is never closed)")
        #expect(error("a,b\n1,2\n1,2,3\n") == "t.csv:3: row has 3 fields; the header has 2 columns")
        #expect(error("a,b\n1\n") == "t.csv:2: row has 1 field; the header has 2 columns")
        #expect(error("a,a\n1,2\n") == "t.csv:1: a: column given twice in the header")
        #expect(error("") == "t.csv: the file is empty; expected a header row")
    }

    @Test func bytesThatAreNotUTF8AreRefused() throws {
        let scratch = try ImportScratch()
        defer { scratch.remove() }
        let path = scratch.file("latin1.csv")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("a,b\n1,".utf8) + Data([0x5A, 0xFC, 0x72]) + Data("\n".utf8)))
        let reader = try CSVReader(path: path)
        #expect(throws: InputErrors.self) { _ = try reader.next() }
        do {
            _ = try CSVReader(path: path).next()
        } catch let errors as InputErrors {
            #expect(errors.errors == [InputError(file: path, line: 2, field: "b", message: "not UTF-8 text; convert the file to UTF-8")])
        }
    }

    @Test func aMissingColumnIsNamedWithTheHeader() throws {
        let scratch = try ImportScratch(["t.csv": "situation,vrd,text\n"])
        defer { scratch.remove() }
        do {
            _ = try CSVTable(path: scratch.file("t.csv"), required: ["situation", "valence", "text", "explanation"])
            Issue.record("a missing column was accepted")
        } catch let errors as InputErrors {
            #expect(errors.errors.map(\.field) == ["valence", "explanation"])
            #expect(errors.errors.first?.description == scratch.file("t.csv") + ":1: valence: missing column; the header has: situation, vrd, text")
        }
    }

    @Test func aMissingFileIsAnError() {
        #expect(throws: InputErrors.self) { _ = try CSVReader(path: "/nonexistent/file.csv") }
    }
}

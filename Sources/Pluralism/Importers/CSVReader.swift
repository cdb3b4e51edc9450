import Foundation

/// One data row of a CSV file: its fields in header order and the line it starts on (a quoted
/// field may span lines, so the next row's line is not this one's plus one).
public struct CSVRow: Sendable {
    public var line: Int
    public var fields: [String]
}

/// A streaming RFC 4180 reader: the file is read in 1 MiB chunks, so a 200 MB dataset never
/// sits in memory whole. The first row is the header. Quoted fields may hold commas, doubled
/// quotes and line breaks; CRLF and LF endings are accepted; blank lines are skipped (as
/// Python's `csv.DictReader` does). Anything else — a stray quote, text after a closing
/// quote, an unterminated quote, a row with the wrong number of fields, bytes that are not
/// UTF-8 — stops the read with `file:line: column: message`.
public final class CSVReader {
    public let path: String
    /// The header's column names, trimmed.
    public private(set) var header: [String] = []

    private static let chunkSize = 1 << 20
    private let file: UnsafeMutablePointer<FILE>
    private var chunk: [UInt8]
    private var chunkCount = 0
    private var index = 0
    private var atEnd = false
    /// The line the reader is on (1-based).
    private var line = 1
    private var field: [UInt8] = []

    /// Opens the file and reads its header. Throws `InputErrors` when the file cannot be
    /// read, is empty, or its header is malformed or repeats a column.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
              let file = fopen(path, "rb") else {
            throw InputErrors(errors: [InputError(file: path, line: 0, field: "", message: "cannot read the file (no such file, a folder, or not readable)")])
        }
        self.path = path
        self.file = file
        chunk = [UInt8](repeating: 0, count: CSVReader.chunkSize)
        refill()
        if chunkCount >= 3, chunk[0] == 0xEF, chunk[1] == 0xBB, chunk[2] == 0xBF { index = 3 }
        guard let first = try readRecord(names: nil) else {
            throw InputErrors(errors: [InputError(file: path, line: 0, field: "", message: "the file is empty; expected a header row")])
        }
        header = first.fields.map(\.trimmingSurroundingWhitespace)
        var seen: Set<String> = []
        for name in header where !seen.insert(name).inserted {
            throw InputErrors(errors: [error(first.line, name, "column given twice in the header")])
        }
    }

    deinit { fclose(file) }

    /// The index of a column the caller needs, or an error naming it and the columns there are.
    public func column(_ name: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else {
            throw InputErrors(errors: [error(1, name, "missing column; the header has: \(header.joined(separator: ", "))")])
        }
        return index
    }

    /// The next data row, or nil at the end of the file.
    public func next() throws -> CSVRow? {
        guard let row = try readRecord(names: header) else { return nil }
        guard row.fields.count == header.count else {
            throw InputErrors(errors: [error(row.line, "", "row has \(row.fields.count == 1 ? "1 field" : "\(row.fields.count) fields"); the header has \(header.count) columns")])
        }
        return row
    }

    // MARK: parsing

    private func error(_ line: Int, _ column: String, _ message: String) -> InputError {
        InputError(file: path, line: line, field: column, message: message)
    }

    private func refill() {
        guard !atEnd else { return }
        chunkCount = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, CSVReader.chunkSize, file) }
        index = 0
        if chunkCount == 0 { atEnd = true }
    }

    /// The next byte, or nil at the end of the file.
    @inline(__always)
    private func peek() -> UInt8? {
        if index == chunkCount { refill() }
        return index < chunkCount ? chunk[index] : nil
    }

    private func columnName(_ names: [String]?, _ position: Int) -> String {
        guard let names else { return "header" }
        return position < names.count ? names[position] : "column \(position + 1)"
    }

    /// One record; nil at the end of the file. Blank lines are skipped.
    private func readRecord(names: [String]?) throws -> CSVRow? {
        while let byte = peek(), byte == 0x0A || byte == 0x0D {
            index += 1
            if byte == 0x0A { line += 1 }
        }
        guard peek() != nil else { return nil }
        let startLine = line
        var fields: [String] = []
        while true {
            let column = columnName(names, fields.count)
            field.removeAll(keepingCapacity: true)
            if peek() == 0x22 {
                index += 1
                let openedOn = line
                quoted: while true {
                    // The bulk of a quoted field: copy up to the next quote in one go.
                    if index == chunkCount { refill() }
                    guard index < chunkCount else {
                        throw InputErrors(errors: [error(openedOn, column, "unterminated quoted field (the quote opened on line \(openedOn) is never closed)")])
                    }
                    let byte = chunk[index]
                    index += 1
                    switch byte {
                    case 0x22:
                        if peek() == 0x22 {
                            field.append(0x22)
                            index += 1
                        } else {
                            break quoted
                        }
                    case 0x0A:
                        line += 1
                        field.append(byte)
                    default:
                        field.append(byte)
                    }
                }
                if let next = peek(), next != 0x2C, next != 0x0A, next != 0x0D {
                    throw InputErrors(errors: [error(line, column, "unexpected \(describe(next)) after a closing quote; a quote inside a quoted field is written twice (\"\")")])
                }
            } else {
                while let byte = peek(), byte != 0x2C, byte != 0x0A, byte != 0x0D {
                    if byte == 0x22 {
                        throw InputErrors(errors: [error(line, column, "quote inside an unquoted field; quote the whole field and write the quote twice (\"\")")])
                    }
                    field.append(byte)
                    index += 1
                }
            }
            guard let text = String(validating: field, as: UTF8.self) else {
                throw InputErrors(errors: [error(line, column, "not UTF-8 text; convert the file to UTF-8")])
            }
            fields.append(text)
            switch peek() {
            case 0x2C:
                index += 1
            case 0x0D:
                index += 1
                if peek() == 0x0A {
                    index += 1
                }
                line += 1
                return CSVRow(line: startLine, fields: fields)
            case 0x0A:
                index += 1
                line += 1
                return CSVRow(line: startLine, fields: fields)
            default:
                return CSVRow(line: startLine, fields: fields)
            }
        }
    }

    private func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : String(format: "byte 0x%02X", byte)
    }
}

/// Reads the named columns of every row of a CSV file, in order: the datasets' importers
/// look fields up by name, never by position, so a reordered or extended file still reads.
public struct CSVTable {
    public let reader: CSVReader
    private let indices: [String: Int]

    /// Opens `path` and checks that every column in `required` is in its header.
    public init(path: String, required: [String]) throws {
        reader = try CSVReader(path: path)
        var indices: [String: Int] = [:]
        var missing: [InputError] = []
        for name in required {
            do {
                indices[name] = try reader.column(name)
            } catch let errors as InputErrors {
                missing += errors.errors
            }
        }
        if !missing.isEmpty { throw InputErrors(errors: missing) }
        self.indices = indices
    }

    public var path: String { reader.path }

    /// The next row, as a lookup by column name.
    public func next() throws -> CSVRecord? {
        try reader.next().map { CSVRecord(row: $0, indices: indices, path: reader.path) }
    }
}

/// One row of a `CSVTable`, read by column name.
public struct CSVRecord {
    public let row: CSVRow
    let indices: [String: Int]
    public let path: String

    public var line: Int { row.line }

    /// The field of a column the table required, as written. Asking for another column is a
    /// programming error.
    public subscript(_ column: String) -> String {
        guard let index = indices[column] else { preconditionFailure("column \(column) was not requested") }
        return row.fields[index]
    }

    /// An error about one field of this row.
    public func error(_ column: String, _ message: String) -> InputError {
        InputError(file: path, line: row.line, field: column, message: message)
    }
}

/// A value written in Python's `repr` syntax, as datasets exported with pandas store lists
/// and dicts inside CSV cells (`['Yes', 'No']`, `{'Japan': [0.4, 0.6]}`).
public indirect enum PythonLiteral: Hashable, Sendable {
    case none
    case bool(Bool)
    case integer(Int)
    case float(Double)
    case string(String)
    case list([PythonLiteral])
    case tuple([PythonLiteral])
    /// Entries in written order.
    case dict([DictEntry])

    public struct DictEntry: Hashable, Sendable {
        public var key: PythonLiteral
        public var value: PythonLiteral
    }

    /// What an error calls this value: "a string", "a list", … .
    public var kindDescription: String {
        switch self {
        case .none: "None"
        case .bool: "a boolean"
        case .integer: "an integer"
        case .float: "a float"
        case .string: "a string"
        case .list: "a list"
        case .tuple: "a tuple"
        case .dict: "a dict"
        }
    }

    /// The number an integer or float holds.
    public var number: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .float(let value): value
        default: nil
        }
    }
}

/// Malformed Python literal text, with the 1-based character where it went wrong.
public struct PythonLiteralError: Error, Hashable, Sendable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public var description: String { "character \(offset): \(message)" }
}

/// A strict parser for the subset of Python literal syntax `repr` writes for plain data:
/// strings ('…' or "…", with backslash escapes), integers, floats, True, False, None, lists,
/// tuples and dicts. Nothing is evaluated: there are no names, calls or operators, so a cell
/// can never run code. The one exception is the exact wrapper `repr` gives a
/// `collections.defaultdict` (`defaultdict(<class 'list'>, {…})`, as GlobalOpinionQA's
/// `selections` are written), which reads as the dict inside it.
public struct PythonLiteralParser {
    static let maximumDepth = 64

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    public static func parse(_ text: String) throws(PythonLiteralError) -> PythonLiteral {
        var parser = PythonLiteralParser(bytes: Array(text.utf8))
        parser.skipSpace()
        let value = try parser.parseValue()
        parser.skipSpace()
        if parser.index < parser.bytes.count { throw parser.error("unexpected \(parser.describeCurrent()) after the value") }
        return value
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private func error(_ message: String) -> PythonLiteralError {
        // Count characters, not bytes, so the offset matches what an editor shows.
        let offset = bytes[..<min(index, bytes.count)].reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) } + 1
        return PythonLiteralError(offset: offset, message: message)
    }

    private func describeCurrent() -> String {
        guard index < bytes.count else { return "end of text" }
        let byte = bytes[index]
        return (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "character"
    }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(PythonLiteralError) {
        guard current == byte else { throw error("expected \(what), found \(describeCurrent())") }
        index += 1
    }

    private mutating func parseValue() throws(PythonLiteralError) -> PythonLiteral {
        guard let byte = current else { throw error("expected a value, found end of text") }
        switch byte {
        case UInt8(ascii: "'"), UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "["): return .list(try parseSequence(close: UInt8(ascii: "]")))
        case UInt8(ascii: "("): return try parseTuple()
        case UInt8(ascii: "{"): return try parseDict()
        case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"):
            let start = index
            while let next = current, isNameByte(next) { index += 1 }
            let name = String(decoding: bytes[start..<index], as: UTF8.self)
            switch name {
            case "None": return .none
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "defaultdict": return try parseDefaultDict()
            default:
                index = start
                throw error("unexpected name \"\(name)\"; only literals (strings, numbers, True, False, None, lists, tuples, dicts) are read")
            }
        default:
            throw error("expected a value, found \(describeCurrent())")
        }
    }

    private func isNameByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
    }

    private mutating func nested<T>(_ body: (inout PythonLiteralParser) throws(PythonLiteralError) -> T) throws(PythonLiteralError) -> T {
        depth += 1
        defer { depth -= 1 }
        guard depth <= PythonLiteralParser.maximumDepth else { throw error("nested more than \(PythonLiteralParser.maximumDepth) levels deep") }
        return try body(&self)
    }

    /// `[a, b, c]` (a trailing comma allowed, as Python allows it).
    private mutating func parseSequence(close: UInt8) throws(PythonLiteralError) -> [PythonLiteral] {
        try nested { (parser: inout PythonLiteralParser) throws(PythonLiteralError) -> [PythonLiteral] in
            parser.index += 1
            var elements: [PythonLiteral] = []
            parser.skipSpace()
            while parser.current != close {
                elements.append(try parser.parseValue())
                parser.skipSpace()
                guard parser.current == UInt8(ascii: ",") else { break }
                parser.index += 1
                parser.skipSpace()
            }
            try parser.expect(close, "',' or '\(Character(Unicode.Scalar(close)))'")
            return elements
        }
    }

    /// `()`, `(a,)`, `(a, b)`; a parenthesised value without a comma is the value itself.
    private mutating func parseTuple() throws(PythonLiteralError) -> PythonLiteral {
        try nested { (parser: inout PythonLiteralParser) throws(PythonLiteralError) -> PythonLiteral in
            parser.index += 1
            parser.skipSpace()
            if parser.current == UInt8(ascii: ")") {
                parser.index += 1
                return .tuple([])
            }
            var elements = [try parser.parseValue()]
            parser.skipSpace()
            var sawComma = false
            while parser.current == UInt8(ascii: ",") {
                sawComma = true
                parser.index += 1
                parser.skipSpace()
                if parser.current == UInt8(ascii: ")") { break }
                elements.append(try parser.parseValue())
                parser.skipSpace()
            }
            try parser.expect(UInt8(ascii: ")"), "',' or ')'")
            return sawComma ? .tuple(elements) : elements[0]
        }
    }

    private mutating func parseDict() throws(PythonLiteralError) -> PythonLiteral {
        try nested { (parser: inout PythonLiteralParser) throws(PythonLiteralError) -> PythonLiteral in
            parser.index += 1
            var entries: [PythonLiteral.DictEntry] = []
            parser.skipSpace()
            while parser.current != UInt8(ascii: "}") {
                let key = try parser.parseValue()
                if case .list = key { throw parser.error("a list cannot be a dict key") }
                if case .dict = key { throw parser.error("a dict cannot be a dict key") }
                parser.skipSpace()
                try parser.expect(UInt8(ascii: ":"), "':' after a dict key")
                parser.skipSpace()
                entries.append(PythonLiteral.DictEntry(key: key, value: try parser.parseValue()))
                parser.skipSpace()
                guard parser.current == UInt8(ascii: ",") else { break }
                parser.index += 1
                parser.skipSpace()
            }
            try parser.expect(UInt8(ascii: "}"), "',' or '}'")
            return .dict(entries)
        }
    }

    /// `defaultdict(<class 'NAME'>, {…})`: the name (already read) must be followed by
    /// exactly this shape; the factory is ignored and the dict returned.
    private mutating func parseDefaultDict() throws(PythonLiteralError) -> PythonLiteral {
        try expect(UInt8(ascii: "("), "'(' after defaultdict")
        skipSpace()
        for byte in "<class ".utf8 { try expect(byte, "\"<class '…'>\" (the factory as repr writes it)") }
        guard case .string = try parseValue() else { throw error("expected the factory's name in quotes") }
        try expect(UInt8(ascii: ">"), "'>'")
        skipSpace()
        try expect(UInt8(ascii: ","), "','")
        skipSpace()
        guard current == UInt8(ascii: "{") else { throw error("expected a dict, found \(describeCurrent())") }
        let dict = try parseDict()
        skipSpace()
        try expect(UInt8(ascii: ")"), "')'")
        return dict
    }

    private mutating func parseNumber() throws(PythonLiteralError) -> PythonLiteral {
        let start = index
        if current == UInt8(ascii: "-") || current == UInt8(ascii: "+") { index += 1 }
        while let byte = current {
            if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".") {
                index += 1
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "-") || current == UInt8(ascii: "+") { index += 1 }
            } else {
                break
            }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if let value = Int(text) { return .integer(value) }
        if text.contains(where: \.isNumber), let value = Double(text), value.isFinite { return .float(value) }
        index = start
        throw error("malformed number \"\(text)\"")
    }

    private mutating func parseString() throws(PythonLiteralError) -> String {
        let quote = bytes[index]
        let opening = index
        index += 1
        var out: [UInt8] = []
        while true {
            guard let byte = current else {
                index = opening
                throw error("unterminated string")
            }
            index += 1
            if byte == quote { break }
            if byte == 0x0A { index -= 1; throw error("line break inside a string") }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                continue
            }
            guard let escape = current else { throw error("unterminated string") }
            index += 1
            switch escape {
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(escape)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "x"): try appendScalar(hexDigits: 2, to: &out)
            case UInt8(ascii: "u"): try appendScalar(hexDigits: 4, to: &out)
            case UInt8(ascii: "U"): try appendScalar(hexDigits: 8, to: &out)
            default:
                index -= 2
                throw error("unsupported escape \\\(Character(Unicode.Scalar(escape)))")
            }
        }
        guard let text = String(validating: out, as: UTF8.self) else { throw error("string is not UTF-8 text") }
        return text
    }

    private mutating func appendScalar(hexDigits: Int, to out: inout [UInt8]) throws(PythonLiteralError) {
        guard index + hexDigits <= bytes.count,
              let value = UInt32(String(decoding: bytes[index..<index + hexDigits], as: UTF8.self), radix: 16),
              let scalar = Unicode.Scalar(value) else {
            throw error("malformed escape: expected \(hexDigits) hex digits naming a Unicode character")
        }
        index += hexDigits
        out.append(contentsOf: Array(String(Character(scalar)).utf8))
    }
}

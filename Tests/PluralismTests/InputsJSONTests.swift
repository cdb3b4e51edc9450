import Testing
@testable import Pluralism

struct InputsJSONParserTests {
    private func syntaxError(_ text: String) -> JSONSyntaxError? {
        do {
            _ = try JSONParser.parse(text)
            return nil
        } catch {
            return error
        }
    }

    private func members(_ node: JSONNode) -> [JSONMember] {
        if case .object(let members) = node.value { return members }
        Issue.record("expected an object, found \(node.kindDescription)")
        return []
    }

    private func string(_ node: JSONNode) -> String? {
        if case .string(let text) = node.value { return text }
        return nil
    }

    @Test func positionsOfKeysAndValues() throws {
        let text = "{\n  \"a\": 1,\n  \"bb\":\n    [true, null],\n\t\"c\": {\"d\": \"x\"}\n}"
        let root = try JSONParser.parse(text)
        #expect(root.position == SourcePosition(line: 1, column: 1))
        let fields = members(root)
        #expect(fields.map(\.key) == ["a", "bb", "c"])
        #expect(fields[0].keyPosition == SourcePosition(line: 2, column: 3))
        #expect(fields[0].value.position == SourcePosition(line: 2, column: 8))
        #expect(fields[1].keyPosition == SourcePosition(line: 3, column: 3))
        #expect(fields[1].value.position == SourcePosition(line: 4, column: 5))
        guard case .array(let elements) = fields[1].value.value else {
            Issue.record("bb is not an array")
            return
        }
        #expect(elements[1].position == SourcePosition(line: 4, column: 12))
        #expect(fields[2].keyPosition == SourcePosition(line: 5, column: 2))
        let inner = members(fields[2].value)
        #expect(inner[0].value.position == SourcePosition(line: 5, column: 13))
    }

    @Test func columnsCountCharactersNotBytes() throws {
        let root = try JSONParser.parse(#"{"é€😀": "ü", "k": 1}"#)
        let fields = members(root)
        // `{"é€😀": "ü", ` is 13 characters (22 bytes): the second key starts at column 14.
        #expect(fields[1].keyPosition == SourcePosition(line: 1, column: 14))
    }

    @Test func startLineAndColumnShiftPositions() throws {
        let root = try JSONParser.parse(#"{"a": [1]}"#, line: 7, column: 5)
        #expect(root.position == SourcePosition(line: 7, column: 5))
        #expect(members(root)[0].value.position == SourcePosition(line: 7, column: 11))
        #expect(syntaxError("\n  {")?.position == SourcePosition(line: 2, column: 4))
    }

    @Test func unicodeEscapesAndSurrogatePairs() throws {
        let root = try JSONParser.parse(#"["\u00e9\u20AC", "\ud83d\ude00", "\"\\\/\b\f\n\r\t", "naïve 😀"]"#)
        guard case .array(let elements) = root.value else {
            Issue.record("not an array")
            return
        }
        #expect(string(elements[0]) == "é€")
        #expect(string(elements[1]) == "😀")
        #expect(string(elements[2]) == "\"\\/\u{08}\u{0C}\n\r\t")
        #expect(string(elements[3]) == "naïve 😀")
    }

    @Test func loneSurrogatesAreRejected() {
        #expect(syntaxError(#""\ud83d""#)?.message.contains("unpaired high surrogate") == true)
        #expect(syntaxError(#""\ud83dx""#)?.message.contains("unpaired high surrogate") == true)
        #expect(syntaxError(#""\ude00""#)?.message.contains("unpaired low surrogate") == true)
        #expect(syntaxError(#""\ud83d\u0041""#)?.message.contains("not a low surrogate") == true)
        #expect(syntaxError(#""\u12G4""#)?.message.contains("4 hexadecimal digits") == true)
    }

    @Test func numbersKeepTheirLiteral() throws {
        let root = try JSONParser.parse("[0, -0, 12, -3.25, 1e3, 2.5E-7, 18446744073709551615]")
        guard case .array(let elements) = root.value else {
            Issue.record("not an array")
            return
        }
        let literals = elements.compactMap { node -> String? in
            if case .number(let literal) = node.value { return literal }
            return nil
        }
        #expect(literals == ["0", "-0", "12", "-3.25", "1e3", "2.5E-7", "18446744073709551615"])
    }

    @Test func malformedNumbersAreRejected() {
        for bad in ["01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.5.2", "NaN", "Infinity"] {
            #expect(syntaxError("[\(bad)]") != nil, "accepted \(bad)")
        }
        #expect(syntaxError("[01]")?.message.contains("leading zeros") == true)
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        let trailing = syntaxError("{\n  \"a\": 1,\n}")
        #expect(trailing == JSONSyntaxError(position: SourcePosition(line: 3, column: 1), message: "trailing comma before '}'"))
        let missingComma = syntaxError("{\"a\": 1\n \"b\": 2}")
        #expect(missingComma?.position == SourcePosition(line: 2, column: 2))
        #expect(missingComma?.message == "expected ',' or '}' in object, found '\"'")
        #expect(syntaxError("[1, 2")?.message == "unterminated array; expected ',' or ']'")
        #expect(syntaxError("\"abc")?.message == "unterminated string")
        #expect(syntaxError("{'a': 1}")?.message == "expected a field name in double quotes, found '''")
        #expect(syntaxError("[1] x")?.position == SourcePosition(line: 1, column: 5))
        #expect(syntaxError("[tru]")?.message == "invalid literal; expected 'true'")
        #expect(syntaxError("[nulls]") != nil)
        #expect(syntaxError("")?.message == "expected a value, found end of input")
        #expect(syntaxError("[\"a\tb\"]")?.message == "control character U+0009 inside a string must be escaped")
        #expect(syntaxError("// note\n{}") != nil)
    }

    @Test func invalidUTF8IsRejected() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22]] {
            #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(bytes: bytes) }
        }
    }

    @Test func byteOrderMarkIsSkipped() throws {
        let root = try JSONParser.parse(bytes: [0xEF, 0xBB, 0xBF] + Array(#"{"a": 1}"#.utf8))
        #expect(members(root)[0].keyPosition == SourcePosition(line: 1, column: 2))
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        _ = try JSONParser.parse(deep)
        let tooDeep = "[" + deep + "]"
        #expect(syntaxError(tooDeep)?.message.contains("nesting deeper") == true)
    }

    @Test func duplicateKeysAreKeptForTheReader() throws {
        let fields = members(try JSONParser.parse(#"{"a": 1, "a": 2}"#))
        #expect(fields.count == 2)
    }
}

struct InputsCanonicalJSONTests {
    @Test func sortsKeysAndDropsWhitespace() {
        let value = JSON.object(["b": .integer(1), "a": .array([.null, .bool(true), .string("x")]), "B": .object([:])])
        #expect(value.canonical == #"{"B":{},"a":[null,true,"x"],"b":1}"#)
    }

    @Test func keysSortByUTF8Bytes() {
        let value = JSON.object(["é": .integer(1), "z": .integer(2), "Z": .integer(3), "aa": .integer(4), "a": .integer(5)])
        #expect(value.canonical == #"{"Z":3,"a":5,"aa":4,"z":2,"é":1}"#)
    }

    @Test func numbersHaveOneSpelling() {
        #expect(JSON.double(1.0).canonical == "1")
        #expect(JSON.double(-0.0).canonical == "0")
        #expect(JSON.double(0.1).canonical == "0.1")
        #expect(JSON.double(0.9).canonical == "0.9")
        #expect(JSON.double(1e-7).canonical == "1e-07")
        #expect(JSON.double(1e20).canonical == "1e+20")
        #expect(JSON.unsigned(UInt64.max).canonical == "18446744073709551615")
        #expect(JSON.integer(-5).canonical == "-5")
    }

    @Test func stringsEscapeOnlyWhatJSONRequires() {
        #expect(JSON.string("a\"b\\c\nd\te\u{01}f é 😀 </").canonical == #""a\"b\\c\nd\te\u0001f é 😀 </""#)
    }

    @Test func canonicalTextParsesBackToTheSameValues() throws {
        let text = JSON.object(["s": .string("\u{1F}\u{7F}\u{2028}ü"), "n": .double(-2.5e-300)]).canonical
        let root = try JSONParser.parse(text)
        guard case .object(let members) = root.value, case .number(let literal) = members[0].value.value,
              case .string(let string) = members[1].value.value else {
            Issue.record("unexpected shape: \(text)")
            return
        }
        #expect(Double(literal) == -2.5e-300)
        #expect(string == "\u{1F}\u{7F}\u{2028}ü")
    }

    @Test func itemContentIsStableAndOmitsLocation() {
        let item = Item(id: "d1", mode: .distributional, pool: "culture", sourceFile: "q.jsonl", line: 3, text: "Which?",
                        options: ["x", "y"], population: "pop", goldDistribution: [0.25, 0.75])
        let expected = #"{"gold_distribution":[0.25,0.75],"id":"d1","mode":"distributional","options":["x","y"],"population":"pop","text":"Which?"}"#
        #expect(item.contentJSON == expected)
        var moved = item
        moved.sourceFile = "other.jsonl"
        moved.line = 9
        moved.pool = "perspective"
        #expect(moved.contentJSON == expected)
        var edited = item
        edited.options[1] = "z"
        #expect(edited.contentJSON != expected)
    }

    @Test func modelSpecCanonicalOmitsAbsentFields() {
        #expect(ModelSpec.embedded.canonicalJSON == #"{"backend":"embedded"}"#)
        let remote = ModelSpec(backend: "openai", baseURL: "http://h/v1", model: "m", apiKeyEnv: "KEY", maxInFlight: 4)
        #expect(remote.canonicalJSON == #"{"api_key_env":"KEY","backend":"openai","base_url":"http://h/v1","max_in_flight":4,"model":"m"}"#)
    }
}

import Testing
@testable import Pluralism

/// The strict Python-literal parser: what `repr` writes for plain data reads back, and
/// anything that is not a literal (names, calls, operators) is refused, never evaluated.
struct ImportPythonLiteralTests {
    private func parse(_ text: String) throws -> PythonLiteral { try PythonLiteralParser.parse(text) }

    private func failure(_ text: String) -> String {
        do {
            let value = try PythonLiteralParser.parse(text)
            return "parsed as \(value)"
        } catch {
            return error.description
        }
    }

    @Test func reprOfListsAndDictsReads() throws {
        #expect(try parse("['Yes', \"It's fine\", 'Say \\'no\\'']") == .list([.string("Yes"), .string("It's fine"), .string("Say 'no'")]))
        #expect(try parse("{'Japan': [0.2, 0.5, 0.3], 'Côte d\\'Ivoire': [1, 0, -0.0]}") == .dict([
            .init(key: .string("Japan"), value: .list([.float(0.2), .float(0.5), .float(0.3)])),
            .init(key: .string("Côte d'Ivoire"), value: .list([.integer(1), .integer(0), .float(-0.0)])),
        ]))
        #expect(try parse("{1.0: 'Very likely', 99.0: 'Refused'}") == .dict([
            .init(key: .float(1), value: .string("Very likely")), .init(key: .float(99), value: .string("Refused")),
        ]))
        #expect(try parse(" (1, 'a', None, True, False) ") == .tuple([.integer(1), .string("a"), .none, .bool(true), .bool(false)]))
        #expect(try parse("(1,)") == .tuple([.integer(1)]))
        #expect(try parse("(1)") == .integer(1))
        #expect(try parse("[1e-05, 2.5E+3, .5, [], {}, [1,],]") == .list([.float(1e-05), .float(2500), .float(0.5), .list([]), .dict([]), .list([.integer(1)])]))
        #expect(try parse("'tab\\there \\u00e9\\x41\\\\'") == .string("tab\there éA\\"))
    }

    @Test func defaultdictReprReadsAsItsDict() throws {
        #expect(try parse("defaultdict(<class 'list'>, {'Kenya': [0.6, 0.4]})")
            == .dict([.init(key: .string("Kenya"), value: .list([.float(0.6), .float(0.4)]))]))
        #expect(failure("defaultdict(list, {})") == "character 13: expected \"<class '…'>\" (the factory as repr writes it), found 'l'")
    }

    @Test func codeIsRefusedNotEvaluated() {
        #expect(failure("__import__('os').system('rm -rf /')") == "character 1: unexpected name \"__import__\"; only literals (strings, numbers, True, False, None, lists, tuples, dicts) are read")
        #expect(failure("[1, 2] + [3]") == "character 8: unexpected '+' after the value")
        #expect(failure("nan") == "character 1: unexpected name \"nan\"; only literals (strings, numbers, True, False, None, lists, tuples, dicts) are read")
        #expect(failure("f'{x}'") == "character 1: unexpected name \"f\"; only literals (strings, numbers, True, False, None, lists, tuples, dicts) are read")
    }

    @Test func malformedLiteralsSayWhere() {
        #expect(failure("['a', 'b'") == "character 10: expected ',' or ']', found end of text")
        #expect(failure("['a' 'b']") == "character 6: expected ',' or ']', found '''")
        #expect(failure("{'a' 1}") == "character 6: expected ':' after a dict key, found '1'")
        #expect(failure("['unterminated]") == "character 2: unterminated string")
        #expect(failure("[1.2.3]") == "character 2: malformed number \"1.2.3\"")
        #expect(failure("'\\q'") == "character 2: unsupported escape \\q")
        #expect(failure("{[1]: 2}") == "character 5: a list cannot be a dict key")
        #expect(failure("") == "character 1: expected a value, found end of text")
        #expect(failure(String(repeating: "[", count: 70)) == "character 65: nested more than 64 levels deep")
    }
}

/// Collects every problem found while reading the inputs; reading goes on after a problem so
/// that one pass reports them all.
final class Problems {
    private(set) var errors: [InputError] = []

    func report(_ file: String, _ line: Int, _ field: String, _ message: String) {
        errors.append(InputError(file: file, line: line, field: field, message: message))
    }

    func report(_ error: InputError) {
        errors.append(error)
    }
}

/// Joins a field path: `pools[0]` + `name` → `pools[0].name`.
func fieldPath(_ parent: String, _ key: String) -> String {
    parent.isEmpty ? key : "\(parent).\(key)"
}

/// Reads typed values out of JSON nodes, reporting a wrong type instead of failing: each
/// reader returns nil after reporting, so the caller skips dependent checks and goes on.
struct NodeReader {
    let file: String
    let problems: Problems

    func typeMismatch(_ node: JSONNode, _ field: String, expected: String) {
        problems.report(file, node.position.line, field, "expected \(expected), found \(node.kindDescription)")
    }

    /// A string with surrounding whitespace trimmed; empty text is refused because it would
    /// reach a model prompt as nothing.
    func text(_ node: JSONNode, _ field: String) -> String? {
        guard case .string(let raw) = node.value else {
            typeMismatch(node, field, expected: "a string")
            return nil
        }
        let text = raw.trimmingSurroundingWhitespace
        if text.isEmpty {
            problems.report(file, node.position.line, field, "must not be empty")
            return nil
        }
        return text
    }

    func integer(_ node: JSONNode, _ field: String, in range: ClosedRange<Int>) -> Int? {
        guard case .number(let literal) = node.value else {
            typeMismatch(node, field, expected: "a whole number")
            return nil
        }
        guard let value = Int(literal) else {
            let isWhole = !literal.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
            problems.report(file, node.position.line, field,
                            isWhole ? "\(literal) is out of range" : "expected a whole number, found \(literal)")
            return nil
        }
        guard range.contains(value) else {
            let bound = range.upperBound == Int.max ? "at least \(range.lowerBound)" : "from \(range.lowerBound) to \(range.upperBound)"
            problems.report(file, node.position.line, field, "\(value) is out of range; expected \(bound)")
            return nil
        }
        return value
    }

    func unsigned(_ node: JSONNode, _ field: String) -> UInt64? {
        guard case .number(let literal) = node.value else {
            typeMismatch(node, field, expected: "a whole number")
            return nil
        }
        guard let value = UInt64(literal) else {
            problems.report(file, node.position.line, field, "expected a whole number from 0 to \(UInt64.max), found \(literal)")
            return nil
        }
        return value
    }

    func number(_ node: JSONNode, _ field: String) -> Double? {
        guard case .number(let literal) = node.value else {
            typeMismatch(node, field, expected: "a number")
            return nil
        }
        guard let value = Double(literal), value.isFinite else {
            problems.report(file, node.position.line, field, "\(literal) is out of range")
            return nil
        }
        return value
    }

    func bool(_ node: JSONNode, _ field: String) -> Bool? {
        guard case .bool(let value) = node.value else {
            typeMismatch(node, field, expected: "true or false")
            return nil
        }
        return value
    }

    func array(_ node: JSONNode, _ field: String) -> [JSONNode]? {
        guard case .array(let elements) = node.value else {
            typeMismatch(node, field, expected: "an array")
            return nil
        }
        return elements
    }

    /// An object whose keys must all be in `allowed`; unknown and repeated keys are reported.
    func object(_ node: JSONNode, _ field: String, allowed: [String]) -> ObjectFields? {
        guard case .object(let members) = node.value else {
            typeMismatch(node, field, expected: "an object")
            return nil
        }
        var byKey: [String: JSONMember] = [:]
        for member in members {
            let path = fieldPath(field, member.key)
            if let first = byKey[member.key] {
                problems.report(file, member.keyPosition.line, path, "field given twice (first on line \(first.keyPosition.line))")
            } else if !allowed.contains(member.key) {
                problems.report(file, member.keyPosition.line, path, "unknown field; expected one of: \(allowed.joined(separator: ", "))")
            } else {
                byKey[member.key] = member
            }
        }
        return ObjectFields(reader: self, path: field, line: node.position.line, members: byKey)
    }

    /// A JSON object used as a map (`populations`), keys kept in file order.
    func map(_ node: JSONNode, _ field: String) -> [JSONMember]? {
        guard case .object(let members) = node.value else {
            typeMismatch(node, field, expected: "an object")
            return nil
        }
        var seen: [String: Int] = [:]
        var unique: [JSONMember] = []
        for member in members {
            if let firstLine = seen[member.key] {
                problems.report(file, member.keyPosition.line, fieldPath(field, member.key), "given twice (first on line \(firstLine))")
            } else {
                seen[member.key] = member.keyPosition.line
                unique.append(member)
            }
        }
        return unique
    }
}

/// The known fields of one JSON object, each read with its full field path.
struct ObjectFields {
    let reader: NodeReader
    /// The object's own field path ("" at the top of a file or a JSONL line).
    let path: String
    /// The line of the object's opening brace, where a missing field is reported.
    let line: Int
    let members: [String: JSONMember]

    func has(_ key: String) -> Bool { members[key] != nil }

    func path(_ key: String) -> String { fieldPath(path, key) }

    func node(_ key: String) -> JSONNode? { members[key]?.value }

    /// The field's node, or a "missing field" report at the object's line.
    func required(_ key: String, _ note: String? = nil) -> JSONNode? {
        if let node = members[key]?.value { return node }
        reader.problems.report(reader.file, line, path(key), note.map { "missing field; \($0)" } ?? "missing field")
        return nil
    }

    func requiredText(_ key: String) -> String? {
        required(key).flatMap { reader.text($0, path(key)) }
    }

    func optionalText(_ key: String) -> String? {
        node(key).flatMap { reader.text($0, path(key)) }
    }
}

extension String {
    var trimmingSurroundingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}

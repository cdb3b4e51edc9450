import ContentHash

extension Corpus {
    /// A sha256 (hex) over a run's content, identical for two corpora holding the same
    /// content whatever the order the rows were written in, the machine or the thread count.
    ///
    /// Covered, each table in primary-key order: items (id, mode, pool, ordinal, content JSON,
    /// content hash), communities (all columns), comments (all columns), syntheses (all
    /// columns: how selections were read, their parts and the passage order included),
    /// distributions (all columns, probabilities as the decoded numbers, per-rotation parts
    /// as their JSON text), audits (all columns). Left out: the run id (a run's name for itself, constant within the
    /// digest), an item's source file and line (where it was read from, which may be a
    /// machine's path), and the run manifest and call archive, whose timestamps and
    /// durations differ between two runs with the same content.
    ///
    /// Each row is serialised as tagged, length-prefixed fields; numbers as fixed-width
    /// big-endian bit patterns, so no rendering of a double can differ between machines.
    /// docs/corpus-schema.md describes the byte format. Version 2 added the columns of schema
    /// version 3; a version-1 digest and a version-2 digest of the same run never agree.
    public func digest(runID: String) throws -> String {
        var canonical = CanonicalRows()
        canonical.text("pluralism corpus digest v2")
        try read {
            try canonical.table("item", from: database,
                """
                SELECT id, mode, pool, ordinal, content_json, content_hash
                FROM item WHERE run_id = ? ORDER BY id
                """, [runID]) { row, out in
                try out.text(row.get(0)); try out.text(row.get(1)); try out.text(row.get(2))
                try out.integer(row.get(3)); try out.text(row.get(4)); try out.text(row.get(5))
            }
            try canonical.table("community", from: database,
                """
                SELECT name, pool, description, system_prompt, profile, model_json, ordinal, label
                FROM community WHERE run_id = ? ORDER BY name
                """, [runID]) { row, out in
                for column in 0..<6 { try out.text(row.get(column)) }
                try out.integer(row.get(6)); try out.text(row.get(7))
            }
            try canonical.table("comment", from: database,
                """
                SELECT item_id, community, sample_index, text, call_key
                FROM comment WHERE run_id = ? ORDER BY item_id, community, sample_index
                """, [runID]) { row, out in
                try out.text(row.get(0)); try out.text(row.get(1)); try out.integer(row.get(2))
                try out.text(row.get(3)); try out.text(row.get(4))
            }
            try canonical.table("synthesis", from: database,
                """
                SELECT item_id, method, text, selected_community, selection_parsed, selection_reply, answer_option,
                       call_keys_json, selection_method, selection_json, passages_json, answer_tie_json
                FROM synthesis WHERE run_id = ? ORDER BY item_id, method
                """, [runID]) { row, out in
                let itemID: String = try row.get(0), method: String = try row.get(1)
                let key = "(\(runID), \(itemID), \(method))"
                out.text(itemID); out.text(method); try out.text(row.get(2))
                try out.optionalText(row.get(3)); try out.optionalBool(row.get(4)); try out.optionalText(row.get(5))
                try out.optionalInteger(row.get(6))
                let keys = try JSONColumn.decode([String].self, row.get(7), table: "synthesis", column: "call_keys_json", key: key)
                out.count(keys.count)
                for key in keys { out.text(key) }
                try out.optionalText(row.get(8)); try out.optionalText(row.get(9))
                let passagesText: String? = try row.get(10)
                if let passagesText {
                    let passages = try JSONColumn.decode([String].self, passagesText, table: "synthesis", column: "passages_json", key: key)
                    out.count(passages.count)
                    for passage in passages { out.text(passage) }
                } else {
                    out.null()
                }
                try out.optionalText(row.get(11))
            }
            try canonical.table("distribution", from: database,
                """
                SELECT item_id, method, community, probabilities_json, covered_mass, fallback, weight, rotations_json
                FROM distribution WHERE run_id = ? ORDER BY item_id, method, community
                """, [runID]) { row, out in
                let itemID: String = try row.get(0), method: String = try row.get(1), community: String = try row.get(2)
                out.text(itemID); out.text(method); out.text(community)
                let probabilities = try JSONColumn.decode(
                    [Double].self, row.get(3), table: "distribution", column: "probabilities_json",
                    key: "(\(runID), \(itemID), \(method), '\(community)')")
                out.count(probabilities.count)
                for probability in probabilities { out.real(probability) }
                try out.real(row.get(4)); try out.bool(row.get(5)); try out.real(row.get(6)); try out.text(row.get(7))
            }
            try canonical.table("audit", from: database,
                """
                SELECT item_id, method, metric, community, score, evidence_json
                FROM audit WHERE run_id = ? ORDER BY item_id, method, metric, community
                """, [runID]) { row, out in
                for column in 0..<4 { try out.text(row.get(column)) }
                try out.optionalReal(row.get(4)); try out.text(row.get(5))
            }
        }
        return canonical.finalize()
    }
}

/// The canonical byte stream behind `Corpus.digest`, hashed as it is written.
///
/// Every field starts with a one-byte tag, so that no two different row sequences can
/// produce the same bytes: `T` text (8-byte big-endian UTF-8 length, then the bytes), `I`
/// integer (8-byte big-endian two's complement), `F` double (8-byte big-endian IEEE 754
/// bits, -0 written as +0), `N` null, `B` bool (one byte 0 or 1), `C` count of a list
/// that follows. A table is its name (`T`), then `R` before each row, then `E` and the row
/// count (`I`).
struct CanonicalRows {
    private var hash = SHA256()
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func table(
        _ name: String, from database: Database, _ sql: String, _ arguments: [any DatabaseValueConvertible],
        _ write: (Row, inout CanonicalRows) throws -> Void
    ) throws {
        text(name)
        var rows = 0
        _ = try database.fetchAll(sql, arguments) { row in
            buffer.append(UInt8(ascii: "R"))
            try write(row, &self)
            flushIfLarge()
            rows += 1
        }
        buffer.append(UInt8(ascii: "E"))
        integer(rows)
    }

    mutating func text(_ value: String) {
        buffer.append(UInt8(ascii: "T"))
        appendBigEndian(UInt64(value.utf8.count))
        buffer.append(contentsOf: value.utf8)
    }

    mutating func integer(_ value: Int) {
        buffer.append(UInt8(ascii: "I"))
        appendBigEndian(UInt64(bitPattern: Int64(value)))
    }

    mutating func real(_ value: Double) {
        buffer.append(UInt8(ascii: "F"))
        appendBigEndian((value == 0 ? 0.0 : value).bitPattern)
    }

    mutating func bool(_ value: Bool) {
        buffer.append(UInt8(ascii: "B"))
        buffer.append(value ? 1 : 0)
    }

    mutating func count(_ value: Int) {
        buffer.append(UInt8(ascii: "C"))
        appendBigEndian(UInt64(value))
    }

    mutating func null() { buffer.append(UInt8(ascii: "N")) }

    mutating func optionalText(_ value: String?) { if let value { text(value) } else { null() } }
    mutating func optionalInteger(_ value: Int?) { if let value { integer(value) } else { null() } }
    mutating func optionalReal(_ value: Double?) { if let value { real(value) } else { null() } }
    mutating func optionalBool(_ value: Bool?) { if let value { bool(value) } else { null() } }

    mutating func finalize() -> String {
        flush()
        return hash.finalize().hexString
    }

    private mutating func appendBigEndian(_ value: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    private mutating func flushIfLarge() { if buffer.count >= 1 << 16 { flush() } }

    private mutating func flush() {
        buffer.withUnsafeBytes { hash.update($0) }
        buffer.removeAll(keepingCapacity: true)
    }
}

import Corpus
import Foundation

/// Writes a run as JSON Lines for dataset tools: one record per item, in item order.
///
/// A record (keys sorted, canonical JSON):
///
///     {"run": "<run id>", "item": {<the item's content: id, mode, text, options, …>},
///      "pool": "...", "source": {"file": "...", "line": n},
///      "comments": [{"community", "sample_index", "text", "call"}],
///      "syntheses": {"<method>": {"text", "selected_community"?, "selection_parsed"?,
///                                 "selection_reply"?, "selection_method"?, "selection"?,
///                                 "passages"?, "answer_option"?, "answer_tie"?, "calls": [...],
///                                 "distributions": [{"community" ("" = final), "probabilities",
///                                                    "covered_mass", "fallback", "weight",
///                                                    "rotations"}]}},
///      "audits": [{"method", "metric", "community", "score" (null: not computable), "evidence"}]}
///
/// `selection`, `answer_tie` and `rotations` are the stored JSON columns as JSON values
/// (docs/corpus-schema.md describes them). `call` / `calls` are archive keys: `sqlite3 corpus.sqlite "select * from call where
/// key = '…'"` shows the exact request and response.
public enum Export {
    /// Writes one line per item (each ending in "\n") and returns how many were written.
    @discardableResult
    public static func jsonl(corpus: Corpus, runID: String, write: (String) throws -> Void) throws -> Int {
        guard try corpus.run(id: runID) != nil else { throw ExportError.unknownRun(runID) }
        var commentsByItem: [String: [CommentRecord]] = [:]
        for comment in try corpus.comments(runID: runID) { commentsByItem[comment.itemID, default: []].append(comment) }
        var synthesesByItem: [String: [SynthesisRecord]] = [:]
        for synthesis in try corpus.syntheses(runID: runID) { synthesesByItem[synthesis.itemID, default: []].append(synthesis) }
        let audits = try corpus.audits(runID: runID)

        let items = try corpus.items(runID: runID)
        for item in items {
            var syntheses: [String: JSON] = [:]
            for synthesis in synthesesByItem[item.id] ?? [] {
                var fields: [String: JSON] = [
                    "text": .string(synthesis.text),
                    "calls": .array(synthesis.callKeys.map(JSON.string)),
                ]
                if let community = synthesis.selectedCommunity { fields["selected_community"] = .string(community) }
                if let parsed = synthesis.selectionParsed { fields["selection_parsed"] = .bool(parsed) }
                if let reply = synthesis.selectionReply { fields["selection_reply"] = .string(reply) }
                if let option = synthesis.answerOption { fields["answer_option"] = .integer(Int64(option)) }
                if let method = synthesis.selectionMethod { fields["selection_method"] = .string(method.rawValue) }
                if let selection = synthesis.selectionJSON { fields["selection"] = try stored(selection, "selection_json", item.id) }
                if let passages = synthesis.passages { fields["passages"] = .array(passages.map(JSON.string)) }
                if let tie = synthesis.answerTieJSON { fields["answer_tie"] = try stored(tie, "answer_tie_json", item.id) }
                let distributions = try corpus.distributions(runID: runID, itemID: item.id, method: synthesis.method)
                if !distributions.isEmpty {
                    fields["distributions"] = .array(try distributions.map { row in
                        .object([
                            "community": .string(row.community),
                            "probabilities": .array(row.probabilities.map(JSON.double)),
                            "covered_mass": .double(row.coveredMass),
                            "fallback": .bool(row.fallback),
                            "weight": .double(row.weight),
                            "rotations": try stored(row.rotationsJSON, "rotations_json", item.id),
                        ])
                    })
                }
                syntheses[synthesis.method] = .object(fields)
            }
            var record: [String: JSON] = [
                "run": .string(runID),
                "item": try content(item),
                "pool": .string(item.pool),
                "source": .object(["file": .string(item.sourceFile), "line": .integer(Int64(item.line))]),
                "comments": .array((commentsByItem[item.id] ?? []).map { comment in
                    .object([
                        "community": .string(comment.community),
                        "sample_index": .integer(Int64(comment.sampleIndex)),
                        "text": .string(comment.text),
                        "call": .string(comment.callKey),
                    ])
                }),
                "syntheses": .object(syntheses),
            ]
            let itemAudits = audits.filter { $0.itemID == item.id }
            if !itemAudits.isEmpty {
                record["audits"] = .array(itemAudits.map { audit in
                    .object([
                        "method": .string(audit.method),
                        "metric": .string(audit.metric),
                        "community": .string(audit.community),
                        "score": audit.score.map(JSON.double) ?? .null,
                        "evidence": (try? json(JSONParser.parse(audit.evidenceJSON))) ?? .string(audit.evidenceJSON),
                    ])
                })
            }
            try write(JSON.object(record).canonical + "\n")
        }
        return items.count
    }

    /// A stored JSON column as a JSON value.
    private static func stored(_ text: String, _ column: String, _ itemID: String) throws -> JSON {
        do {
            return json(try JSONParser.parse(text))
        } catch {
            throw ExportError.corruptColumn(itemID, column, "\(error)")
        }
    }

    /// The stored item content (canonical JSON written at ingest) as a JSON value.
    private static func content(_ item: ItemRecord) throws -> JSON {
        do {
            return json(try JSONParser.parse(item.contentJSON))
        } catch {
            throw ExportError.corruptItem(item.id, "\(error)")
        }
    }

    private static func json(_ node: JSONNode) -> JSON {
        switch node.value {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .number(let literal):
            if let value = Int64(literal) { return .integer(value) }
            if let value = UInt64(literal) { return .unsigned(value) }
            return .double(Double(literal) ?? 0)
        case .string(let value): return .string(value)
        case .array(let values): return .array(values.map(json))
        case .object(let members):
            var fields: [String: JSON] = [:]
            for member in members { fields[member.key] = json(member.value) }
            return .object(fields)
        }
    }
}

public enum ExportError: Error, CustomStringConvertible {
    case unknownRun(String)
    case corruptItem(String, String)
    case corruptColumn(String, String, String)

    public var description: String {
        switch self {
        case .unknownRun(let id): "no run \(id) in the corpus (`pluralism corpus runs PATH` lists them)"
        case .corruptItem(let id, let reason): "item \(id): stored content does not parse: \(reason)"
        case .corruptColumn(let id, let column, let reason): "item \(id): stored \(column) does not parse: \(reason)"
        }
    }
}

import Corpus

/// Which run a command means, from what a user types: a run id, a unique prefix of one, a
/// run name (its most recent run), `latest` (the most recently created run) or `previous`
/// (the one created before it). Tried in that order, except that an exact id always wins.
public enum RunSelection {
    public static func resolve(_ selector: String, in corpus: Corpus) throws -> RunRecord {
        let runs = try corpus.runs()  // oldest first
        guard !runs.isEmpty else { throw RunSelectionError.noRuns(corpus: corpus.path) }
        if let run = runs.first(where: { $0.id == selector }) { return run }
        switch selector {
        case "latest":
            return runs[runs.count - 1]
        case "previous":
            guard runs.count > 1 else { throw RunSelectionError.noPrevious(corpus: corpus.path) }
            return runs[runs.count - 2]
        default:
            break
        }
        if let named = runs.last(where: { $0.name == selector }) { return named }
        let prefixed = runs.filter { $0.id.hasPrefix(selector) }
        if prefixed.count == 1 { return prefixed[0] }
        if prefixed.count > 1 {
            throw RunSelectionError.ambiguous(selector: selector, matches: prefixed.map(\.id), corpus: corpus.path)
        }
        throw RunSelectionError.unknown(selector: selector, corpus: corpus.path, known: runs.map { "\($0.id) (\($0.name))" })
    }
}

/// A run selector that names no run, or more than one.
public enum RunSelectionError: Error, CustomStringConvertible, Sendable {
    case noRuns(corpus: String)
    case noPrevious(corpus: String)
    case ambiguous(selector: String, matches: [String], corpus: String)
    case unknown(selector: String, corpus: String, known: [String])

    public var description: String {
        switch self {
        case .noRuns(let corpus):
            "the corpus \(corpus) holds no run yet"
        case .noPrevious(let corpus):
            "the corpus \(corpus) holds one run only, so there is no previous run"
        case .ambiguous(let selector, let matches, let corpus):
            "\"\(selector)\" is the start of \(matches.count) run ids in \(corpus): \(matches.joined(separator: ", ")); give more characters"
        case .unknown(let selector, let corpus, let known):
            "no run \"\(selector)\" in \(corpus) (not an id, id prefix, run name, latest or previous); runs: "
                + known.joined(separator: ", ")
        }
    }
}

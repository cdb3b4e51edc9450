/// Why a corpus could not be opened or a record could not be stored or read back.
public enum CorpusError: Error, CustomStringConvertible, Sendable {
    /// The file could not be opened at all (missing, a directory, no permission).
    case cannotOpen(path: String, reason: String)
    /// The file is not a pluralism corpus: not SQLite, corrupt, or another program's database.
    /// The tool leaves such a file untouched.
    case notACorpus(path: String, reason: String)
    /// The file was written by a newer version of the tool, whose schema this one does not know.
    case newerSchema(path: String, version: Int, supported: Int)
    /// A read-only open found a file that needs migrating first.
    case olderSchema(path: String, version: Int, supported: Int)
    /// A record that the schema cannot hold (a non-finite probability, a distribution that
    /// belongs to another synthesis).
    case invalidRecord(table: String, key: String, reason: String)
    /// A stored value that does not read back as its type (edited by hand, or by another tool).
    case invalidValue(table: String, column: String, key: String, reason: String)
    /// No run with this id.
    case unknownRun(id: String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason):
            "cannot open corpus \(path): \(reason)"
        case .notACorpus(let path, let reason):
            "\(path) is not a pluralism corpus: \(reason) (the file was left unchanged)"
        case .newerSchema(let path, let version, let supported):
            "corpus \(path) has schema version \(version), but this pluralism knows versions up to \(supported): "
                + "it was written by a newer pluralism; use that version (the file was left unchanged)"
        case .olderSchema(let path, let version, let supported):
            "corpus \(path) has schema version \(version) and this pluralism reads version \(supported): "
                + "open it once with a command that writes (e.g. `pluralism ingest`) to migrate it"
        case .invalidRecord(let table, let key, let reason):
            "cannot store \(table) row \(key): \(reason)"
        case .invalidValue(let table, let column, let key, let reason):
            "corpus \(table).\(column) of row \(key): \(reason)"
        case .unknownRun(let id):
            "no run with id \(id) in the corpus"
        }
    }
}

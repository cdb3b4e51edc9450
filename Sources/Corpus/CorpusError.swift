/// Why a corpus could not be opened or a record could not be stored or read back.
public enum CorpusError: Error, CustomStringConvertible, Sendable {
    /// The file could not be opened (an I/O error, a lock that failed).
    case cannotOpen(path: String, reason: String)
    /// No file at the path (for a command that only reads).
    case missing(path: String)
    /// There is something at the path, but it cannot be read as a corpus: a folder, a FIFO,
    /// a file without read permission.
    case unreadable(path: String, reason: String)
    /// The corpus cannot be created or written there: an empty path, a folder, a parent
    /// that cannot be created, no write permission.
    case cannotCreate(path: String, reason: String)
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
        case .missing(let path):
            "no corpus at \(path) (no such file); run `pluralism run` to create one, or pass --corpus"
        case .unreadable(let path, let reason):
            "cannot read corpus \(path): \(reason)"
        case .cannotCreate(let path, let reason):
            path.isEmpty ? "the corpus path is empty (an unset variable in `--corpus \"$VAR\"`?)"
                : "cannot write corpus \(path): \(reason)"
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

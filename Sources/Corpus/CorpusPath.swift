import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checks of a corpus path made before SQLite sees it: SQLite opens an empty path as a
/// throwaway temporary database and reports a read-only folder as "not a database", so
/// those cases are told apart here, in words a user can act on.
enum CorpusPath {
    /// Why `path` cannot be read as a corpus, as a `CorpusError`, or nil.
    static func readProblem(_ path: String) -> CorpusError? {
        guard !path.isEmpty else { return .cannotCreate(path: path, reason: "empty path") }
        var info = stat()
        guard stat(path, &info) == 0 else {
            switch errno {
            case ENOENT, ENOTDIR: return .missing(path: path)
            case ELOOP: return .unreadable(path: path, reason: "a symbolic link loop")
            case EACCES: return .unreadable(path: path, reason: "permission denied (a folder on the way cannot be searched)")
            default: return .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
        }
        if let kind = nonFileKind(info) { return .unreadable(path: path, reason: "it is \(kind), not a file") }
        if access(path, R_OK) != 0 { return .unreadable(path: path, reason: "permission denied (the file is not readable)") }
        return nil
    }

    /// Why a corpus cannot be created or written at `path`, or nil. A missing parent folder
    /// is not a problem (it is created), unless it cannot be.
    static func writeProblem(_ path: String) -> CorpusError? {
        guard !path.isEmpty else { return .cannotCreate(path: path, reason: "empty path") }
        var info = stat()
        if stat(path, &info) == 0 {
            if let kind = nonFileKind(info) { return .cannotCreate(path: path, reason: "it is \(kind), not a file") }
            if access(path, R_OK | W_OK) != 0 { return .cannotCreate(path: path, reason: "permission denied (the file is not writable)") }
        } else if errno == ELOOP {
            return .cannotCreate(path: path, reason: "a symbolic link loop")
        }
        // SQLite writes `-wal` and `-shm` files beside the corpus, so the folder must be
        // writable even when the file is.
        let parent = folder(of: path)
        var folderInfo = stat()
        if stat(parent, &folderInfo) == 0 {
            if folderInfo.st_mode & S_IFMT != S_IFDIR { return .cannotCreate(path: path, reason: "\(parent) is not a folder") }
            if access(parent, W_OK | X_OK) != 0 {
                return .cannotCreate(path: path, reason: "the folder \(parent) is not writable (the corpus and its -wal, -shm and -lock files go there)")
            }
        }
        return nil
    }

    /// The folder a path is in ("." for a bare file name).
    static func folder(of path: String) -> String {
        let parent = (path as NSString).deletingLastPathComponent
        return parent.isEmpty ? "." : parent
    }

    /// "a folder", "a FIFO", … for anything that is not a regular file.
    private static func nonFileKind(_ info: stat) -> String? {
        switch info.st_mode & S_IFMT {
        case S_IFREG: nil
        case S_IFDIR: "a folder"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFSOCK: "a socket"
        default: "a device"
        }
    }
}

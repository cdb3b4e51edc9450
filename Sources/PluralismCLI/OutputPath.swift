import Foundation

/// Checks of an output path made before any work: a run that takes half an hour should not
/// fail at its end because `--out` names a file or a folder that does not exist.
enum OutputPath {
    /// A file to be written (through a temporary file beside it, then renamed): not empty,
    /// not a folder, in an existing folder we can write.
    static func checkFile(_ path: String, option: String) throws {
        guard !path.isEmpty else { throw OutputPathError(option: option, path: path, reason: "the path is empty") }
        if isFolder(path) { throw OutputPathError(option: option, path: path, reason: "it is a folder; give a file name") }
        try checkParent(of: path, option: option, creatable: false)
        if FileManager.default.fileExists(atPath: path) && access(path, W_OK) != 0 {
            throw OutputPathError(option: option, path: path, reason: "the file is not writable")
        }
    }

    /// A folder to be written (created when missing, with its parents).
    static func checkFolder(_ path: String, option: String) throws {
        guard !path.isEmpty else { throw OutputPathError(option: option, path: path, reason: "the path is empty") }
        if FileManager.default.fileExists(atPath: path) && !isFolder(path) {
            throw OutputPathError(option: option, path: path, reason: "it is a file, not a folder")
        }
        try checkParent(of: path, option: option, creatable: true)
    }

    /// The nearest existing folder above `path` must be writable; with `creatable` false the
    /// immediate parent must exist.
    private static func checkParent(of path: String, option: String, creatable: Bool) throws {
        var parent = (path as NSString).deletingLastPathComponent
        if parent.isEmpty { parent = "." }
        if !creatable && !FileManager.default.fileExists(atPath: parent) {
            throw OutputPathError(option: option, path: path, reason: "the folder \(parent) does not exist")
        }
        while !FileManager.default.fileExists(atPath: parent) {
            let up = (parent as NSString).deletingLastPathComponent
            parent = up.isEmpty ? "." : up
        }
        guard isFolder(parent) else { throw OutputPathError(option: option, path: path, reason: "\(parent) is not a folder") }
        guard access(parent, W_OK | X_OK) == 0 else {
            throw OutputPathError(option: option, path: path, reason: "the folder \(parent) is not writable")
        }
    }

    private static func isFolder(_ path: String) -> Bool {
        var folder: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &folder) && folder.boolValue
    }
}

/// An output path that cannot be used (exit 73).
struct OutputPathError: Error, CustomStringConvertible {
    var option: String
    var path: String
    var reason: String

    var description: String { "\(option) \(path.isEmpty ? "''" : path): \(reason); nothing was written" }
}

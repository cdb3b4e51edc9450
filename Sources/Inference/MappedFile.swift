import Foundation

/// A whole file mapped read-only into memory, unmapped when the last reference goes: how the
/// model formats (GGUF, safetensors) read their weights without copying them.
final class MappedFile: @unchecked Sendable {
    /// Why a file could not be mapped; each format turns it into its own error.
    enum Failure: Error {
        case missing
        case unreadable(reason: String)
    }

    let base: UnsafeRawPointer
    let size: Int

    /// Maps the file at `path`. A missing file, a folder, an unreadable file or a failed
    /// mapping is a `Failure`; an empty file maps to a zero size with nothing to read.
    init(path: String) throws(Failure) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            let code = errno
            throw code == ENOENT ? .missing : .unreadable(reason: String(cString: strerror(code)))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .unreadable(reason: String(cString: strerror(errno))) }
        if (info.st_mode & S_IFMT) == S_IFDIR { throw .unreadable(reason: "it is a directory") }
        size = Int(info.st_size)
        // mmap refuses a zero length: an empty file gets a dangling but never-read base.
        guard size > 0 else {
            base = UnsafeRawPointer(bitPattern: 1)!
            return
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw .unreadable(reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if size > 0 { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }
}

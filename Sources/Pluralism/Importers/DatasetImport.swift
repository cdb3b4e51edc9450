import Foundation

/// Runs an importer into a question file, atomically: items are written to `<out>.partial`
/// beside the target and renamed over it only when the whole import succeeded, so a failed
/// import never leaves a half-written file or damages an earlier one.
public enum DatasetImport {
    public static func run(_ importer: some DatasetImporter, paths: [String], options: ImportOptions, out: String) throws -> ImportSummary {
        let partial = out + ".partial"
        let file = try LineFile(path: partial, finalPath: out)
        do {
            let writer = ItemWriter()
            let session = ImportSession(options: options, defaultPrefix: importer.name) { try file.write(writer.line($0)) }
            do {
                try importer.read(paths, into: session)
            } catch let errors as InputErrors {
                // A structural error stops the read; report it after what was collected.
                errors.errors.forEach(session.fail)
            }
            try session.finish()
            try file.close()
            guard rename(partial, out) == 0 else { throw ImportOutputError(path: out, reason: String(cString: strerror(errno))) }
            return session.summary
        } catch {
            file.discard()
            throw error
        }
    }

    /// The `questions` entry and the `populations` a run configuration needs for an imported
    /// file, as JSON to paste into (or merge with) `run.json`. `file` is the question file's
    /// path as the config will name it (relative to the config's folder).
    public static func configSnippet(file: String, pool: String, summary: ImportSummary) -> String {
        var lines = ["{", "  \"questions\": [" + JSON.object(["file": .string(file), "pool": .string(pool)]).canonical + "]"]
        if !summary.populations.isEmpty {
            lines[1] += ","
            lines.append("  \"populations\": {")
            let names = summary.populations.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (index, name) in names.enumerated() {
                var population: [String: JSON] = [:]
                if let label = summary.populations[name] ?? nil { population["label"] = .string(label) }
                let comma = index == names.count - 1 ? "" : ","
                lines.append("    \(JSON.quoted(name)): \(JSON.object(population).canonical)\(comma)")
            }
            lines.append("  }")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `file` as a config in the folder of `config` names it: relative to that folder
    /// (`../data/x.jsonl` when it lies elsewhere), both taken from the working directory.
    public static func path(of file: String, relativeToFolderOf config: String) -> String {
        let base = URL(fileURLWithPath: config).standardizedFileURL.deletingLastPathComponent().pathComponents
        let target = URL(fileURLWithPath: file).standardizedFileURL.pathComponents
        var common = 0
        while common < base.count, common < target.count, base[common] == target[common] { common += 1 }
        return (Array(repeating: "..", count: base.count - common) + target[common...]).joined(separator: "/")
    }

    /// Writes `text` to `path` through a temporary file and a rename.
    public static func writeAtomically(_ text: String, to path: String) throws {
        let file = try LineFile(path: path + ".partial", finalPath: path)
        do {
            try file.writeRaw(Array(text.utf8))
            try file.close()
            guard rename(path + ".partial", path) == 0 else { throw ImportOutputError(path: path, reason: String(cString: strerror(errno))) }
        } catch {
            file.discard()
            throw error
        }
    }
}

/// The output cannot be written (exit status 73).
public struct ImportOutputError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "cannot write \(path): \(reason)" }
}

/// A buffered writer of text lines to a new file.
final class LineFile {
    private let path: String
    private let finalPath: String
    private var handle: UnsafeMutablePointer<FILE>?
    private var buffer: [UInt8] = []

    init(path: String, finalPath: String) throws {
        self.path = path
        self.finalPath = finalPath
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: finalPath, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ImportOutputError(path: finalPath, reason: "it is a folder")
        }
        guard let handle = fopen(path, "wb") else { throw ImportOutputError(path: finalPath, reason: String(cString: strerror(errno))) }
        self.handle = handle
        buffer.reserveCapacity(1 << 20)
    }

    func write(_ line: String) throws {
        buffer.append(contentsOf: line.utf8)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { try flush() }
    }

    func writeRaw(_ bytes: [UInt8]) throws {
        buffer.append(contentsOf: bytes)
        try flush()
    }

    private func flush() throws {
        guard let handle, !buffer.isEmpty else { return }
        let written = buffer.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        guard written == buffer.count else { throw ImportOutputError(path: finalPath, reason: String(cString: strerror(errno))) }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws {
        try flush()
        guard let handle else { return }
        self.handle = nil
        guard fclose(handle) == 0 else { throw ImportOutputError(path: finalPath, reason: String(cString: strerror(errno))) }
    }

    /// Closes and removes the temporary file.
    func discard() {
        if let handle { fclose(handle) }
        handle = nil
        unlink(path)
    }

    deinit { if let handle { fclose(handle) } }
}

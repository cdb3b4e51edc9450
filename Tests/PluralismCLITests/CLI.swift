import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The built `pluralism` binary, run as a user would run it: arguments, working folder,
/// environment, exit status, stdout and stderr.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    /// Beside the test bundle in the build folder (`swift test` builds both), else
    /// `.build/release/pluralism` from the repository root.
    static let binary: String = {
        let besideTests = (((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? "") as NSString)
            .deletingLastPathComponent + "/pluralism"
        if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
        return repositoryRoot + "/.build/release/pluralism"
    }()

    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// A started binary, its output going to files (no pipes to drain, no threads).
    struct Running {
        let process: Process
        let stdout: String
        let stderr: String

        /// Waits for the exit and reads the output.
        func finish() -> Result {
            process.waitUntilExit()
            let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
            defer {
                try? FileManager.default.removeItem(atPath: stdout)
                try? FileManager.default.removeItem(atPath: stderr)
            }
            return Result(status: process.terminationStatus, stdout: read(stdout), stderr: read(stderr))
        }
    }

    /// Starts the binary; the caller finishes it.
    static func start(_ arguments: [String], in folder: String, environment: [String: String] = [:]) throws -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var env = ProcessInfo.processInfo.environment
        env["PLURALISM_MODEL_DIR"] = folder + "/no-models"  // never the real cache unless a test says so
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let base = (NSTemporaryDirectory() as NSString).appendingPathComponent("pluralism-cli-output-\(UUID().uuidString)")
        let stdout = base + ".out", stderr = base + ".err"
        _ = FileManager.default.createFile(atPath: stdout, contents: nil)
        _ = FileManager.default.createFile(atPath: stderr, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: stdout)
        process.standardError = FileHandle(forWritingAtPath: stderr)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Running(process: process, stdout: stdout, stderr: stderr)
    }

    /// Runs the binary to the end.
    @discardableResult
    static func run(_ arguments: [String], in folder: String, environment: [String: String] = [:]) throws -> Result {
        try start(arguments, in: folder, environment: environment).finish()
    }
}

/// A fresh folder under the temporary directory.
struct Scratch {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("pluralism-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func write(_ name: String, _ text: String) throws {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
    }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

    func remove() {
        chmodTree(path)
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Files directly in a folder of the scratch space, sorted.
    func listing(_ name: String = ".") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: file(name))) ?? []).sorted()
    }

    private func chmodTree(_ folder: String) {
        chmod(folder, 0o755)
        for entry in (try? FileManager.default.subpathsOfDirectory(atPath: folder)) ?? [] {
            chmod((folder as NSString).appendingPathComponent(entry), 0o755)
        }
    }
}

/// The scripted OpenAI-compatible server (`Fixtures/fake_openai.py`) on a loopback port,
/// and a copy of the fixture config pointing at it.
final class ScriptedServer {
    let process: Process
    let port: Int
    let log: String

    init(in scratch: Scratch, delay: Double = 0) throws {
        log = scratch.file("requests-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let portFile = scratch.file("port-\(UUID().uuidString)")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", CLI.fixtures + "/fake_openai.py", log, String(delay), portFile]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        var port: Int?
        while port == nil && Date() < deadline && process.isRunning {
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
            if port == nil { usleep(20_000) }
        }
        guard let port else {
            if process.isRunning { process.terminate() }
            throw ServerError(message: "the scripted server did not start")
        }
        self.port = port
    }

    deinit { stop() }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Requests answered so far.
    var requests: Int {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// Writes the fixture config and questions into `folder` of the scratch space, with
    /// this server's URL; returns the config's path.
    @discardableResult
    func writeConfig(into scratch: Scratch, folder: String = "inputs") throws -> String {
        let config = try String(contentsOfFile: CLI.fixtures + "/run.json", encoding: .utf8)
            .replacingOccurrences(of: "BASE_URL", with: "http://127.0.0.1:\(port)/v1")
        try scratch.write("\(folder)/run.json", config)
        try scratch.write("\(folder)/questions.jsonl", String(contentsOfFile: CLI.fixtures + "/questions.jsonl", encoding: .utf8))
        return scratch.file("\(folder)/run.json")
    }

    struct ServerError: Error { var message: String }
}

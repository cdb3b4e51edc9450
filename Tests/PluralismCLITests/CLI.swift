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

    /// Starts the binary; the caller waits.
    static func start(_ arguments: [String], in folder: String, environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        var env = ProcessInfo.processInfo.environment
        env["PLURALISM_MODEL_DIR"] = folder + "/no-models"  // never the real cache unless a test says so
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    /// Runs the binary to the end.
    @discardableResult
    static func run(_ arguments: [String], in folder: String, environment: [String: String] = [:]) throws -> Result {
        let (process, out, err) = try start(arguments, in: folder, environment: environment)
        return finish(process, out, err)
    }

    static func finish(_ process: Process, _ out: Pipe, _ err: Pipe) -> Result {
        // Read both pipes before waiting: a full pipe would block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var stdout = Data(), stderr = Data()
        group.enter()
        DispatchQueue.global().async { stdout = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        DispatchQueue.global().async { stderr = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
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
        FileManager.default.createFile(atPath: log, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", CLI.fixtures + "/fake_openai.py", log, String(delay)]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line += byte
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            process.terminate()
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

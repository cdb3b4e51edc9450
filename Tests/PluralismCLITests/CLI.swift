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
        let child: Child
        let stdout: String
        let stderr: String

        var pid: pid_t { child.pid }

        /// Waits for the exit and reads the output.
        func finish() -> Result {
            let status = child.wait()
            let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
            defer {
                try? FileManager.default.removeItem(atPath: stdout)
                try? FileManager.default.removeItem(atPath: stderr)
            }
            return Result(status: status, stdout: read(stdout), stderr: read(stderr))
        }
    }

    /// Starts the binary; the caller finishes it.
    static func start(_ arguments: [String], in folder: String, environment: [String: String] = [:]) throws -> Running {
        var env = ProcessInfo.processInfo.environment
        env["PLURALISM_MODEL_DIR"] = folder + "/no-models"  // never the real cache unless a test says so
        for (key, value) in environment { env[key] = value }
        let base = (NSTemporaryDirectory() as NSString).appendingPathComponent("pluralism-cli-output-\(UUID().uuidString)")
        let child = try Child.spawn(binary, arguments, in: folder, environment: env, stdout: base + ".out", stderr: base + ".err")
        return Running(child: child, stdout: base + ".out", stderr: base + ".err")
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
    let child: Child
    let port: Int
    let log: String
    private var stopped = false

    init(in scratch: Scratch, delay: Double = 0) throws {
        log = scratch.file("requests-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let portFile = scratch.file("port-\(UUID().uuidString)")
        child = try Child.spawn("/usr/bin/env", ["python3", CLI.fixtures + "/fake_openai.py", log, String(delay), portFile],
                                in: scratch.path, environment: ProcessInfo.processInfo.environment,
                                stdout: "/dev/null", stderr: scratch.file("server-\(UUID().uuidString).err"))
        let deadline = Date().addingTimeInterval(30)
        var port: Int?
        while port == nil && Date() < deadline {
            port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
            if port == nil { usleep(20_000) }
        }
        guard let port else {
            kill(child.pid, SIGKILL)
            _ = child.wait()
            throw ServerError(message: "the scripted server did not start")
        }
        self.port = port
    }

    deinit { stop() }

    func stop() {
        guard !stopped else { return }
        stopped = true
        kill(child.pid, SIGKILL)
        _ = child.wait()
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

/// A child process started with posix_spawn and reaped with waitpid: nothing of
/// Foundation's run-loop machinery, which can hang when many tests wait at once.
struct Child {
    let pid: pid_t

    static func spawn(_ program: String, _ arguments: [String], in folder: String, environment: [String: String],
                      stdout: String, stderr: String) throws -> Child {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // The shell changes folder and execs the program, so the pid is the program's own.
        let argv = (["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", folder, program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The test runner's threads may block signals; the child starts with none blocked
        // and every signal at its default (a test sends SIGINT and SIGTERM).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let code = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
        guard code == 0 else { throw SpawnError(program: program, code: code) }
        return Child(pid: pid)
    }

    /// Waits for the exit; the exit status, or 128 + the signal that ended it.
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    struct SpawnError: Error { var program: String; var code: Int32 }
}

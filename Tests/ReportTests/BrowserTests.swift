import Foundation
@testable import Report
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real browser opens every page of a rendered site, the hostile one included.
///
/// Headless Chromium loads each page from disk with every connection sent through a
/// recording proxy, its console written to stderr, and prints the DOM it built. The check
/// fails when any console message appears (the pages hold no script, so any message means
/// script ran or a load failed), when the built DOM holds a script, image, frame or style
/// element or an event-handler attribute, or when the page fetched anything. A control page
/// that does run a script, fire a handler and fetch an image must be caught first, so a
/// blind detector cannot pass.
@Suite struct BrowserTests {
    @Test(.enabled(if: Chromium.path != nil, "chromium is not installed (apt-get install chromium): no browser check"))
    func noPageRunsScriptFiresHandlersOrFetches() throws {
        let chromium = try #require(Chromium.path)
        let fixture = try HostileFixture().rendered
        defer { fixture.folder.remove() }
        let proxy = try RecordingProxy()
        defer { proxy.stop() }

        // Whatever hosts the browser's own services call while an empty page is open are not
        // the pages' doing.
        let blank = fixture.folder.file("blank.html")
        try "<!DOCTYPE html><html><head><title>blank</title></head><body></body></html>".write(toFile: blank, atomically: true, encoding: .utf8)
        _ = try Chromium.open(blank, chromium: chromium, proxyPort: proxy.port, profile: fixture.folder.file("profile-blank"))
        proxy.allowHostsSeenSoFar()

        let control = fixture.folder.file("control.html")
        try """
        <!DOCTYPE html><html><head><title>control</title></head><body>
        <script>console.log('control script ran')</script>
        <img src="http://canary.invalid/control.png" onerror="console.log('control handler fired')">
        </body></html>
        """.write(toFile: control, atomically: true, encoding: .utf8)
        let controlRun = try Chromium.open(control, chromium: chromium, proxyPort: proxy.port, profile: fixture.folder.file("profile-control"))
        #expect(controlRun.console.contains { $0.contains("control script ran") }, "the check would not see a script run: \(controlRun.console)")
        #expect(controlRun.console.contains { $0.contains("control handler fired") }, "the check would not see a handler fire")
        #expect(proxy.pageRequests().contains { $0.contains("canary.invalid") }, "the check would not see a fetch: \(proxy.requests())")
        proxy.clear()

        let paths = try pages(in: fixture.site)
        let site = fixture.site, scratch = fixture.folder.path, port = proxy.port
        let results = concurrentMap(count: 2) { worker -> [(String, Chromium.Result?, String?)] in
            stride(from: worker, to: paths.count, by: 2).map { index in
                let path = paths[index]
                do {
                    let result = try Chromium.open(site + "/" + path, chromium: chromium, proxyPort: port,
                                                   profile: scratch + "/profile-\(worker)")
                    return (path, result, nil)
                } catch {
                    return (path, nil, "\(error)")
                }
            }
        }.flatMap { $0 }
        #expect(results.count == paths.count)
        for (path, result, failure) in results {
            guard let result else {
                Issue.record("\(path): \(failure ?? "no result")")
                continue
            }
            #expect(result.console.isEmpty, "\(path): console messages \(result.console)")
            let dom = try HTMLDocument.parse(Array(result.dom.utf8), name: path).document
            let elements = dom.root.map { [$0] + $0.descendants() } ?? []
            #expect(elements.count > 10, "\(path): the browser built no page")
            for element in elements {
                #expect(!["script", "img", "iframe", "frame", "object", "embed", "style", "form", "base"].contains(element.name),
                        "\(path): the browser built a <\(element.name)>")
                for (name, _) in element.attributes { #expect(!name.hasPrefix("on"), "\(path): \(name) on <\(element.name)>") }
            }
        }
        #expect(proxy.pageRequests().isEmpty, "pages fetched: \(proxy.pageRequests())")
    }
}

enum Chromium {
    /// The first of chromium, chromium-browser, google-chrome on PATH.
    static let path: String? = {
        let folders = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for folder in folders where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)") {
                return "\(folder)/\(name)"
            }
        }
        return nil
    }()

    struct Result {
        var dom: String
        /// The console messages the page produced.
        var console: [String]
    }

    /// Opens a file in headless Chromium and returns the DOM it built and its console output.
    static func open(_ file: String, chromium: String, proxyPort: UInt16, profile: String) throws -> Result {
        let output = profile + ".dom", errors = profile + ".log"
        guard FileManager.default.createFile(atPath: output, contents: nil), FileManager.default.createFile(atPath: errors, contents: nil)
        else { throw BrowserError(message: "cannot create \(output)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(profile)",
            "--proxy-server=http://127.0.0.1:\(proxyPort)", "--proxy-bypass-list=<-loopback>",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
            "--no-default-browser-check", "--disable-default-apps", "--disable-extensions", "--no-pings",
            "--enable-logging=stderr", "--v=0", "--virtual-time-budget=2000", "--dump-dom",
            URL(fileURLWithPath: file).absoluteString,
        ]
        process.standardOutput = FileHandle(forWritingAtPath: output)
        process.standardError = FileHandle(forWritingAtPath: errors)
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning {
            process.terminate()
            throw BrowserError(message: "chromium did not finish \(file) in 90 s")
        }
        let log = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        return Result(
            dom: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "",
            console: log.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init))
    }
}

struct BrowserError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// A loopback listener posing as the browser's HTTP proxy: it records the first line of
/// every request (`GET http://host/…`, `CONNECT host:443`) and answers nothing.
final class RecordingProxy: @unchecked Sendable {
    let port: UInt16
    private let socket: Int32
    private let lock = NSLock()
    private var lines: [String] = []
    private var allowed = Set(RecordingProxy.browserServices)

    /// Hosts Chromium's own services call whatever page is open (component updates, sign-in
    /// checks), besides those seen while an empty page was open; a request anywhere else came
    /// from a page.
    static let browserServices = [
        "update.googleapis.com", "accounts.google.com", "clients2.google.com", "clientservices.googleapis.com",
        "optimizationguide-pa.googleapis.com", "safebrowsing.googleapis.com", "redirector.gvt1.com",
        "content-autofill.googleapis.com",
    ]

    init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw BrowserError(message: "no socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(socket, raw, length) == 0 && listen(socket, 64) == 0 && getsockname(socket, raw, &length) == 0
            }
        }
        guard bound else {
            close(socket)
            throw BrowserError(message: "cannot listen on 127.0.0.1")
        }
        self.socket = socket
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    private func acceptLoop() {
        while true {
            let client = accept(socket, nil, nil)
            guard client >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(client, &buffer, buffer.count)
            if count > 0 {
                let line = String(decoding: buffer[..<count], as: UTF8.self).split(separator: "\r\n").first.map(String.init) ?? ""
                lock.withLock { lines.append(line) }
            }
            close(client)
        }
    }

    func requests() -> [String] { lock.withLock { lines } }

    /// The requests not made by the browser's own services.
    func pageRequests() -> [String] {
        let allowed = lock.withLock { self.allowed }
        return requests().filter { !allowed.contains(Self.host(of: $0)) }
    }

    /// Counts every host requested so far as the browser's own (after an empty page).
    func allowHostsSeenSoFar() {
        lock.withLock {
            allowed.formUnion(lines.map(Self.host))
            lines.removeAll()
        }
    }

    /// The host a request line is for: `CONNECT host:443` or `GET http://host/…`.
    static func host(of line: String) -> String {
        let target = line.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        return (URL(string: target)?.host ?? target.split(separator: ":").first.map(String.init) ?? "").lowercased()
    }

    func clear() { lock.withLock { lines.removeAll() } }

    func stop() {
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
    }
}

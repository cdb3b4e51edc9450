import Foundation
import Pluralism
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small HTTP/1.1 server for client tests: loopback only, an ephemeral port, one thread
/// per connection, each request answered by a script and recorded.
///
/// Answers can misbehave the way real servers and networks do (`Delivery`: trickled,
/// stalled, cut off) or replay recorded replies (`Response.replay`).
///
/// It answers one request per connection (`Connection: close`), counts how many requests
/// it is handling at once, and stops on `stop()` or by itself after `lifetime` seconds, so
/// a failing test cannot leave it running (its threads hold it alive until then).
final class TestHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        var method: String
        var path: String
        /// Header names lowercased.
        var headers: [String: String]
        var body: Data
        /// Arrival time, seconds since the server started.
        var arrival: Double

        var json: [String: Any]? {
            (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        }
    }

    /// How the answer's bytes go out: what misbehaving servers and networks do.
    enum Delivery: Sendable {
        /// All at once.
        case whole
        /// The head, then the body `bytes` at a time with `interval` seconds between.
        case trickle(bytes: Int, interval: Double)
        /// The head and the first `bytes` of the body, then nothing until the server stops.
        case stall(afterBytes: Int)
        /// The head (announcing the whole body) and the first `bytes`, then the connection closes.
        case closeMidBody(afterBytes: Int)
    }

    struct Response: Sendable {
        var status: Int
        var headers: [String: String] = [:]
        var body: Data
        /// Seconds to wait before answering (a slow or hung server).
        var delay: Double = 0
        var delivery: Delivery = .whole

        static func json(_ text: String, status: Int = 200, delay: Double = 0, headers: [String: String] = [:],
                         delivery: Delivery = .whole) -> Response {
            Response(status: status, headers: headers.merging(["Content-Type": "application/json"]) { a, _ in a },
                     body: Data(text.utf8), delay: delay, delivery: delivery)
        }

        /// A redirect to another URL.
        static func redirect(to location: String, status: Int = 302) -> Response {
            Response(status: status, headers: ["Location": location], body: Data())
        }

        /// A recorded reply: a bare body (sent as a 200 JSON reply), or a whole HTTP response
        /// (status line, headers, blank line, body) as `curl -i` captures it.
        static func replay(_ recorded: Data) -> Response {
            let separator = Data("\r\n\r\n".utf8)
            guard recorded.starts(with: Data("HTTP/".utf8)) else { return Response(status: 200, headers: ["Content-Type": "application/json"], body: recorded) }
            let split = recorded.range(of: separator) ?? recorded.range(of: Data("\n\n".utf8))
            let headEnd = split?.lowerBound ?? recorded.endIndex
            let head = String(decoding: recorded[..<headEnd], as: UTF8.self)
            var lines = head.components(separatedBy: "\n").map { $0.trimmingCharacters(in: .init(charactersIn: "\r")) }
            let statusLine = lines.removeFirst().split(separator: " ")
            var headers: [String: String] = [:]
            for line in lines {
                let parts = line.split(separator: ":", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = String(parts[0])
                // Framing is the server's to decide.
                if ["content-length", "connection", "transfer-encoding"].contains(name.lowercased()) { continue }
                headers[name] = parts[1].trimmingCharacters(in: .whitespaces)
            }
            let body = split.map { recorded[$0.upperBound...] } ?? Data()
            return Response(status: statusLine.count > 1 ? Int(statusLine[1]) ?? 500 : 500, headers: headers, body: Data(body))
        }
    }

    /// Given the request and its 0-based arrival index, the answer.
    typealias Script = @Sendable (Request, Int) -> Response

    let port: UInt16
    var baseURL: String { "http://127.0.0.1:\(port)" }

    private let script: Script
    private let listener: Int32
    private let started = Date()
    private let deadline: Date
    private let lock = NSLock()
    private var recorded: [Request] = []
    private var active = 0
    private var peak = 0
    private var stopped = false

    init(lifetime: Double = 180, script: @escaping Script) throws {
        self.script = script
        self.deadline = Date().addingTimeInterval(lifetime)

        (listener, port) = try LoopbackServer.listen(backlog: 64)

        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// Every request received so far, in arrival order.
    var requests: [Request] { lock.withLock { recorded } }
    /// The most requests handled at the same time.
    var peakConcurrency: Int { lock.withLock { peak } }

    func stop() {
        lock.withLock { stopped = true }
    }

    private var isStopped: Bool {
        lock.withLock { stopped } || Date() > deadline
    }

    private func acceptLoop() {
        defer { close(listener) }
        while !isStopped {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            let thread = Thread { [self] in serve(connection) }
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard var request = readRequest(connection) else { return }

        let index: Int = lock.withLock {
            request.arrival = Date().timeIntervalSince(started)
            recorded.append(request)
            active += 1
            peak = max(peak, active)
            return recorded.count - 1
        }
        defer { lock.withLock { active -= 1 } }

        let response = script(request, index)
        // Sleep in small steps so that stop() ends a hung answer promptly.
        let wakeUp = Date().addingTimeInterval(response.delay)
        while Date() < wakeUp, !isStopped { usleep(10_000) }
        if isStopped { return }
        writeResponse(response, to: connection)
    }

    private func readRequest(_ connection: Int32) -> Request? {
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 16384)
        let separator = Data("\r\n\r\n".utf8)
        var headerEnd: Range<Data.Index>?
        var contentLength = 0
        while true {
            if headerEnd == nil, let found = buffer.range(of: separator) {
                headerEnd = found
                let head = String(decoding: buffer[..<found.lowerBound], as: UTF8.self)
                for line in head.split(separator: "\r\n").dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    if parts.count == 2, parts[0].lowercased() == "content-length" {
                        contentLength = Int(parts[1].trimmingCharacters(in: .whitespaces)) ?? 0
                    }
                }
            }
            if let headerEnd, buffer.count - headerEnd.upperBound >= contentLength { break }
            let count = recv(connection, &chunk, chunk.count, 0)
            guard count > 0 else { return nil }
            buffer.append(contentsOf: chunk[0..<count])
            if buffer.count > 1 << 24 { return nil }
        }
        guard let headerEnd else { return nil }
        let head = String(decoding: buffer[..<headerEnd.lowerBound], as: UTF8.self)
        var lines = head.split(separator: "\r\n").map(String.init)
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 {
                headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        let body = buffer[headerEnd.upperBound..<(headerEnd.upperBound + contentLength)]
        return Request(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers,
                       body: Data(body), arrival: 0)
    }

    private func writeResponse(_ response: Response, to connection: Int32) {
        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        var headers = response.headers
        headers["Content-Length"] = "\(response.body.count)"
        headers["Connection"] = "close"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        var bytes = Data(head.utf8)
        switch response.delivery {
        case .whole:
            bytes.append(response.body)
            LoopbackServer.send(bytes, to: connection)
        case .trickle(let count, let interval):
            guard LoopbackServer.send(bytes, to: connection) else { return }
            var offset = 0
            while offset < response.body.count, !isStopped {
                let end = min(offset + max(1, count), response.body.count)
                guard LoopbackServer.send(response.body[offset..<end], to: connection) else { return }
                offset = end
                usleep(useconds_t(interval * 1_000_000))
            }
        case .stall(let count):
            bytes.append(response.body.prefix(count))
            guard LoopbackServer.send(bytes, to: connection) else { return }
            while !isStopped { usleep(10_000) }
        case .closeMidBody(let count):
            bytes.append(response.body.prefix(count))
            LoopbackServer.send(bytes, to: connection)
        }
    }


    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 302: "Found"
        case 307: "Temporary Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }

    struct ServerError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

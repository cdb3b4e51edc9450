import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small HTTP/1.1 server on 127.0.0.1 that answers every request after a fixed delay:
/// what `bench pipeline --loopback` measures the scheduler against (a model server whose
/// every answer takes the same time, so the figure shows how many calls are kept in flight),
/// and what tests run the CLI against. Not a general server: one thread per connection,
/// keep-alive, requests with a `Content-Length` body only.
public final class LoopbackServer: @unchecked Sendable {
    /// Given a request's path and body, the status and JSON body of the answer.
    public typealias Handler = @Sendable (_ path: String, _ body: Data) -> (status: Int, body: Data)

    public let port: UInt16
    public var baseURL: String { "http://127.0.0.1:\(port)" }
    /// Seconds every answer waits before it is sent.
    public let latency: Double

    private let handler: Handler
    private let listener: Int32
    private let lock = NSLock()
    private var handled = 0
    private var active = 0
    private var peak = 0
    private var stopped = false

    public init(latency: Double, handler: @escaping Handler) throws {
        self.latency = max(0, latency)
        self.handler = handler
        (listener, port) = try LoopbackServer.listen(backlog: 1024)
        Thread { [self] in acceptLoop() }.start()
    }

    /// A TCP socket listening on 127.0.0.1, on a port the system picks; the tests' scripted
    /// server binds the same way.
    public static func listen(backlog: Int32) throws -> (descriptor: Int32, port: UInt16) {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw LoopbackServerError(message: "socket: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = in_addr_t(UInt32(0x7F00_0001).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #if canImport(Glibc)
        let listening = Glibc.listen(fd, backlog)
        #else
        let listening = Darwin.listen(fd, backlog)
        #endif
        guard bound == 0, listening == 0 else {
            close(fd)
            throw LoopbackServerError(message: "bind/listen on 127.0.0.1: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return (fd, UInt16(bigEndian: address.sin_port))
    }

    deinit { stop() }

    /// Requests answered so far.
    public var requestCount: Int { lock.withLock { handled } }
    /// The most requests waiting for their answer at the same time.
    public var peakConcurrency: Int { lock.withLock { peak } }

    /// Stops accepting; open connections close within a fifth of a second.
    public func stop() { lock.withLock { stopped = true } }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop() {
        defer { close(listener) }
        while !isStopped {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            var noDelay: Int32 = 1
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let thread = Thread { [self] in serve(connection) }
            thread.stackSize = 256 << 10
            thread.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var buffer = Data()
        while let (path, body, keepAlive) = readRequest(connection, &buffer) {
            lock.withLock {
                active += 1
                peak = max(peak, active)
            }
            let started = Date()
            let (status, reply) = handler(path, body)
            let wait = latency - Date().timeIntervalSince(started)
            if wait > 0 { usleep(useconds_t(wait * 1_000_000)) }
            lock.withLock {
                active -= 1
                handled += 1
            }
            guard write(status: status, body: reply, keepAlive: keepAlive, to: connection), keepAlive else { return }
        }
    }

    /// The next request on the connection, or nil when it closed, broke or the server stopped.
    private func readRequest(_ connection: Int32, _ buffer: inout Data) -> (String, Data, Bool)? {
        let separator = Data("\r\n\r\n".utf8)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = buffer.range(of: separator) {
                let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                let lines = head.split(separator: "\r\n")
                var contentLength = 0
                var keepAlive = true
                for line in lines.dropFirst() {
                    let parts = line.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    let value = parts[1].trimmingCharacters(in: .whitespaces)
                    switch parts[0].lowercased() {
                    case "content-length": contentLength = Int(value) ?? 0
                    case "connection": keepAlive = value.lowercased() != "close"
                    default: break
                    }
                }
                if buffer.count - end.upperBound >= contentLength {
                    let requestLine = lines.first?.split(separator: " ") ?? []
                    let path = requestLine.count >= 2 ? String(requestLine[1]) : "/"
                    let body = Data(buffer[end.upperBound..<(end.upperBound + contentLength)])
                    buffer = Data(buffer[(end.upperBound + contentLength)...])
                    return (path, body, keepAlive)
                }
            }
            let count = recv(connection, &chunk, chunk.count, 0)
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
                if buffer.count > 1 << 24 { return nil }
            } else if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                if isStopped { return nil }
            } else {
                return nil
            }
        }
    }

    private func write(status: Int, body: Data, keepAlive: Bool, to connection: Int32) -> Bool {
        var bytes = Data(("HTTP/1.1 \(status) \(status == 200 ? "OK" : "Error")\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
            + "Connection: \(keepAlive ? "keep-alive" : "close")\r\n\r\n").utf8)
        bytes.append(body)
        return Self.send(bytes, to: connection)
    }

    /// Writes all of `data` to a socket; false when the peer has gone. Shared with the tests'
    /// scripted server.
    @discardableResult
    public static func send(_ data: Data, to connection: Int32) -> Bool {
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                // MSG_NOSIGNAL: a client that already gave up must not kill the process.
                #if canImport(Glibc)
                let sent = Glibc.send(connection, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                #else
                let sent = Darwin.send(connection, raw.baseAddress! + offset, raw.count - offset, 0)
                #endif
                if sent <= 0 { return false }
                offset += sent
            }
            return true
        }
    }
}

public struct LoopbackServerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "loopback server: \(message)" }
}

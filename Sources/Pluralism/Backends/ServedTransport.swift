import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The HTTP exchanges of one served model: one URL session, a hard deadline per attempt,
/// and no redirects.
///
/// Foundation's own timeout on Linux is an idle timer that every received byte resets, so a
/// server that trickles its reply, or sends headers and then stalls, never times out. Here
/// a timer started with the request cancels it when the deadline passes, whatever the
/// server is doing. Redirects are never followed: Foundation on Linux would copy every
/// header, `Authorization` included, to whatever host and scheme the server names; a 3xx
/// comes back as the reply instead, and the caller reports it.
final class ServedTransport: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// How one attempt ended when it produced no HTTP reply.
    enum Failure: Error {
        /// The deadline passed first.
        case deadline(Double)
        /// The body grew past `maxBody` bytes (no model reply is that large).
        case oversized(Int)
        /// The connection failed or broke (refused, reset, closed mid-body, …).
        case connection(URLError)
        case cancelled
    }

    private struct Exchange {
        var continuation: CheckedContinuation<(Data, HTTPURLResponse), Error>
        var data = Data()
        var timedOut = false
        var oversized = false
    }

    /// The largest reply body accepted: far above any completion (even 50 alternatives for
    /// hundreds of tokens stay under a few MB), low enough that a runaway server cannot
    /// exhaust memory.
    static let maxBody = 64 << 20

    let deadline: Double
    private let lock = NSLock()
    private var exchanges: [Int: Exchange] = [:]
    private var session: URLSession!

    init(deadline: Double, connections: Int) {
        self.deadline = deadline
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        // Foundation's idle timers stay as a backstop; the deadline below is the real limit.
        configuration.timeoutIntervalForRequest = deadline + 1
        configuration.timeoutIntervalForResource = deadline + 1
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        configuration.httpShouldSetCookies = false
        configuration.httpMaximumConnectionsPerHost = connections
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
    }

    /// Ends the session; the model that owns this transport calls it from its `deinit`.
    func close() { session.finishTasksAndInvalidate() }

    /// One attempt: the reply (any status) or a `Failure`.
    func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let task = session.dataTask(with: request)
        let id = task.taskIdentifier
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                lock.withLock { exchanges[id] = Exchange(continuation: continuation) }
                DispatchQueue.global().asyncAfter(deadline: .now() + deadline) { [weak self, weak task] in
                    guard let self else { return }
                    let pending = self.lock.withLock { () -> Bool in
                        guard self.exchanges[id] != nil else { return false }
                        self.exchanges[id]!.timedOut = true
                        return true
                    }
                    if pending { task?.cancel() }
                }
                task.resume()
            }
        } onCancel: {
            task.cancel()
        }
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let tooLarge = lock.withLock { () -> Bool in
            let id = dataTask.taskIdentifier
            guard exchanges[id] != nil, !exchanges[id]!.oversized else { return false }
            exchanges[id]!.data.append(data)
            if exchanges[id]!.data.count > Self.maxBody {
                exchanges[id]!.oversized = true
                exchanges[id]!.data = Data()
                return true
            }
            return false
        }
        if tooLarge { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                    newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        guard let exchange = lock.withLock({ exchanges.removeValue(forKey: task.taskIdentifier) }) else { return }
        if exchange.oversized {
            exchange.continuation.resume(throwing: Failure.oversized(Self.maxBody))
        } else if exchange.timedOut {
            exchange.continuation.resume(throwing: Failure.deadline(deadline))
        } else if let error = error as? URLError {
            exchange.continuation.resume(throwing: error.code == .cancelled ? Failure.cancelled : Failure.connection(error))
        } else if let error {
            exchange.continuation.resume(throwing: Failure.connection(URLError(.unknown, userInfo: [NSLocalizedDescriptionKey: "\(error)"])))
        } else if let http = task.response as? HTTPURLResponse {
            exchange.continuation.resume(returning: (exchange.data, http))
        } else {
            exchange.continuation.resume(throwing: Failure.connection(URLError(.badServerResponse)))
        }
    }
}

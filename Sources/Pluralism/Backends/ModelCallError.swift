/// A model call that failed: which endpoint, and why, in words a user can act on.
/// Errors are never archived, so a failed call is retried on the next run.
public struct ModelCallError: Error, CustomStringConvertible, Sendable {
    /// The URL called, or "embedded" for the in-process engine.
    public var endpoint: String
    public var message: String
    /// The HTTP status of the last attempt, when there was a response.
    public var status: Int?

    public init(endpoint: String, message: String, status: Int? = nil) {
        self.endpoint = endpoint
        self.message = message
        self.status = status
    }

    public var description: String { "\(endpoint): \(message)" }
}

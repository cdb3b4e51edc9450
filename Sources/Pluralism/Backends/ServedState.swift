import Foundation

/// What one served model learns while a run uses it, shared by all its copies: the
/// identity settled with the server, the server kind detected, the identity its replies
/// gave, and the retries left in the run's budget.
final class ServedState: @unchecked Sendable {
    let retryBudget: Int
    private let lock = NSLock()
    private var spent = 0
    private var identity: ModelIdentity?
    private var kind: ServerKind?
    private var replyIdentity: (model: String?, fingerprint: String?)?

    init(retryBudget: Int) {
        self.retryBudget = retryBudget
    }

    var established: ModelIdentity? { lock.withLock { identity } }
    var detectedKind: ServerKind? { lock.withLock { kind } }
    var retriesLeft: Int { lock.withLock { retryBudget - spent } }

    func detect(_ kind: ServerKind) { lock.withLock { self.kind = kind } }

    /// The first identity settled wins, so concurrent callers agree on one.
    func establish(_ identity: ModelIdentity) -> ModelIdentity {
        lock.withLock {
            if self.identity == nil { self.identity = identity }
            return self.identity!
        }
    }

    /// Takes one retry from the budget; false when none is left.
    func spendRetry() -> Bool {
        lock.withLock {
            guard spent < retryBudget else { return false }
            spent += 1
            return true
        }
    }

    /// Accepts a reply whose `model` and `system_fingerprint` match the first reply's (which
    /// sets them); a different pair means another model or build now answers at this URL.
    func confirm(_ response: ModelResponse, endpoint: String) throws {
        let now = (model: response.servedModel, fingerprint: response.systemFingerprint)
        let before: (model: String?, fingerprint: String?)? = lock.withLock {
            guard let known = replyIdentity else {
                replyIdentity = now
                return nil
            }
            return known
        }
        guard let before, before.model != now.model || before.fingerprint != now.fingerprint else { return }
        throw ServedModelChanged(endpoint: endpoint, before: Self.describe(before), now: Self.describe(now))
    }

    private static func describe(_ pair: (model: String?, fingerprint: String?)) -> String {
        "model \(pair.model ?? "(none)"), system_fingerprint \(pair.fingerprint ?? "(none)")"
    }
}

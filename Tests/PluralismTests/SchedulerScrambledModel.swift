import Foundation
@testable import Pluralism

/// The scripted model's answers, delivered in a seeded random order: `capacity` requests
/// are "in flight" at once and a random one of them finishes next, the way a server's or a
/// continuous batch's answers come back. Can fail after a number of deliveries, to simulate
/// a crash at any moment of a stage.
final class SchedulerScrambledModel: LanguageModel, @unchecked Sendable {
    let identity = ModelIdentity(backend: "scripted", baseURL: "", fingerprint: "scripted-v1")
    let capacity: Int
    private let lock = NSLock()
    private var state: UInt64
    private var delivered = 0
    private var failAfter: Int?

    init(capacity: Int, seed: UInt64, failAfter: Int? = nil) {
        self.capacity = capacity
        self.state = seed
        self.failAfter = failAfter
    }

    /// Answers delivered so far, over every call.
    var deliveries: Int { lock.withLock { delivered } }

    func respond(to requests: [ModelRequest]) async throws -> [ModelResponse] {
        requests.map { ScriptedModel.defaultAnswer($0, selectionReply: "2") }
    }

    func respond(to requests: [ModelRequest],
                 deliver: @Sendable (Int, ModelResponse) async throws -> Void) async throws {
        var waiting = Array(requests.indices)
        var inFlight: [Int] = []
        while !waiting.isEmpty || !inFlight.isEmpty {
            while inFlight.count < capacity, !waiting.isEmpty { inFlight.append(waiting.removeFirst()) }
            let next = try lock.withLock { () throws -> Int in
                if let failAfter, delivered >= failAfter { throw ScriptedFailure(afterCalls: delivered) }
                delivered += 1
                state = splitMix64(state)
                return inFlight.remove(at: Int(state % UInt64(inFlight.count)))
            }
            try await deliver(next, ScriptedModel.defaultAnswer(requests[next], selectionReply: "2"))
        }
    }
}


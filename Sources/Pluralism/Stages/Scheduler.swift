import Foundation

/// Work that asks a model some questions and, once every answer is in, is done or asks
/// more (a steerable answer first selects a comment, then answers with it).
struct ModelJob<Output: Sendable>: Sendable {
    var requests: [ModelRequest]
    /// Given the answers in request order (never in completion order).
    var finish: @Sendable ([ArchivedResponse]) throws -> Step

    indirect enum Step: Sendable {
        case done(Output)
        case next(ModelJob<Output>)
    }
}

/// Streams jobs through one archived model: every pending request of every job goes to the
/// model at once, each job finishes the moment its last answer arrives, and its output is
/// handed on then, whatever the others are doing. Follow-up requests go out as the next wave,
/// once the model has answered the current one. A job's output depends only on its answers
/// in request order, so the order answers complete in changes nothing.
enum Scheduler {
    static func run<Output: Sendable>(_ jobs: [ModelJob<Output>], on model: ArchivedModel,
                                      output: @escaping @Sendable (Output) throws -> Void) async throws {
        var wave = jobs
        while !wave.isEmpty {
            let board = Wave(wave)
            for job in wave where job.requests.isEmpty { try board.finished(try job.finish([]), output: output) }
            try await model.respond(to: board.requests) { index, answer in
                if let (job, answers) = board.fill(index, answer) {
                    try board.finished(try job.finish(answers), output: output)
                }
            }
            wave = board.followUps
        }
    }

    /// One wave's requests, which job each belongs to, and the answers gathered so far.
    private final class Wave<Output: Sendable>: @unchecked Sendable {
        let jobs: [ModelJob<Output>]
        let requests: [ModelRequest]
        /// For each request: its job and its place among the job's requests.
        private let owners: [(job: Int, slot: Int)]
        private let lock = NSLock()
        private var answers: [[ArchivedResponse?]]
        private var missing: [Int]
        private var next: [ModelJob<Output>] = []

        init(_ jobs: [ModelJob<Output>]) {
            self.jobs = jobs
            requests = jobs.flatMap(\.requests)
            owners = jobs.enumerated().flatMap { job, entry in entry.requests.indices.map { (job, $0) } }
            answers = jobs.map { Array(repeating: nil, count: $0.requests.count) }
            missing = jobs.map(\.requests.count)
        }

        /// Stores an answer; returns its job and all the job's answers when it was the last.
        func fill(_ index: Int, _ answer: ArchivedResponse) -> (ModelJob<Output>, [ArchivedResponse])? {
            let (job, slot) = owners[index]
            return lock.withLock {
                guard answers[job][slot] == nil else { return nil }
                answers[job][slot] = answer
                missing[job] -= 1
                guard missing[job] == 0 else { return nil }
                return (jobs[job], answers[job].map { $0! })
            }
        }

        func finished(_ step: ModelJob<Output>.Step, output: @Sendable (Output) throws -> Void) throws {
            switch step {
            case .done(let value): try output(value)
            case .next(let job): lock.withLock { next.append(job) }
            }
        }

        var followUps: [ModelJob<Output>] { lock.withLock { next } }
    }
}

import ArgumentParser
import Foundation
import Pluralism

struct CommentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comment",
        abstract: "Have every community comment on every item of its pool.",
        discussion: """
        Ingests the run first if needed. Comments already stored are kept; only the missing \
        ones are generated (or replayed from the archive).

        Example:
          pluralism comment --threads 2

        \(ExitStatus.helpText)
        """)

    @OptionGroup var options: RunOptions

    func run() async throws {
        do {
            let (context, _, loader) = try options.prepare()
            try Stages.ingest(context.inputs, into: context.corpus)
            print(describe(try await Pipeline.stage(context, Stages.comment)))
            for line in describePrefixReuse(loader) { print(line) }
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}

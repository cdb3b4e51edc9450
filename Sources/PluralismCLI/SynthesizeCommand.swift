import ArgumentParser
import Foundation
import Pluralism

struct SynthesizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synthesize",
        abstract: "Have the base model answer every item with every method of the config.",
        discussion: """
        Methods: overton, steerable, distributional (each for the items of its mode) and the \
        baselines vanilla, prompting, moe (every item). Needs the comments (`pluralism \
        comment`). Syntheses already stored are kept.

        Example:
          pluralism synthesize --replay-only

        \(ExitStatus.helpText)
        """)

    @OptionGroup var options: RunOptions

    func run() async throws {
        do {
            let (context, _, loader) = try options.prepare()
            try Stages.ingest(context.inputs, into: context.corpus)
            let report = try await Pipeline.stage(context, Stages.synthesize)
            try context.corpus.setRunStatus(id: context.runID, status: .finished)
            print(describe(report))
            for line in describePrefixReuse(loader) { print(line) }
        } catch {
            throw ExitStatus.fail(error)
        }
    }
}

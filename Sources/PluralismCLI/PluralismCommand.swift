import ArgumentParser

@main
struct PluralismCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pluralism",
        abstract: "Pluralistic alignment with community language models: comment, synthesize, audit, archive.",
        discussion: """
        pluralism asks a pool of community language models to comment on value-laden \
        questions, has a base model synthesize their comments in three pluralism modes \
        (Overton, steerable, distributional) next to the baselines, and stores every model \
        call in a reproducible SQLite corpus. The audit then scores, from the corpus alone, \
        how faithfully each answer uses the comments and which communities and values it \
        represents; `pluralism report` renders it all as a static HTML site and `pluralism \
        diff` compares two runs.

        Start with `pluralism models fetch`, then `pluralism run`.

        \(ExitStatus.helpText)
        """,
        subcommands: [
            RunCommand.self,
            IngestCommand.self,
            CommentCommand.self,
            SynthesizeCommand.self,
            AuditCommand.self,
            ExportCommand.self,
            ImportCommand.self,
            ReportCommand.self,
            DiffCommand.self,
            CorpusCommand.self,
            ModelsCommand.self,
            GenerateCommand.self,
            EmbedCommand.self,
            BenchCommand.self,
        ]
    )
}

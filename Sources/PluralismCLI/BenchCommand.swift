import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput: the embedded engine, its kernels, the audit's sentence encoder, the whole pipeline, the report, or an import.",
        discussion: "Prints figures and asserts nothing. Measure release builds only.",
        subcommands: [BenchEngineCommand.self, BenchKernelsCommand.self, BenchAuditCommand.self, BenchPipelineCommand.self, BenchReportCommand.self, BenchImportCommand.self])
}

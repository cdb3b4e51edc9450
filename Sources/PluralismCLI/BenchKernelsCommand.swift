import ArgumentParser
import Foundation
import Inference

struct BenchKernelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Speed of each compute kernel: the C variant this machine runs against the Swift code it replaced.",
        discussion: """
        Runs every kernel on random data of the models' shapes, on one thread, for about half \
        a second of processor time each way: the weight-matrix products of every format the \
        engine reads (Q4_1, Q8_0, Q4_0, F16, F32; one vector and six), the sentence encoder's \
        packed product, GELU, layer norm and attention, and the feed-forward's SwiGLU. Prints \
        each kernel's rate per processor-second in C (the variant chosen for this CPU, or the \
        one PLURALISM_KERNELS names) and in Swift (whose speed depends on the compiler's target \
        CPU: with no FMA target each Swift fused multiply-add is a library call). Both compute \
        the same bits (the tests check it). Figures only: nothing is asserted.

        Examples:
          pluralism bench kernels
          PLURALISM_KERNELS=portable pluralism bench kernels --json

        \(ExitStatus.helpText)
        """)

    @Option(name: .long, help: ArgumentHelp("Processor seconds per kernel and implementation.", valueName: "s"))
    var seconds = 0.5

    @Flag(name: .long, help: "Print the figures as one JSON object.")
    var json = false

    func validate() throws {
        if !(seconds > 0) { throw ValidationError("--seconds must be more than 0") }
    }

    func run() async throws {
        let figures = KernelBenchmark.run(seconds: seconds) { note("measuring \($0)") }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(figures), as: UTF8.self))
            return
        }
        print("kernels: C \(figures.variant), per processor-second on one thread")
        print("kernel                                              C      Swift    C / Swift")
        for f in figures.figures {
            let name = f.kernel.padding(toLength: 46, withPad: " ", startingAt: 0)
            print(name + String(format: "%7.2f    %7.2f    %6.1f×   ", f.cRate, f.swiftRate, f.cRate / f.swiftRate) + f.unit)
        }
    }
}

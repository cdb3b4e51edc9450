// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "pluralism",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "pluralism", targets: ["PluralismCLI"]),
        .library(name: "Pluralism", targets: ["Pluralism"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "Corpus", targets: ["Corpus"]),
        .library(name: "Report", targets: ["Report"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .target(name: "ContentHash"),
        // The hot kernels (quantised products, the sentence encoder, activations): per-function
        // instruction-set variants chosen at run time, so no target needs a CPU flag.
        .target(name: "CKernels", linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]),
        .target(name: "Inference", dependencies: ["ContentHash", "CKernels"]),
        .target(name: "Corpus", dependencies: ["CSQLite", "ContentHash"]),
        .target(name: "Pluralism", dependencies: ["Inference", "Corpus", "ContentHash"]),
        // Reports link libxml2; the library the stages live in does not.
        .target(name: "Report", dependencies: ["Corpus", "CLibXML2", "ContentHash"]),
        .executableTarget(
            name: "PluralismCLI",
            dependencies: [
                "Pluralism", "Inference", "Corpus", "Report",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ContentHashTests", dependencies: ["ContentHash"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "ContentHash"], exclude: ["Fixtures"]),
        .testTarget(name: "CorpusTests", dependencies: ["Corpus"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Corpus", "CLibXML2", "Pluralism"]),
        .testTarget(name: "PluralismTests", dependencies: ["Pluralism", "Corpus", "Inference"], exclude: ["Fixtures"]),
        // Runs the built `pluralism` binary as a subprocess (depending on the executable
        // target makes `swift test` build it first).
        .testTarget(name: "PluralismCLITests", dependencies: ["PluralismCLI", "Corpus", "ContentHash"], exclude: ["Fixtures"]),
    ]
)

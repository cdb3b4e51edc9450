import Foundation
import Testing
@testable import Inference

/// Builds small GGUF files byte by byte, so that each way a file can be broken is tested
/// without a real model.
struct GGUFBuilder {
    var bytes: [UInt8] = []

    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }

    /// A valid version-3 file: two metadata keys, one F32 tensor of 8 values.
    static func minimal(version: UInt32 = 3, tensorType: UInt32 = 0, magic: String = "GGUF") -> [UInt8] {
        var b = GGUFBuilder()
        b.bytes += Array(magic.utf8)
        b.u32(version)
        b.u64(1)        // tensors
        b.u64(3)        // metadata
        b.string("general.architecture"); b.u32(8); b.string("llama")
        b.string("llama.block_count"); b.u32(4); b.u32(30)
        b.string("tokenizer.ggml.tokens"); b.u32(9); b.u32(8); b.u64(2); b.string("a"); b.string("b")
        b.string("norm.weight"); b.u32(1); b.u64(8); b.u32(tensorType); b.u64(0)
        while b.bytes.count % 32 != 0 { b.bytes.append(0) }
        for i in 0..<8 { withUnsafeBytes(of: Float(i).bitPattern.littleEndian) { b.bytes += $0 } }
        return b.bytes
    }
}

func withTemporaryFile<T>(_ bytes: [UInt8], _ body: (String) throws -> T) throws -> T {
    let path = NSTemporaryDirectory() + "gguf-test-\(UUID().uuidString).gguf"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

func ggufError(_ bytes: [UInt8]) throws -> String {
    try withTemporaryFile(bytes) { path in
        do {
            _ = try GGUFFile(path: path)
            return "no error"
        } catch let error as GGUFError {
            return error.description
        }
    }
}

@Suite struct GGUFTests {
    @Test func readsMinimalFile() throws {
        try withTemporaryFile(GGUFBuilder.minimal()) { path in
            let file = try GGUFFile(path: path)
            #expect(file.version == 3)
            #expect(file.string("general.architecture") == "llama")
            #expect(file.integer("llama.block_count") == 30)
            #expect(file.strings("tokenizer.ggml.tokens") == ["a", "b"])
            #expect(file.alignment == 32)
            let tensor = try #require(file.tensor(named: "norm.weight"))
            #expect(tensor.dimensions == [8])
            #expect(tensor.type == .f32)
            let values = file.data(of: tensor).assumingMemoryBound(to: Float.self)
            #expect((0..<8).map { values[$0] } == (0..<8).map(Float.init))
        }
    }

    @Test func missingFile() throws {
        do {
            _ = try GGUFFile(path: "/nonexistent/model.gguf")
            Issue.record("expected an error")
        } catch let error as GGUFError {
            #expect(error.description.contains("/nonexistent/model.gguf"))
            #expect(error.description.contains("no such model file"))
        }
    }

    @Test func wrongMagicShowsTheBytesFound() throws {
        let text = try ggufError(GGUFBuilder.minimal(magic: "GGML"))
        #expect(text.contains("not a GGUF file"))
        #expect(text.contains("47 47 4d 4c"))
        #expect(text.contains("\"GGML\""))
    }

    @Test func unsupportedVersion() throws {
        let text = try ggufError(GGUFBuilder.minimal(version: 7))
        #expect(text.contains("unsupported GGUF version 7"))
    }

    @Test func unknownTensorType() throws {
        let text = try ggufError(GGUFBuilder.minimal(tensorType: 77))
        #expect(text.contains("tensor 'norm.weight' has unknown ggml tensor type id 77"))
    }

    @Test func truncatedAnywhere() throws {
        let full = GGUFBuilder.minimal()
        // Cut inside the header, the metadata, the tensor table and the tensor data.
        for cut in [2, 10, 30, 60, 150, full.count - 4] {
            let text = try ggufError(Array(full[..<cut]))
            #expect(text.contains("truncated GGUF file"), "cut at \(cut): \(text)")
            #expect(text.contains("the file has \(cut) bytes"), "cut at \(cut): \(text)")
        }
        let text = try ggufError(Array(full[..<(full.count - 4)]))
        #expect(text.contains("the data of tensor 'norm.weight'"))
    }

    @Test func corruptedCountIsNotAllocated() throws {
        var bytes = GGUFBuilder.minimal()
        // Metadata count (offset 16) set to 2^60.
        for i in 0..<8 { bytes[16 + i] = i == 7 ? 0x10 : 0 }
        let text = try ggufError(bytes)
        #expect(text.contains("truncated GGUF file"))
        #expect(text.contains("metadata count"))
    }

    @Test(.enabled(if: RealModel.enabled, RealModel.skipReason))
    func realModelMetadata() throws {
        let path = try RealModel.path()
        let file = try GGUFFile(path: path)
        #expect(file.string("general.architecture") == "llama")
        #expect(file.integer("llama.block_count") == 30)
        #expect(file.integer("llama.embedding_length") == 576)
        #expect(file.strings("tokenizer.ggml.tokens")?.count == 49152)
        let embedding = try #require(file.tensor(named: "token_embd.weight"))
        #expect(embedding.type == .q8_0)
        #expect(embedding.dimensions == [576, 49152])
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.type == .q4_1)
    }
}

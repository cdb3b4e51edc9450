import Foundation
import Testing
@testable import Inference

/// Builds small safetensors files byte by byte (header JSON written by hand), so that each
/// way a file can be broken is tested without a real model.
struct SafetensorsBuilder {
    struct Tensor {
        var name: String
        var dataType: String
        var shape: [Int]
        var bytes: [UInt8]
    }

    var tensors: [Tensor] = []
    var metadata: [String: String] = ["format": "pt"]

    mutating func add(_ name: String, shape: [Int], floats: [Float]) {
        precondition(shape.reduce(1, *) == floats.count)
        tensors.append(Tensor(name: name, dataType: "F32", shape: shape,
                              bytes: floats.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }))
    }

    mutating func add(_ name: String, shape: [Int], int64s: [Int64]) {
        tensors.append(Tensor(name: name, dataType: "I64", shape: shape,
                              bytes: int64s.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) }))
    }

    /// The header JSON, tensors laid out back to back in order.
    func header() -> String {
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for t in tensors {
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\"\(t.name)\":{\"dtype\":\"\(t.dataType)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        return "{" + entries.joined(separator: ",") + "}"
    }

    /// The whole file; `header` replaces the generated JSON. Padded with spaces to 8 bytes,
    /// as the Python writer does.
    func bytes(header override: String? = nil) -> [UInt8] {
        var json = Array((override ?? header()).utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init)
        out += json
        for t in tensors { out += t.bytes }
        return out
    }

    /// Two F32 tensors and an I64 one, as in a PyTorch export.
    static func small() -> SafetensorsBuilder {
        var b = SafetensorsBuilder()
        b.add("layer.weight", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6.5])
        b.add("layer.bias", shape: [2], floats: [-1, 0.25])
        b.add("position_ids", shape: [1, 4], int64s: [0, 1, 2, 3])
        return b
    }
}

func safetensorsError(_ bytes: [UInt8]) throws -> String {
    try withTemporaryFile(bytes) { path in
        do {
            _ = try SafetensorsFile(path: path)
            return "no error"
        } catch let error as SafetensorsError {
            return error.description
        }
    }
}

@Suite struct SafetensorsTests {
    @Test func readsTensorsByName() throws {
        try withTemporaryFile(SafetensorsBuilder.small().bytes()) { path in
            let file = try SafetensorsFile(path: path)
            #expect(file.tensors.map(\.name) == ["layer.weight", "layer.bias", "position_ids"])
            #expect(file.metadata == ["format": "pt"])
            let weight = try #require(file.tensor(named: "layer.weight"))
            #expect(weight.shape == [2, 3])
            #expect(weight.dataType == "F32")
            #expect(weight.elementCount == 6)
            #expect(try file.floats("layer.weight", shape: [2, 3]) == [1, 2, 3, 4, 5, 6.5])
            #expect(try file.floats("layer.bias", shape: [2]) == [-1, 0.25])
            #expect(file.tensor(named: "position_ids")?.dataType == "I64")
            #expect(file.tensor(named: "absent") == nil)
        }
    }

    /// The header length need not be a multiple of 4, so F32 data may be unaligned.
    @Test func readsUnalignedData() throws {
        var b = SafetensorsBuilder.small()
        b.metadata = [:]
        var bytes = b.bytes()
        let length = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        bytes.insert(UInt8(ascii: " "), at: 8 + length)
        bytes.replaceSubrange(0..<8, with: withUnsafeBytes(of: UInt64(length + 1).littleEndian, Array.init))
        try withTemporaryFile(bytes) { path in
            let file = try SafetensorsFile(path: path)
            #expect(file.tensor(named: "layer.weight")!.byteRange.lowerBound % 4 != 0)
            #expect(try file.floats("layer.weight", shape: [2, 3]) == [1, 2, 3, 4, 5, 6.5])
        }
    }

    @Test func refusesOtherDataTypesAndShapesByName() throws {
        try withTemporaryFile(SafetensorsBuilder.small().bytes()) { path in
            let file = try SafetensorsFile(path: path)
            #expect(throws: SafetensorsError.unsupportedDataType(path: path, tensor: "position_ids", dataType: "I64")) {
                try file.floats("position_ids", shape: [1, 4])
            }
            #expect(SafetensorsError.unsupportedDataType(path: path, tensor: "position_ids", dataType: "I64").description
                .contains("tensor 'position_ids' has dtype I64; only F32 tensors can be read"))
            do {
                _ = try file.floats("layer.weight", shape: [3, 2])
                Issue.record("a wrong shape must be refused")
            } catch let error as SafetensorsError {
                #expect(error.description.contains("expected shape [3, 2], found [2, 3]"))
            }
            #expect(throws: SafetensorsError.missingTensor(path: path, name: "layer.scale")) {
                try file.floats("layer.scale", shape: [2])
            }
        }
    }

    @Test func missingFile() throws {
        #expect(throws: SafetensorsError.missingFile(path: "/nonexistent/model.safetensors")) {
            try SafetensorsFile(path: "/nonexistent/model.safetensors")
        }
    }

    @Test func truncatedAnywhere() throws {
        let full = SafetensorsBuilder.small().bytes()
        // Inside the length, inside the header, inside the last tensor's data.
        for cut in [0, 5, 9, 40, full.count - 1] {
            let text = try safetensorsError(Array(full[..<cut]))
            #expect(text.contains("truncated safetensors file"), "cut at \(cut): \(text)")
            #expect(text.contains("the file has \(cut)"), "cut at \(cut): \(text)")
        }
        #expect(try safetensorsError(Array(full[..<(full.count - 1)])).contains("tensor 'position_ids'"))
    }

    @Test func implausibleHeaderLength() throws {
        var bytes = SafetensorsBuilder.small().bytes()
        for i in 0..<8 { bytes[i] = i == 7 ? 0x10 : 0 }
        #expect(try safetensorsError(bytes).contains("declared header length"))
    }

    @Test func malformedHeaders() throws {
        let b = SafetensorsBuilder.small()
        let cases: [(String, String)] = [
            ("{\"a\": [1, 2", "not valid JSON"),
            ("[1, 2, 3]", "not a JSON object"),
            ("{\"__metadata__\": {\"n\": 3}}", "__metadata__ is not an object of strings"),
            ("{\"t\": 3}", "tensor 't': its entry is not a JSON object"),
            ("{\"t\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", "tensor 't': no dtype string"),
            ("{\"t\": {\"dtype\": \"F31\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "unknown dtype \"F31\""),
            ("{\"t\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", "shape is not an array"),
            ("{\"t\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", "shape is not an array"),
            ("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", "data_offsets is not a pair"),
            ("{\"t\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", "data_offsets is not a pair"),
            ("{\"t\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 12]}}",
             "shape [2, 2] of F32 needs 4 × 4 bytes, but data_offsets span 12"),
            ("{\"t\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 16]}}", "too large"),
        ]
        for (header, expected) in cases {
            let text = try safetensorsError(b.bytes(header: header))
            #expect(text.contains(expected), "\(header): \(text)")
        }
        // Offsets beyond the data are a truncation, whatever the header says.
        let beyond = try safetensorsError(b.bytes(header: "{\"t\": {\"dtype\": \"F32\", \"shape\": [1000], \"data_offsets\": [0, 4000]}}"))
        #expect(beyond.contains("truncated safetensors file: tensor 't'"))
    }

    @Test(.enabled(if: MiniLM.enabled, MiniLM.skipReason))
    func realModelTensors() throws {
        let file = try SafetensorsFile(path: ModelStore().locate(ModelStore.sentenceModel))
        #expect(file.tensors.count == 104)
        #expect(file.tensor(named: "embeddings.word_embeddings.weight")?.shape == [30522, 384])
        #expect(file.tensor(named: "encoder.layer.5.intermediate.dense.weight")?.shape == [1536, 384])
        #expect(file.tensor(named: "embeddings.position_ids")?.dataType == "I64")
        #expect(file.tensors.filter { $0.dataType == "F32" }.count == 103)
    }
}

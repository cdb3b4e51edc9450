// safetensors: the tensor file format of Hugging Face models.
//
// Layout: an 8-byte little-endian header length N · N bytes of JSON (UTF-8, possibly padded
// with spaces) · the data buffer. The JSON maps each tensor name to
//   {"dtype": "F32", "shape": [rows, columns], "data_offsets": [begin, end]}
// with offsets relative to the start of the data buffer, plus an optional "__metadata__"
// object of strings. The file is memory-mapped, so tensors are read in place; every offset
// is checked against the file size when the file is opened, so a truncated download is
// reported then rather than crashing later.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Why a safetensors file could not be read. Every case names the file, and the tensor where
/// there is one.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case unreadable(path: String, reason: String)
    case truncated(path: String, reading: String, needed: Int, fileSize: Int)
    case malformedHeader(path: String, reason: String)
    case invalidTensor(path: String, tensor: String, reason: String)
    case missingTensor(path: String, name: String)
    case unsupportedDataType(path: String, tensor: String, dataType: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): no such model file"
        case .unreadable(let path, let reason):
            return "\(path): cannot read the file: \(reason)"
        case .truncated(let path, let reading, let needed, let fileSize):
            return "\(path): truncated safetensors file: \(reading) needs \(needed) bytes, but the file has \(fileSize)"
        case .malformedHeader(let path, let reason):
            return "\(path): not a valid safetensors header: \(reason)"
        case .invalidTensor(let path, let tensor, let reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case .missingTensor(let path, let name):
            return "\(path): missing tensor '\(name)'"
        case .unsupportedDataType(let path, let tensor, let dataType):
            return "\(path): tensor '\(tensor)' has dtype \(dataType); only F32 tensors can be read"
        }
    }
}

/// One tensor's entry in the header.
public struct SafetensorsTensor: Sendable, Equatable {
    public let name: String
    /// The dtype as the header spells it ("F32", "F16", "I64", ...).
    public let dataType: String
    /// Outermost dimension first (row-major), as PyTorch writes it.
    public let shape: [Int]
    /// Byte offsets from the start of the file.
    public let byteRange: Range<Int>

    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file: its tensor table and read access to F32 tensors.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    /// In file order.
    public let tensors: [SafetensorsTensor]
    public let metadata: [String: String]
    private let index: [String: Int]
    private let file: MappedFile

    /// Bytes per element of the dtypes the format defines (others are refused as malformed).
    static let elementBytes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
        "U16": 2, "I16": 2, "F16": 2, "BF16": 2,
        "U32": 4, "I32": 4, "F32": 4,
        "U64": 8, "I64": 8, "F64": 8,
    ]

    /// A header longer than this is taken for corruption (real headers are tens of kB).
    static let maximumHeaderBytes = 100 << 20

    /// Maps the file and parses and checks its header. Tensor data is not touched here.
    public init(path: String) throws {
        self.path = path
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch .missing {
            throw SafetensorsError.missingFile(path: path)
        } catch .unreadable(let reason) {
            throw SafetensorsError.unreadable(path: path, reason: reason)
        }
        guard file.size >= 8 else {
            throw SafetensorsError.truncated(path: path, reading: "the header length", needed: 8, fileSize: file.size)
        }
        self.file = file
        (tensors, metadata) = try Self.parseHeader(base: file.base, size: file.size, path: path)
        var index: [String: Int] = [:]
        for (i, tensor) in tensors.enumerated() { index[tensor.name] = i }
        self.index = index
    }

    public func tensor(named name: String) -> SafetensorsTensor? {
        index[name].map { tensors[$0] }
    }

    /// The tensor's values, checked to be F32 with the expected shape.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        let (tensor, data) = try f32Data(name, shape: shape)
        return (0..<tensor.elementCount).map { data.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
    }

    /// A pointer to the tensor's F32 values in the mapped file (valid while the file lives;
    /// possibly unaligned: read with `loadUnaligned`), checked as in `floats`.
    public func f32Data(_ name: String, shape: [Int]) throws -> (SafetensorsTensor, UnsafeRawPointer) {
        guard let tensor = tensor(named: name) else { throw SafetensorsError.missingTensor(path: path, name: name) }
        guard tensor.dataType == "F32" else {
            throw SafetensorsError.unsupportedDataType(path: path, tensor: name, dataType: tensor.dataType)
        }
        guard tensor.shape == shape else {
            throw SafetensorsError.invalidTensor(path: path, tensor: name, reason: "expected shape \(shape), found \(tensor.shape)")
        }
        return (tensor, file.base + tensor.byteRange.lowerBound)
    }

    private static func parseHeader(base: UnsafeRawPointer, size: Int, path: String) throws -> ([SafetensorsTensor], [String: String]) {
        let declared = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(maximumHeaderBytes) else {
            throw SafetensorsError.malformedHeader(path: path, reason: "declared header length \(declared) bytes is implausible")
        }
        let headerLength = Int(declared)
        guard 8 + headerLength <= size else {
            throw SafetensorsError.truncated(path: path, reading: "the \(headerLength)-byte header", needed: 8 + headerLength, fileSize: size)
        }
        let bytes = Data(bytes: base + 8, count: headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: bytes)
        } catch {
            throw SafetensorsError.malformedHeader(path: path, reason: "the header is not valid JSON")
        }
        guard let table = json as? [String: Any] else {
            throw SafetensorsError.malformedHeader(path: path, reason: "the header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataSize = size - dataStart
        var metadata: [String: String] = [:]
        var tensors: [SafetensorsTensor] = []
        for (name, value) in table {
            if name == "__metadata__" {
                guard let strings = value as? [String: String] else {
                    throw SafetensorsError.malformedHeader(path: path, reason: "__metadata__ is not an object of strings")
                }
                metadata = strings
                continue
            }
            func invalid(_ reason: String) -> SafetensorsError {
                .invalidTensor(path: path, tensor: name, reason: reason)
            }
            guard let entry = value as? [String: Any] else { throw invalid("its entry is not a JSON object") }
            guard let dataType = entry["dtype"] as? String else { throw invalid("no dtype string") }
            guard let width = elementBytes[dataType] else { throw invalid("unknown dtype \"\(dataType)\"") }
            guard let shape = integers(entry["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw invalid("shape is not an array of non-negative integers")
            }
            guard let offsets = integers(entry["data_offsets"]), offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw invalid("data_offsets is not a pair [begin, end] with 0 ≤ begin ≤ end")
            }
            var elements = 1
            for dimension in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw invalid("shape \(shape) is too large") }
                elements = product
            }
            let (bytes, overflow) = elements.multipliedReportingOverflow(by: width)
            guard !overflow, offsets[1] - offsets[0] == bytes else {
                throw invalid("shape \(shape) of \(dataType) needs \(elements) × \(width) bytes, but data_offsets span \(offsets[1] - offsets[0])")
            }
            guard offsets[1] <= dataSize else {
                throw SafetensorsError.truncated(path: path, reading: "tensor '\(name)'", needed: dataStart + offsets[1], fileSize: size)
            }
            tensors.append(SafetensorsTensor(name: name, dataType: dataType, shape: shape,
                                             byteRange: (dataStart + offsets[0])..<(dataStart + offsets[1])))
        }
        tensors.sort { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
        return (tensors, metadata)
    }

    /// A JSON array of integers (JSONSerialization gives NSNumbers; floats are refused).
    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var out: [Int] = []
        for element in array {
            guard let number = element as? NSNumber, let integer = Int(exactly: number.doubleValue) else { return nil }
            out.append(integer)
        }
        return out
    }
}

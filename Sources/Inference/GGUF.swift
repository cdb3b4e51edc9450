// GGUF: the single-file model format of llama.cpp / ggml.
//
// Layout (all little-endian):
//   magic "GGUF" · version u32 · tensor count u64 · metadata count u64
//   metadata: key (string) · value type u32 · value
//   tensor infos: name (string) · n_dims u32 · dims u64… · ggml type u32 · offset u64
//   padding to `general.alignment` (default 32) · tensor data (each tensor at its offset)
// A string is a u64 byte count followed by UTF-8 bytes. The file is memory-mapped, so the
// tensors are read straight from the page cache and never copied.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One metadata value of a GGUF file.
public enum GGUFValue: Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double)
    case bool(Bool), string(String), array([GGUFValue])

    /// The value as an integer when it is one of the integer types (and fits in `Int`).
    public var integer: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    /// The value as a float when it is a float or an integer type.
    public var float: Float? {
        switch self {
        case .float32(let v): v
        case .float64(let v): Float(v)
        default: integer.map(Float.init)
        }
    }
}

/// Why a GGUF file could not be read. Every case names the file and what was found, so a
/// corrupted download is told apart from a model of the wrong kind.
public enum GGUFError: Error, CustomStringConvertible, Equatable {
    case missingFile(path: String)
    case unreadable(path: String, reason: String)
    case truncated(path: String, reading: String, offset: Int, needed: Int, fileSize: Int)
    case wrongMagic(path: String, found: [UInt8])
    case unsupportedVersion(path: String, version: UInt32)
    case unknownValueType(path: String, key: String, typeID: UInt32)
    case unknownTensorType(path: String, tensor: String, typeID: UInt32)
    case invalidTensor(path: String, tensor: String, reason: String)
    case unsupportedArchitecture(path: String, found: String)
    case missingMetadata(path: String, key: String)
    case missingTensor(path: String, name: String)
    case unsupportedTensorType(path: String, tensor: String, type: String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "\(path): no such model file"
        case .unreadable(let path, let reason):
            return "\(path): cannot read the file: \(reason)"
        case .truncated(let path, let reading, let offset, let needed, let fileSize):
            return "\(path): truncated GGUF file: reading \(reading) needs \(needed) bytes at offset \(offset), but the file has \(fileSize) bytes"
        case .wrongMagic(let path, let found):
            let hex = found.map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
            let ascii = String(decoding: found.map { (32...126).contains($0) ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
            return "\(path): not a GGUF file: the first bytes are \(hex) (\"\(ascii)\"), expected 47 47 55 46 (\"GGUF\")"
        case .unsupportedVersion(let path, let version):
            return "\(path): unsupported GGUF version \(version) (this reader handles versions 2 and 3)"
        case .unknownValueType(let path, let key, let typeID):
            return "\(path): metadata key '\(key)' has unknown value type id \(typeID)"
        case .unknownTensorType(let path, let tensor, let typeID):
            return "\(path): tensor '\(tensor)' has unknown ggml tensor type id \(typeID)"
        case .invalidTensor(let path, let tensor, let reason):
            return "\(path): tensor '\(tensor)': \(reason)"
        case .unsupportedArchitecture(let path, let found):
            return "\(path): unsupported model architecture '\(found)' (only 'llama' is supported)"
        case .missingMetadata(let path, let key):
            return "\(path): missing metadata key '\(key)'"
        case .missingTensor(let path, let name):
            return "\(path): missing tensor '\(name)'"
        case .unsupportedTensorType(let path, let tensor, let type):
            return "\(path): tensor '\(tensor)' has type \(type), which this engine has no kernel for (supported: F32, F16, Q4_0, Q4_1, Q8_0)"
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

/// The ggml tensor types, with their block layout: `blockElements` values are stored in
/// `blockBytes` bytes. Only F32, F16, Q4_0, Q4_1 and Q8_0 have kernels; the others are
/// known so that a file using them is described by name rather than rejected as corrupt.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30

    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .f64: "F64"
        default: "\(self)".uppercased()
        }
    }

    public var blockElements: Int {
        switch self {
        case .f32, .f16, .bf16, .f64, .i8, .i16, .i32, .i64: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl: 32
        default: 256
        }
    }

    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16: 2
        case .bf16: 2
        case .f64: 8
        case .i8: 1
        case .i16: 2
        case .i32: 4
        case .i64: 8
        case .q4_0: 18
        case .q4_1: 20
        case .q5_0: 22
        case .q5_1: 24
        case .q8_0: 34
        case .q8_1: 36
        case .q2_K: 84
        case .q3_K: 110
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        case .q8_K: 292
        case .iq2_xxs: 66
        case .iq2_xs: 74
        case .iq3_xxs: 98
        case .iq1_s: 50
        case .iq4_nl: 18
        case .iq3_s: 110
        case .iq2_s: 82
        case .iq4_xs: 136
        case .iq1_m: 56
        }
    }
}

/// A tensor's description and where its bytes lie in the mapped file.
public struct GGUFTensor: Sendable {
    public let name: String
    /// Dimensions as ggml orders them: `dimensions[0]` is the length of one row (the
    /// contiguous axis), `dimensions[1]` the number of rows.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset of the data from the start of the file.
    public let fileOffset: Int
    public let byteCount: Int

    public var elementCount: Int { dimensions.reduce(1, *) }
}

/// A memory-mapped GGUF file: its metadata, its tensor table, and pointers to tensor data.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: Int
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensor]
    public let alignment: Int
    private let tensorIndex: [String: Int]
    private let file: MappedFile

    /// Maps the file and parses its header, metadata and tensor table. Tensor data is not
    /// touched here (only bounds-checked), so opening is cheap.
    public init(path: String) throws {
        self.path = path
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch .missing {
            throw GGUFError.missingFile(path: path)
        } catch .unreadable(let reason) {
            throw GGUFError.unreadable(path: path, reason: reason)
        }
        guard file.size >= 4 else {
            throw GGUFError.truncated(path: path, reading: "the magic", offset: 0, needed: 4, fileSize: file.size)
        }
        self.file = file
        var reader = Reader(base: file.base, size: file.size, path: path)
        let parsed = try Self.parse(&reader)
        version = parsed.version
        metadata = parsed.metadata
        tensors = parsed.tensors
        alignment = parsed.alignment
        var index: [String: Int] = [:]
        for (i, tensor) in tensors.enumerated() { index[tensor.name] = i }
        tensorIndex = index
    }

    public func string(_ key: String) -> String? {
        if case .string(let s)? = metadata[key] { return s }
        return nil
    }

    public func integer(_ key: String) -> Int? { metadata[key]?.integer }

    public func float(_ key: String) -> Float? { metadata[key]?.float }

    public func strings(_ key: String) -> [String]? {
        guard case .array(let values)? = metadata[key] else { return nil }
        var result: [String] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard case .string(let s) = value else { return nil }
            result.append(s)
        }
        return result
    }

    public func integers(_ key: String) -> [Int]? {
        guard case .array(let values)? = metadata[key] else { return nil }
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let i = value.integer else { return nil }
            result.append(i)
        }
        return result
    }

    public func floats(_ key: String) -> [Float]? {
        guard case .array(let values)? = metadata[key] else { return nil }
        var result: [Float] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard let f = value.float else { return nil }
            result.append(f)
        }
        return result
    }

    public func tensor(named name: String) -> GGUFTensor? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The tensor's bytes inside the mapping; valid as long as this file object lives.
    public func data(of tensor: GGUFTensor) -> UnsafeRawPointer {
        file.base + tensor.fileOffset
    }

    // MARK: Parsing

    private struct Parsed {
        var version: Int
        var metadata: [String: GGUFValue]
        var tensors: [GGUFTensor]
        var alignment: Int
    }

    private static func parse(_ r: inout Reader) throws -> Parsed {
        let magic = try r.bytes(4, reading: "the magic")
        guard magic == Array("GGUF".utf8) else {
            throw GGUFError.wrongMagic(path: r.path, found: magic)
        }
        let version = try r.u32(reading: "the version")
        guard version == 2 || version == 3 else {
            throw GGUFError.unsupportedVersion(path: r.path, version: version)
        }
        let tensorCount = try r.count(reading: "the tensor count", minimumBytesEach: 24)
        let metadataCount = try r.count(reading: "the metadata count", minimumBytesEach: 12)

        var metadata: [String: GGUFValue] = [:]
        metadata.reserveCapacity(metadataCount)
        for i in 0..<metadataCount {
            let key = try r.string(reading: "metadata key #\(i)")
            let typeID = try r.u32(reading: "the value type of '\(key)'")
            metadata[key] = try r.value(typeID: typeID, key: key)
        }

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.integer, a > 0, a & (a - 1) == 0 else {
                throw GGUFError.invalidTensor(path: r.path, tensor: "*", reason: "general.alignment must be a power of two, found \(value)")
            }
            alignment = a
        }

        struct RawInfo { var name: String; var dims: [Int]; var type: GGMLType; var offset: Int }
        var infos: [RawInfo] = []
        infos.reserveCapacity(tensorCount)
        for i in 0..<tensorCount {
            let name = try r.string(reading: "the name of tensor #\(i)")
            let nDims = try r.u32(reading: "the dimension count of '\(name)'")
            guard (1...4).contains(nDims) else {
                throw GGUFError.invalidTensor(path: r.path, tensor: name, reason: "has \(nDims) dimensions (expected 1 to 4)")
            }
            var dims: [Int] = []
            for d in 0..<Int(nDims) {
                let n = try r.u64(reading: "dimension \(d) of '\(name)'")
                guard n > 0, n < 1 << 40 else {
                    throw GGUFError.invalidTensor(path: r.path, tensor: name, reason: "dimension \(d) is \(n)")
                }
                dims.append(Int(n))
            }
            let typeID = try r.u32(reading: "the type of '\(name)'")
            guard let type = GGMLType(rawValue: typeID) else {
                throw GGUFError.unknownTensorType(path: r.path, tensor: name, typeID: typeID)
            }
            let offset = try r.u64(reading: "the data offset of '\(name)'")
            guard offset < UInt64(Int.max / 2) else {
                throw GGUFError.invalidTensor(path: r.path, tensor: name, reason: "data offset \(offset) is impossible")
            }
            infos.append(RawInfo(name: name, dims: dims, type: type, offset: Int(offset)))
        }

        let dataStart = (r.offset + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensor] = []
        tensors.reserveCapacity(infos.count)
        for info in infos {
            let elements = info.dims.reduce(1, *)
            guard info.dims[0] % info.type.blockElements == 0 else {
                throw GGUFError.invalidTensor(path: r.path, tensor: info.name, reason: "row length \(info.dims[0]) is not a multiple of the \(info.type.name) block size \(info.type.blockElements)")
            }
            guard info.offset % alignment == 0 else {
                throw GGUFError.invalidTensor(path: r.path, tensor: info.name, reason: "data offset \(info.offset) is not aligned to \(alignment) bytes")
            }
            let bytes = elements / info.type.blockElements * info.type.blockBytes
            let start = dataStart + info.offset
            guard start + bytes <= r.size else {
                throw GGUFError.truncated(path: r.path, reading: "the data of tensor '\(info.name)'", offset: start, needed: bytes, fileSize: r.size)
            }
            tensors.append(GGUFTensor(name: info.name, dimensions: info.dims, type: info.type, fileOffset: start, byteCount: bytes))
        }
        return Parsed(version: Int(version), metadata: metadata, tensors: tensors, alignment: alignment)
    }
}

/// A bounds-checked cursor over the mapped bytes; every read names what it reads so that a
/// truncated file says where it ends.
private struct Reader {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    var offset = 0

    init(base: UnsafeRawPointer, size: Int, path: String) {
        self.base = base
        self.size = size
        self.path = path
    }

    private mutating func need(_ n: Int, reading what: @autoclosure () -> String) throws {
        if n < 0 || n > size - offset {
            throw GGUFError.truncated(path: path, reading: what(), offset: offset, needed: n, fileSize: size)
        }
    }

    mutating func load<T: FixedWidthInteger>(_: T.Type, reading what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, reading: what())
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    mutating func u32(reading what: @autoclosure () -> String) throws -> UInt32 {
        try load(UInt32.self, reading: what())
    }

    mutating func u64(reading what: @autoclosure () -> String) throws -> UInt64 {
        try load(UInt64.self, reading: what())
    }

    /// A u64 element count, refused when even the smallest encoding of that many elements
    /// would not fit in the rest of the file (a corrupted count would otherwise allocate
    /// without bound).
    mutating func count(reading what: @autoclosure () -> String, minimumBytesEach: Int) throws -> Int {
        let n = try u64(reading: what())
        let remaining = UInt64(size - offset)
        if n > remaining / UInt64(max(1, minimumBytesEach)) {
            throw GGUFError.truncated(path: path, reading: "\(what()) (\(n))", offset: offset,
                                      needed: n > UInt64(Int.max) / 64 ? Int.max : Int(n) * minimumBytesEach, fileSize: size)
        }
        return Int(n)
    }

    mutating func bytes(_ n: Int, reading what: @autoclosure () -> String) throws -> [UInt8] {
        try need(n, reading: what())
        let result = Array(UnsafeRawBufferPointer(start: base + offset, count: n))
        offset += n
        return result
    }

    mutating func string(reading what: @autoclosure () -> String) throws -> String {
        let n = try count(reading: "the length of \(what())", minimumBytesEach: 1)
        try need(n, reading: what())
        let s = String(decoding: UnsafeRawBufferPointer(start: base + offset, count: n), as: UTF8.self)
        offset += n
        return s
    }

    mutating func value(typeID: UInt32, key: String) throws -> GGUFValue {
        switch typeID {
        case 0: return .uint8(try load(UInt8.self, reading: "the value of '\(key)'"))
        case 1: return .int8(try load(Int8.self, reading: "the value of '\(key)'"))
        case 2: return .uint16(try load(UInt16.self, reading: "the value of '\(key)'"))
        case 3: return .int16(try load(Int16.self, reading: "the value of '\(key)'"))
        case 4: return .uint32(try load(UInt32.self, reading: "the value of '\(key)'"))
        case 5: return .int32(try load(Int32.self, reading: "the value of '\(key)'"))
        case 6: return .float32(Float(bitPattern: try load(UInt32.self, reading: "the value of '\(key)'")))
        case 7:
            let b = try load(UInt8.self, reading: "the value of '\(key)'")
            return .bool(b != 0)
        case 8: return .string(try string(reading: "the value of '\(key)'"))
        case 9:
            let elementType = try u32(reading: "the element type of '\(key)'")
            let n = try count(reading: "the element count of '\(key)'", minimumBytesEach: 1)
            var values: [GGUFValue] = []
            values.reserveCapacity(n)
            for _ in 0..<n {
                values.append(try value(typeID: elementType, key: key))
            }
            return .array(values)
        case 10: return .uint64(try load(UInt64.self, reading: "the value of '\(key)'"))
        case 11: return .int64(try load(Int64.self, reading: "the value of '\(key)'"))
        case 12: return .float64(Double(bitPattern: try load(UInt64.self, reading: "the value of '\(key)'")))
        default:
            throw GGUFError.unknownValueType(path: path, key: key, typeID: typeID)
        }
    }
}

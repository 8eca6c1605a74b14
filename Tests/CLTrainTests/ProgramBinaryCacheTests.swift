import Foundation
import Synchronization
import Testing
@testable import CLTrain

/// The kernel binary cache's file format, without a device: every truncation and byte flip of an
/// entry, and an entry of another key, is refused with a reason before any byte could reach a driver.
@Suite("Kernel binary cache: entry format")
struct ProgramBinaryCacheFormatTests {
    static let device: [(name: String, value: String)] = [
        ("platform", "Test Platform (OpenCL 3.0)"), ("device", "test-device"), ("vendor", "Test"),
        ("driver", "1.0"), ("device version", "OpenCL 3.0"), ("OpenCL C", "OpenCL C 1.2"),
    ]
    let key = ProgramBinaryCache.Key(program: "twice.cl", source: "kernel source", options: "-D A=1", device: device)
    let binary: [UInt8] = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }

    @Test func anEntryReadsBackExactly() {
        let file = ProgramBinaryCache.encode(binary, for: key)
        #expect(ProgramBinaryCache.decode(file, expecting: key) == .hit(binary))
    }

    @Test func everyTruncationIsRefused() {
        let file = ProgramBinaryCache.encode(binary, for: key)
        for length in 0..<file.count {
            guard case .invalid(let reason) = ProgramBinaryCache.decode(Array(file.prefix(length)), expecting: key) else {
                Issue.record("a file cut to \(length) of \(file.count) bytes was accepted")
                continue
            }
            #expect(!reason.isEmpty)
        }
        // One byte short of the binary: the message says what the header promised.
        let short = ProgramBinaryCache.decode(Array(file.dropLast()), expecting: key)
        #expect(short == .invalid(reason: "truncated: its header records \(binary.count) bytes of binary, the file holds \(binary.count - 1)"))
        #expect(ProgramBinaryCache.decode(file + [0], expecting: key) != .hit(binary))
    }

    @Test func everyFlippedByteIsRefused() {
        let file = ProgramBinaryCache.encode(binary, for: key)
        for position in file.indices {
            for mask: UInt8 in [0x01, 0x80, 0xff] {
                var damaged = file
                damaged[position] ^= mask
                if case .hit = ProgramBinaryCache.decode(damaged, expecting: key) {
                    Issue.record("byte \(position) xor \(mask) was accepted")
                }
            }
        }
    }

    @Test func anEntryOfAnotherProgramOrDeviceIsRefused() {
        let file = ProgramBinaryCache.encode(binary, for: key)
        var others = [
            ProgramBinaryCache.Key(program: "other.cl", source: "kernel source", options: "-D A=1", device: Self.device),
            ProgramBinaryCache.Key(program: "twice.cl", source: "kernel sourcE", options: "-D A=1", device: Self.device),
            ProgramBinaryCache.Key(program: "twice.cl", source: "kernel source", options: "-D A=2", device: Self.device),
        ]
        for field in Self.device.indices {
            var device = Self.device
            device[field].value += " v2"
            others.append(ProgramBinaryCache.Key(program: "twice.cl", source: "kernel source", options: "-D A=1", device: device))
        }
        for other in others {
            #expect(other != key)
            #expect(other.fileName != key.fileName, "\(other.text)")
            guard case .invalid(let reason) = ProgramBinaryCache.decode(file, expecting: other) else {
                Issue.record("an entry of \(key.text) was read as \(other.text)")
                continue
            }
            #expect(reason.contains("another program or device"), "\(reason)")
        }
        // The file name keeps the program's name readable and harmless.
        #expect(key.fileName.hasPrefix("twice.cl-") && key.fileName.hasSuffix(".clbin"))
        let odd = ProgramBinaryCache.Key(program: "../x y/é", source: "", options: "", device: Self.device)
        #expect(!odd.fileName.contains("/") && !odd.fileName.contains(" ") && odd.fileName.hasPrefix(".._x_y__-"))
    }

    @Test func headerFieldsClaimingHugeSizesAreRefused() {
        var file = ProgramBinaryCache.encode(binary, for: key)
        let keyLengthAt = ProgramBinaryCache.magic.count + 4
        var huge = file
        huge.replaceSubrange(keyLengthAt..<keyLengthAt + 4, with: UInt32.max.littleEndianBytes)
        #expect(ProgramBinaryCache.decode(huge, expecting: key) != .hit(binary))
        let binaryLengthAt = keyLengthAt + 4 + key.text.utf8.count
        file.replaceSubrange(binaryLengthAt..<binaryLengthAt + 8, with: UInt64.max.littleEndianBytes)
        #expect(ProgramBinaryCache.decode(file, expecting: key) != .hit(binary))
    }

    @Test func anEntryOfTheFirstFormatIsRefused() {
        // Format 1: "CLTRAINBIN1\n", length, checksum, binary, and no key.
        var hash = FNV1a()
        hash.combine(binary)
        let old = Array("CLTRAINBIN1\n".utf8) + UInt64(binary.count).littleEndianBytes + hash.value.littleEndianBytes + binary
        #expect(ProgramBinaryCache.decode(old, expecting: key) == .invalid(reason: "not a CLTrain kernel cache entry (no 'CLTRBIN' tag)"))
    }

    @Test func aMissingEntryIsAMissAndAFolderInItsPlaceIsInvalid() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let cache = ProgramBinaryCache(directory: scratch.url)
        #expect(cache.load(key) == .miss)
        try FileManager.default.createDirectory(at: cache.fileURL(key), withIntermediateDirectories: true)
        guard case .invalid = cache.load(key) else {
            Issue.record("a folder under an entry's name was read as an entry")
            return
        }
        // Not ours to delete: eviction removes files only.
        #expect(!cache.evict(key))
        #expect(FileManager.default.fileExists(atPath: cache.fileURL(key).path))
        try FileManager.default.removeItem(at: cache.fileURL(key))

        // A FIFO is refused without being opened (opening it would block), and a symbolic link
        // is not followed; eviction removes the link, never its target.
        #expect(mkfifo(cache.fileURL(key).path, 0o644) == 0)
        #expect(cache.load(key) == .invalid(reason: "not a regular file"))
        #expect(cache.evict(key))
        let target = scratch.url.appendingPathComponent("user-file")
        try Data(ProgramBinaryCache.encode(binary, for: key)).write(to: target)
        try FileManager.default.createSymbolicLink(at: cache.fileURL(key), withDestinationURL: target)
        #expect(cache.load(key) == .invalid(reason: "not a regular file"))
        #expect(cache.evict(key))
        #expect(FileManager.default.fileExists(atPath: target.path))
    }

    @Test func theCacheFolderFollowsTheEnvironment() {
        let home = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/cltrain/kernels").path
        #expect(CacheDirectory.folder("kernels", environment: ["CLTRAIN_CACHE_DIR": "/tmp/c"])?.path == "/tmp/c/kernels")
        #expect(CacheDirectory.folder("kernels", environment: ["CLTRAIN_CACHE_DIR": "off"]) == nil)
        #expect(CacheDirectory.folder("kernels", environment: ["CLTRAIN_CACHE_DIR": ""]) == nil)
        #expect(CacheDirectory.folder("kernels", environment: ["XDG_CACHE_HOME": "/tmp/x"])?.path == "/tmp/x/cltrain/kernels")
        // Empty or relative: ignored, never the working folder.
        #expect(CacheDirectory.folder("kernels", environment: ["XDG_CACHE_HOME": ""])?.path == home)
        #expect(CacheDirectory.folder("kernels", environment: ["XDG_CACHE_HOME": "cache"])?.path == home)
        #expect(CacheDirectory.folder("kernels", environment: [:])?.path == home)
    }

    @Test func aStoreThatCannotWriteThrowsAndLeavesNoTemporaryFile() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        // The cache folder's path is a regular file: nothing can be created under it.
        let blocker = scratch.url.appendingPathComponent("kernels")
        try Data("not a folder".utf8).write(to: blocker)
        #expect(throws: (any Error).self) { try ProgramBinaryCache(directory: blocker).store(binary, for: key) }
        // The entry's name is taken by a folder: the rename fails, and its temporary file goes.
        let cache = ProgramBinaryCache(directory: scratch.url.appendingPathComponent("cache"))
        try FileManager.default.createDirectory(at: cache.fileURL(key).appendingPathComponent("inside"), withIntermediateDirectories: true)
        #expect(throws: (any Error).self) { try cache.store(binary, for: key) }
        let left = try FileManager.default.contentsOfDirectory(atPath: cache.directory.path)
        #expect(left == [key.fileName], "\(left)")
    }
}

/// The cache with a real driver (PoCL in CI): a bad entry of any kind is evicted with one warning
/// naming the file and the reason, the program is rebuilt from source and works, and the entry is
/// replaced by a good one. A kernel that does not compile names the program, device and log.
@Suite(.enabled(if: !DeviceRegistry.shared.openCLDevices.isEmpty,
                "no OpenCL platform: kernel binary cache tests with a driver skipped, the format tests still run"))
struct ProgramBinaryCacheDriverTests {
    let context: OpenCLContext
    static let source = "__kernel void twice(__global float* x) { x[get_global_id(0)] *= 2.0f; }"
    static let otherSource = "__kernel void thrice(__global float* x) { x[get_global_id(0)] *= 3.0f; }"

    init() throws {
        context = try DeviceRegistry.shared.context(ofOpenCLDevice: 0)
    }

    /// Warnings a build said, collected.
    final class Warnings: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    func build(_ cache: ProgramBinaryCache, _ warnings: Warnings, name: String = "twice.cl", source: String = source,
               kernels: [String] = ["twice"]) throws -> OpenCLProgram {
        try OpenCLProgram.build(name: name, source: source, options: "", kernels: kernels, context: context,
                                cache: cache, warn: warnings.append)
    }

    /// Runs `twice` from `program` on four numbers.
    func runTwice(_ program: OpenCLProgram) throws -> [Float] {
        let kernel = try program.makeKernel("twice")
        let queue = try context.makeQueue()
        let buffer = try context.makeBuffer(byteCount: 16)
        var values: [Float] = [1, 2, 3, 4]
        try values.withUnsafeBytes { try queue.write($0, to: buffer, byteOffset: 0) }
        try kernel.setArguments([.buffer(buffer)])
        try queue.launch(kernel, global: [4], local: [4])
        try values.withUnsafeMutableBytes { try queue.read(buffer, byteOffset: 0, into: $0) }
        return values
    }

    @Test func anEntryIsWrittenAndUsed() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let cache = ProgramBinaryCache(directory: scratch.url), warnings = Warnings()
        let first = try build(cache, warnings)
        #expect(first.origin == .compiled)
        let key = ProgramBinaryCache.Key(program: "twice.cl", device: context.device, source: Self.source, options: "")
        guard case .hit = cache.load(key) else {
            Issue.record("the built binary was not cached")
            return
        }
        let second = try build(cache, warnings)
        #expect(second.origin == .cached)
        #expect(try runTwice(second) == [2, 4, 6, 8])
        #expect(warnings.all.isEmpty, "\(warnings.all)")
        // The same source under another program name is another entry.
        _ = try build(cache, warnings, name: "twice-copy.cl")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).count == 2)
    }

    /// A bad entry, planted under the real key, given the good entry's file, its binary, and a
    /// good entry of another program (other name and source, kernel `thrice`).
    struct Corruption: CustomTestStringConvertible, Sendable {
        let name: String
        /// Words the warning's reason must contain.
        let reason: String
        let plant: @Sendable (_ goodFile: [UInt8], _ binary: [UInt8], _ otherFile: [UInt8], _ otherBinary: [UInt8],
                              _ cache: ProgramBinaryCache, _ key: ProgramBinaryCache.Key) throws -> Void
        var testDescription: String { name }
    }

    static func write(_ bytes: [UInt8], _ cache: ProgramBinaryCache, _ key: ProgramBinaryCache.Key) throws {
        try Data(bytes).write(to: cache.fileURL(key))
    }

    static let corruptions: [Corruption] = [
        Corruption(name: "truncated to half", reason: "truncated") { file, _, _, _, cache, key in
            try write(Array(file.prefix(file.count / 2)), cache, key)
        },
        Corruption(name: "one byte short", reason: "truncated") { file, _, _, _, cache, key in
            try write(Array(file.dropLast()), cache, key)
        },
        Corruption(name: "empty file", reason: "not a CLTrain kernel cache entry") { _, _, _, _, cache, key in
            try write([], cache, key)
        },
        Corruption(name: "a byte of the binary flipped", reason: "checksum") { file, _, _, _, cache, key in
            var bytes = file
            bytes[bytes.count - 5] ^= 0xff
            try write(bytes, cache, key)
        },
        Corruption(name: "a byte of the key flipped", reason: "checksum") { file, _, _, _, cache, key in
            var bytes = file
            bytes[ProgramBinaryCache.magic.count + 12] ^= 0x20
            try write(bytes, cache, key)
        },
        Corruption(name: "another program's entry under this name", reason: "another program") { _, _, other, _, cache, key in
            try write(other, cache, key)
        },
        Corruption(name: "another program's binary under this key (lacks the kernel)", reason: "CL_INVALID_KERNEL_NAME") { _, _, _, otherBinary, cache, key in
            try cache.store(otherBinary, for: key)
        },
        Corruption(name: "bytes that are no binary, under a valid header", reason: "the driver refused it") { _, _, _, _, cache, key in
            try cache.store(Array("not a program binary".utf8), for: key)
        },
        Corruption(name: "an entry of the first format", reason: "not a CLTrain kernel cache entry") { _, binary, _, _, cache, key in
            var hash = FNV1a()
            hash.combine(binary)
            try write(Array("CLTRAINBIN1\n".utf8) + UInt64(binary.count).littleEndianBytes + hash.value.littleEndianBytes + binary,
                      cache, key)
        },
    ]

    @Test("a bad entry is evicted, said once, rebuilt from source and replaced", arguments: corruptions)
    func aBadEntryIsEvictedAndReplaced(_ corruption: Corruption) throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let cache = ProgramBinaryCache(directory: scratch.url), warnings = Warnings()
        let key = ProgramBinaryCache.Key(program: "twice.cl", device: context.device, source: Self.source, options: "")
        let otherKey = ProgramBinaryCache.Key(program: "thrice.cl", device: context.device, source: Self.otherSource, options: "")
        _ = try build(cache, warnings)
        _ = try build(cache, warnings, name: "thrice.cl", source: Self.otherSource, kernels: ["thrice"])
        let goodFile = try [UInt8](Data(contentsOf: cache.fileURL(key)))
        let otherFile = try [UInt8](Data(contentsOf: cache.fileURL(otherKey)))
        guard case .hit(let binary) = cache.load(key), case .hit(let otherBinary) = cache.load(otherKey) else {
            Issue.record("the built binaries were not cached")
            return
        }
        try corruption.plant(goodFile, binary, otherFile, otherBinary, cache, key)

        let rebuilt = try build(cache, warnings)
        guard case .rebuilt(let reason) = rebuilt.origin else {
            Issue.record("the bad entry was used: origin \(rebuilt.origin)")
            return
        }
        #expect(reason.contains(corruption.reason), "reason: \(reason)")
        #expect(try runTwice(rebuilt) == [2, 4, 6, 8])
        #expect(warnings.all.count == 1, "\(warnings.all)")
        let line = warnings.all.first ?? ""
        #expect(line.contains(cache.fileURL(key).path) && line.contains(reason) && !line.contains("\n"), "\(line)")
        // Replaced by a good entry, which the next build uses without a word.
        #expect(cache.load(key) == .hit(binary))
        #expect(try build(cache, warnings).origin == .cached)
        #expect(warnings.all.count == 1)
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).filter { $0.hasSuffix(".tmp") }
        #expect(left.isEmpty, "\(left)")
    }

    @Test func aKernelTheBuildWasNotToldAboutEvictsTheEntryWhenItIsMissing() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let cache = ProgramBinaryCache(directory: scratch.url), warnings = Warnings()
        let key = ProgramBinaryCache.Key(program: "twice.cl", device: context.device, source: Self.source, options: "")
        let other = try build(cache, warnings, name: "thrice.cl", source: Self.otherSource, kernels: ["thrice"])
        try cache.store(try other.binary(), for: key)
        // Told of no kernel, the build cannot see the entry is wrong; the first use can.
        let program = try build(cache, warnings, kernels: [])
        #expect(program.origin == .cached)
        #expect {
            _ = try program.makeKernel("twice")
        } throws: { error in
            "\(error)" == "clCreateKernel(twice): CL_INVALID_KERNEL_NAME"
        }
        #expect(cache.load(key) == .miss)
        #expect(try runTwice(try build(cache, warnings, kernels: [])) == [2, 4, 6, 8])
    }

    @Test func aCacheThatCannotBeWrittenCostsOnlyAWarning() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let blocker = scratch.url.appendingPathComponent("kernels")
        try Data("not a folder".utf8).write(to: blocker)
        let warnings = Warnings()
        let program = try build(ProgramBinaryCache(directory: blocker), warnings)
        #expect(program.origin == .compiled)
        #expect(try runTwice(program) == [2, 4, 6, 8])
        #expect(warnings.all.count == 1 && warnings.all[0].contains("cannot write kernel cache entry"), "\(warnings.all)")

        // A folder squatting on the entry's name: it is left alone, the program is built, and
        // the failed write leaves no temporary file behind.
        let cache = ProgramBinaryCache(directory: scratch.url.appendingPathComponent("cache"))
        let key = ProgramBinaryCache.Key(program: "twice.cl", device: context.device, source: Self.source, options: "")
        let squatter = cache.fileURL(key).appendingPathComponent("user-file")
        try FileManager.default.createDirectory(at: squatter.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: squatter)
        let squatted = Warnings()
        #expect(try runTwice(try build(cache, squatted)) == [2, 4, 6, 8])
        #expect(squatted.all.first?.contains("could not remove it") == true, "\(squatted.all)")
        #expect(try Data(contentsOf: squatter) == Data("mine".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.directory.path) == [key.fileName])
    }

    @Test func aKernelThatDoesNotCompileNamesTheProgramTheDeviceAndTheLog() throws {
        let scratch = try ScratchFolder()
        defer { scratch.cleanup() }
        let cache = ProgramBinaryCache(directory: scratch.url), warnings = Warnings()
        let source = "__kernel void broken(__global float* x) { x[0] = undefined_symbol_42; }"
        do {
            _ = try build(cache, warnings, name: "broken.cl", source: source, kernels: ["broken"])
            Issue.record("a kernel that does not compile was accepted")
        } catch let error as OpenCLBuildError {
            #expect(error.program == "broken.cl")
            #expect(error.log.contains("undefined_symbol_42"), "log: \(error.log)")
            let text = error.description
            #expect(text.contains("broken.cl") && text.contains("OpenCL device 0 (\(context.device.name))")
                    && text.contains("undefined_symbol_42") && text.contains("CL_BUILD_PROGRAM_FAILURE"), "\(text)")
        }
        // Nothing cached for a program that did not build, and nothing to warn about.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.url.path).isEmpty)
        #expect(warnings.all.isEmpty)
    }

    @Test func aLongBuildLogIsCutToItsFirstLines() throws {
        // Forty errors, one per line: the description shows the first lines and counts the rest.
        let body = (0..<40).map { "    x[\($0)] = undefined_symbol_\($0);" }.joined(separator: "\n")
        let source = "__kernel void broken(__global float* x) {\n\(body)\n}"
        do {
            _ = try context.program(name: "broken-long.cl", source: source, options: "", kernels: ["broken"])
            Issue.record("a kernel that does not compile was accepted")
        } catch let error as OpenCLBuildError {
            let logLines = error.log.split(separator: "\n").count
            #expect(logLines > OpenCLBuildError.shownLogLines, "log: \(error.log)")
            #expect(error.description.contains("… \(logLines - OpenCLBuildError.shownLogLines) more lines"), "\(error.description)")
            #expect(error.description.split(separator: "\n").count == OpenCLBuildError.shownLogLines + 2)
            #expect(error.description.contains("undefined_symbol_0"))
        }
    }
}

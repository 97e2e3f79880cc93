import CCorralSyscalls
import Glibc

/// A zip (stored, not compressed) of a workspace directory, made from the host without following
/// any symlink: regular files and directories go in, symlinks and special files are left out
/// (named in `skipped`). Bounded by `maxBytes` of file data and `maxEntries` entries.
public struct WorkspaceArchive: Sendable {
    public var bytes: [UInt8]
    public var skipped: [String]

    public enum Failure: Error, Sendable { case tooLarge(String), files(WorkspaceFiles.Failure) }

    /// Entries a zip without its 64-bit extension holds.
    public static let maxEntries = 65_535

    public static func make(_ files: WorkspaceFiles, directory: String, maxBytes: Int, maxEntries: Int = WorkspaceArchive.maxEntries) throws(Failure) -> WorkspaceArchive {
        let relative: String
        let fd: Int32
        do throws(WorkspaceFiles.Failure) {
            relative = try WorkspaceFiles.normalise(directory)
            fd = try files.open(relative, O_RDONLY | Int32(O_DIRECTORY))
        } catch { throw .files(error) }
        defer { close(fd) }
        var writer = ZipWriter()
        var skipped: [String] = []
        // Depth counts from the workspace: a subdirectory's archive stops where the whole one would.
        try add(fd, prefix: "", depth: relative.split(separator: "/").count + 1, writer: &writer, skipped: &skipped,
                maxBytes: maxBytes, maxEntries: maxEntries, sink: nil)
        return WorkspaceArchive(bytes: writer.finish(), skipped: skipped)
    }

    /// Writes the zip of `files`'s whole tree to `output` as it goes (only the central directory is
    /// held in memory); returns what was left out. `extra` entries (name, bytes) come first.
    public static func write(_ files: WorkspaceFiles, to output: Int32, extra: [(String, [UInt8])] = [], maxBytes: Int,
                             maxEntries: Int = WorkspaceArchive.maxEntries) throws(Failure) -> [String] {
        let fd: Int32
        do throws(WorkspaceFiles.Failure) { fd = try files.open("", O_RDONLY | Int32(O_DIRECTORY)) } catch { throw .files(error) }
        defer { close(fd) }
        var writer = ZipWriter()
        var skipped: [String] = []
        for (name, data) in extra { writer.add(name, data: data, mode: 0o100644) }
        try add(fd, prefix: "", depth: 1, writer: &writer, skipped: &skipped, maxBytes: maxBytes, maxEntries: maxEntries, sink: output)
        let tail = writer.finish()
        guard Posix.writeAll(output, tail) else { throw .files(.system("cannot write the archive: \(String(cString: strerror(errno)))")) }
        return skipped
    }

    private static func add(_ dirFD: Int32, prefix: String, depth: Int, writer: inout ZipWriter, skipped: inout [String], maxBytes: Int,
                            maxEntries: Int, sink: Int32?) throws(Failure) {
        if let sink {
            // What is written so far goes out before the next directory's entries are read.
            guard Posix.writeAll(sink, writer.drain()) else { throw .files(.system("cannot write the archive: \(String(cString: strerror(errno)))")) }
        }
        for name in ShadowChanges.names(dirFD) {
            let path = prefix.isEmpty ? name : prefix + "/" + name
            guard writer.entries < maxEntries else { throw .tooLarge("the directory holds more than \(maxEntries) entries; archive a subdirectory") }
            // What is left out is held too: a million symlinks or FIFOs 255 levels down are a million
            // 64 KiB names, none of them an entry or a byte of data.
            guard skipped.count < maxEntries else {
                throw .tooLarge("the directory holds more than \(maxEntries) symlinks, special files or too deep directories; archive a subdirectory")
            }
            // Names count too (each is written twice: local header and central directory): 65,535 empty files
            // 256 levels down, named 255 bytes each, are 8 GB of names and no byte of data.
            guard writer.dataBytes + 2 * path.utf8.count <= maxBytes else {
                throw .tooLarge("the archive would hold more than \(maxBytes) bytes of files and names; archive a subdirectory")
            }
            // A zip names an entry in at most 65,535 bytes (names not UTF-8 grow threefold as U+FFFD).
            guard path.utf8.count < 65_535 else { skipped.append(Self.shown(path)); continue }
            var st = stat()
            guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                // Deeper than the host walks (WorkspaceFiles.maxDepth): left out whole, and named.
                guard depth < WorkspaceFiles.maxDepth else { skipped.append(Self.shown(path)); continue }
                let child = corral_open_beneath(dirFD, name, O_RDONLY | Int32(O_DIRECTORY), 0, 1)
                guard child >= 0 else { skipped.append(Self.shown(path)); continue }
                defer { close(child) }
                writer.add(path + "/", data: [], mode: UInt32(st.st_mode & 0o7777) | 0o40000)
                try add(child, prefix: path, depth: depth + 1, writer: &writer, skipped: &skipped, maxBytes: maxBytes, maxEntries: maxEntries, sink: sink)
            case S_IFREG:
                guard Int(st.st_size) <= maxBytes - writer.dataBytes else {
                    throw .tooLarge("the archive would hold more than \(maxBytes) bytes; archive a subdirectory or read files one by one")
                }
                // What is left of the budget, not all of it: the file may have grown (sparse: for free) since its stat.
                guard let data = ShadowChanges.readBeneath(dirFD, name, limit: maxBytes - writer.dataBytes) else { skipped.append(Self.shown(path)); continue }
                writer.add(path, data: data, mode: UInt32(st.st_mode & 0o7777) | 0o100000)
                if let sink, !Posix.writeAll(sink, writer.drain()) {
                    throw .files(.system("cannot write the archive: \(String(cString: strerror(errno)))"))
                }
            default:
                skipped.append(Self.shown(path))
            }
        }
    }

    /// A left-out path as named in `skipped`: at most 200 bytes of it.
    /// (Bytes, not Characters: one Character may be a letter and 60,000 bytes of combining marks.)
    static func shown(_ path: String) -> String { path.utf8.count > 200 ? String(decoding: path.utf8.prefix(200), as: UTF8.self) + "…" : path }
}

/// The smallest zip writer that standard tools read: stored entries, CRC-32, UTF-8 names, Unix modes.
struct ZipWriter {
    private var out: [UInt8] = []
    private var central: [UInt8] = []
    private(set) var entries = 0
    private(set) var dataBytes = 0
    /// Bytes already taken by `drain` (offsets count them).
    private var drained = 0

    /// The bytes written so far that were not taken yet (a streamed zip writes them out).
    mutating func drain() -> [UInt8] {
        defer { drained += out.count; out = [] }
        return out
    }

    mutating func add(_ name: String, data: [UInt8], mode: UInt32) {
        let nameBytes = Array(name.utf8)
        let crc = Self.crc32(data)
        let offset = drained + out.count
        out += le32(0x0403_4b50) + le16(20) + le16(0x0800) + le16(0) + le16(0) + le16(0x21)
        out += le32(crc) + le32(UInt32(clamping: data.count)) + le32(UInt32(clamping: data.count)) + le16(UInt16(clamping: nameBytes.count)) + le16(0)
        out += nameBytes + data
        central += le32(0x0201_4b50) + le16(0x031e) + le16(20) + le16(0x0800) + le16(0) + le16(0) + le16(0x21)
        central += le32(crc) + le32(UInt32(clamping: data.count)) + le32(UInt32(clamping: data.count)) + le16(UInt16(clamping: nameBytes.count))
        central += le16(0) + le16(0) + le16(0) + le16(0) + le32(mode << 16) + le32(UInt32(clamping: offset)) + nameBytes
        entries += 1
        dataBytes += data.count + 2 * nameBytes.count
    }

    mutating func finish() -> [UInt8] {
        let start = drained + out.count
        out += central
        out += le32(0x0605_4b50) + le16(0) + le16(0) + le16(UInt16(clamping: entries)) + le16(UInt16(clamping: entries))
        out += le32(UInt32(clamping: central.count)) + le32(UInt32(clamping: start)) + le16(0)
        return out
    }

    private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
    private func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)] }

    private static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = table[Int((c ^ UInt32(b)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

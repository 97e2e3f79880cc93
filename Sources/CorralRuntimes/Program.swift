import CorralSandbox
import Glibc

/// A program's files read from a host directory for `corral run --lang L DIR`:
/// regular files only (symlinks, devices and hidden entries are skipped), bounded.
public enum ProgramDirectory {
    public static let maxBytes = 16 << 20
    public static let maxFiles = 2000

    public static func read(_ directory: String) throws(SandboxError) -> [JailFile] {
        var files: [JailFile] = []
        var total = 0
        try walk(directory, relative: "", files: &files, total: &total, depth: 0)
        return files.sorted { $0.path < $1.path }
    }

    private static func walk(_ dir: String, relative: String, files: inout [JailFile], total: inout Int, depth: Int) throws(SandboxError) {
        guard depth < 16, let handle = opendir(dir) else { throw .invalidRequest("cannot read directory \(dir)") }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasPrefix(".") { continue }
            let path = dir + "/" + name, rel = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                try walk(path, relative: rel, files: &files, total: &total, depth: depth + 1)
            case S_IFREG:
                // Checked before adding: a sparse file's size may be near Int.max.
                guard Int(st.st_size) <= maxBytes - total, files.count < maxFiles else {
                    throw .invalidRequest("\(dir) holds more than \(maxBytes >> 20) MB or \(maxFiles) files")
                }
                guard let bytes = Posix.readWholeFile(path) else { throw .invalidRequest("cannot read \(path)") }
                total += bytes.count
                guard total <= maxBytes else { throw .invalidRequest("\(dir) holds more than \(maxBytes >> 20) MB or \(maxFiles) files") }
                files.append(JailFile(path: rel, contents: bytes, executable: st.st_mode & 0o100 != 0))
            default:
                continue
            }
        }
    }
}

import Glibc

/// The compile cache failed on the host (a directory it cannot create, an entry it cannot
/// store): Corral's fault or its operator's, never the program's. Reported as `internal_error`.
public struct CompileCacheError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure; grows with the cache.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The cache root, its staging directory or an entry's staging directory cannot be created.
        public static let cannotCreateDirectory = Code(rawValue: "cannot_create_directory")
        /// A compiled entry cannot be moved into place.
        public static let cannotStore = Code(rawValue: "cannot_store")
        /// An entry was stored but is not there to use.
        public static let entryMissing = Code(rawValue: "entry_missing")
    }

    public var code: Code
    /// What was being done: `mkdir`, `rename`, …
    public var operation: String
    public var path: String
    /// The errno of the failed call (0 when no call failed).
    public var errno: Int32

    public init(code: Code, operation: String, path: String, errno: Int32) {
        self.code = code; self.operation = operation; self.path = path; self.errno = errno
    }

    public var description: String {
        let reason = errno == 0 ? "not found after it was stored" : "\(String(cString: strerror(errno))) (errno \(errno))"
        return "compile cache: \(operation) \(path) failed (\(code)): \(reason); "
            + "check that the cache directory (CORRAL_COMPILE_CACHE, else CORRAL_DATA_DIR/compile) is writable by Corral and its disk has space"
    }
}

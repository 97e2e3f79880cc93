import CorralSandbox

extension Language {
    /// Limits below which a toolchain cannot work (threads the JVM starts, memory a compiler
    /// needs, the file it writes). A request is raised to them; unset fields raise nothing.
    /// There is deliberately no time floor: how long a stage may run is the request's choice.
    public struct MinimumLimits: Sendable, Codable, Hashable {
        public var processes: Int?
        public var memoryMB: Int?
        /// Largest file, in MiB (an artifact, an object file in `/tmp`).
        public var fileSizeMB: Int?
        /// Size of `/tmp`, in MiB (module and build caches pointed there).
        public var tmpMB: Int?
        public var openFiles: Int?

        public init(processes: Int? = nil, memoryMB: Int? = nil, fileSizeMB: Int? = nil, tmpMB: Int? = nil,
                    openFiles: Int? = nil) {
            self.processes = processes; self.memoryMB = memoryMB; self.fileSizeMB = fileSizeMB
            self.tmpMB = tmpMB; self.openFiles = openFiles
        }

        enum CodingKeys: String, CodingKey {
            case processes
            case memoryMB = "memory_mb"
            case fileSizeMB = "file_size_mb"
            case tmpMB = "tmp_mb"
            case openFiles = "open_files"
        }
    }
}

extension Language.MinimumLimits {
    /// `limits` raised to these minimums.
    func raise(_ limits: ResourceLimits) -> ResourceLimits {
        var l = limits
        if let p = processes { l.processes = max(l.processes, p) }
        if let m = memoryMB { l.memoryMB = max(l.memoryMB, m) }
        if let f = fileSizeMB { l.fileSizeMB = max(l.fileSizeMB, f) }
        if let t = tmpMB { l.tmpMB = max(l.tmpMB, t) }
        if let o = openFiles { l.openFiles = max(l.openFiles, o) }
        return l
    }
}

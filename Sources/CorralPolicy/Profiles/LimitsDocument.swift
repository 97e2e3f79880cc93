import CorralSandbox

/// `ResourceLimits` as data files and the wire spell it (the names of
/// `ResourceLimits.validate`'s errors); absent fields keep the defaults.
struct LimitsDocument: Codable {
    var limits: ResourceLimits

    init(_ limits: ResourceLimits) { self.limits = limits }

    enum CodingKeys: String, CodingKey {
        case timeoutSeconds = "timeout_seconds"
        case cpuTimeSeconds = "cpu_time_seconds"
        case memoryMB = "max_memory_mb"
        case processes
        case outputBytes = "max_output_size"
        case fileSizeMB = "file_size_mb"
        case openFiles = "open_files"
        case workspaceMB = "workspace_mb"
        case tmpMB = "tmp_mb"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var l = ResourceLimits()
        if let v = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) { l.timeoutSeconds = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .cpuTimeSeconds) { l.cpuTimeSeconds = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .memoryMB) { l.memoryMB = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .processes) { l.processes = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .outputBytes) { l.outputBytes = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .fileSizeMB) { l.fileSizeMB = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .openFiles) { l.openFiles = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .workspaceMB) { l.workspaceMB = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .tmpMB) { l.tmpMB = v }
        limits = l
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(limits.timeoutSeconds, forKey: .timeoutSeconds)
        try c.encode(limits.cpuTimeSeconds, forKey: .cpuTimeSeconds)
        try c.encode(limits.memoryMB, forKey: .memoryMB)
        try c.encode(limits.processes, forKey: .processes)
        try c.encode(limits.outputBytes, forKey: .outputBytes)
        try c.encode(limits.fileSizeMB, forKey: .fileSizeMB)
        try c.encode(limits.openFiles, forKey: .openFiles)
        try c.encode(limits.workspaceMB, forKey: .workspaceMB)
        try c.encode(limits.tmpMB, forKey: .tmpMB)
    }
}

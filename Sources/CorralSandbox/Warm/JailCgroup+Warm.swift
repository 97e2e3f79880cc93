import Glibc

extension JailCgroup {
    /// Memory the group holds now.
    func currentMemoryBytes() -> UInt64? {
        switch hierarchy {
        case .v2:
            guard let dir = directories["unified"] else { return nil }
            return Posix.readFile(dir + "/memory.current").flatMap { UInt64($0.trimmingWhitespace) }
        case .v1(let roots):
            guard let memory = roots["memory"] else { return nil }
            return Posix.readFile(memory + "/" + name + "/memory.usage_in_bytes").flatMap { UInt64($0.trimmingWhitespace) }
        case .unavailable:
            return nil
        }
    }

    /// CPU the group has used so far (the one counter a warm hand-off needs).
    func cpuNanoseconds() -> UInt64? {
        switch hierarchy {
        case .v2:
            guard let dir = directories["unified"], let text = Posix.readFile(dir + "/cpu.stat") else { return nil }
            for line in text.split(separator: "\n") where line.hasPrefix("usage_usec ") {
                return UInt64(line.dropFirst("usage_usec ".count)).map { $0 * 1000 }
            }
            return nil
        case .v1(let roots):
            guard let acct = roots["cpuacct"] else { return nil }
            return Posix.readFile(acct + "/" + name + "/cpuacct.usage").flatMap { UInt64($0.trimmingWhitespace) }
        case .unavailable:
            return nil
        }
    }

    /// Starts the peak-memory count afresh at what the group holds now, where the kernel allows it
    /// (v1; v2's `memory.peak` keeps the jail's whole life, which for a warm jail adds only the
    /// interpreter's start-up, which a cold run's peak includes too).
    /// Processes the group counts now (its pids controller's count: a process counts until it is
    /// reaped); nil without one.
    func processCount() -> Int? {
        let file: String
        switch hierarchy {
        case .v2:
            guard let dir = directories["unified"] else { return nil }
            file = dir + "/pids.current"
        case .v1(let roots):
            guard let pids = roots["pids"] else { return nil }
            file = pids + "/" + name + "/pids.current"
        case .unavailable:
            return nil
        }
        return Posix.readFile(file).flatMap { Int($0.trimmingWhitespace) }
    }

    func resetPeakMemory() {
        guard case .v1(let roots) = hierarchy, let memory = roots["memory"] else { return }
        try? Posix.writeFile(memory + "/" + name + "/memory.max_usage_in_bytes", "0")
    }
}

import CorralSandbox

extension SHA256 {
    /// A program's files as key fields, for every cache keyed by a program (compile, result):
    /// counted, sorted by path so that request order does not matter, each with its name
    /// (`{sources}` and includes see it), its bytes and its exec bit (a build or a program may
    /// run an executable file).
    public mutating func field(_ files: [JailFile]) {
        let sorted = files.sorted { $0.path < $1.path }
        field("files \(sorted.count)")
        for file in sorted {
            field(file.path)
            field(file.contents)
            field(file.executable ? "x" : "-")
        }
    }
}

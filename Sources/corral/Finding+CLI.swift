import CorralPolicy

extension Finding {
    /// `FILE:LINE:COLUMN: severity [category] message (rule)`, the way compilers print diagnostics.
    func cliLine(file: String) -> String {
        "\(file):\(line):\(column): \(severity.rawValue) [\(category.rawValue)] \(message) (\(rule))"
    }
}

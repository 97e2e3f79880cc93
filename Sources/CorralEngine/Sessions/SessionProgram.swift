import CorralRuntimes
import CorralSandbox
import Foundation

/// Code in a catalog language run as one command in a session: a bash wrapper writes the code (from
/// `CORRAL_CODE` in its environment) to a fresh directory of /tmp, compiles it there when the
/// language is compiled (its own `out` directory), and execs the language's run command.
struct SessionProgram {
    let language: Language
    let code: String

    /// The command: `/bin/bash -c WRAPPER corral-code DIR SOURCE-FILE`.
    var argv: [String] {
        let dir = "/tmp/.corral-code/\(UUID().uuidString.prefix(8).lowercased())"
        var sourceFile = language.sourceFile
        var mainClass = "Main"
        if language.entryPoint == .java {
            let entry = JavaEntryPoint(source: code)
            if let name = entry.publicType ?? entry.mainClass { sourceFile = name + ".java" }
            mainClass = entry.mainClass ?? entry.publicType ?? "Main"
        }
        let source = dir + "/" + sourceFile
        func expand(_ template: [String]) -> String {
            template.map { word in
                if word == "{sources}" { return Self.quote(source) }
                return Self.quote(word.replacingOccurrences(of: "{source}", with: source)
                    .replacingOccurrences(of: "{main_class}", with: mainClass)
                    .replacingOccurrences(of: "{out}", with: dir + "/out")
                    .replacingOccurrences(of: "{workspace}", with: JailSpec.workspacePath))
            }.joined(separator: " ")
        }
        var script = "mkdir -p \"$1/out\" && printf '%s' \"$CORRAL_CODE\" > \"$1/$2\" && unset CORRAL_CODE && "
        if let compile = language.compile { script += expand(compile) + " && " }
        script += "exec " + expand(language.run)
        return ["/bin/bash", "-c", script, "corral-code", dir, sourceFile]
    }

    /// One shell word, single-quoted.
    static func quote(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}

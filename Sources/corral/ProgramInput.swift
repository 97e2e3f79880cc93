import CorralRuntimes
import CorralSandbox
import Foundation

/// The program a CLI command was given: its main source, language name and other files.
/// Reading files is the front end's part; what they may hold is the engine's to check.
struct ProgramInput {
    var code: String
    var language: String
    var files: [JailFile] = []

    /// From `-c CODE`, a FILE, a directory or '-' (standard input); the language from `--lang`,
    /// else from the file's extension in `catalog`.
    static func read(code: String?, file: String?, language: String?, catalog: LanguageCatalog) throws -> ProgramInput {
        if let code {
            if file != nil { throw CLIFailure.usage("give the code either with -c or as a FILE, not both") }
            guard let language else { throw CLIFailure.usage("-c needs --lang to know the language") }
            return ProgramInput(code: code, language: language)
        }
        guard let file else { throw CLIFailure.usage("nothing to run: give a FILE, -c 'CODE', or '-' with --lang") }
        if file == "-" {
            guard let language else { throw CLIFailure.usage("code on standard input needs --lang") }
            return ProgramInput(code: String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self), language: language)
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
            throw CLIFailure.usage("no such file: \(file)")
        }
        if isDirectory.boolValue {
            guard let language else { throw CLIFailure.usage("running a directory needs --lang") }
            do { return ProgramInput(code: "", language: language, files: try ProgramDirectory.read(file)) } catch {
                throw CLIFailure.usage(error.description)
            }
        }
        guard let data = FileManager.default.contents(atPath: file) else { throw CLIFailure.usage("cannot read \(file)") }
        guard let name = language ?? catalog.language(forFile: file)?.name else {
            throw CLIFailure.usage("cannot tell the language of \(file) from its extension; use --lang")
        }
        return ProgramInput(code: String(decoding: data, as: UTF8.self), language: name)
    }
}

import CorralSandbox

/// Where a program starts: the name of its main source file and, for languages that run a class,
/// that class. Most languages fix both in the catalog (`source_file`); Java reads them from the
/// source (`entry_point: "java"`), since javac wants a public class in a file named after it and
/// programs from people and models use any name (`HelloWorld`, `Solution`).
struct ProgramEntry: Equatable {
    var sourceFile: String
    var mainClass: String
}

extension Runtime {
    /// The entry of `request`'s program: its main source is `request.code` (or, when that is empty,
    /// the extra file that holds the entry).
    func entryPoint(of request: RunRequest, language: Language) -> ProgramEntry {
        guard language.entryPoint == .java else { return ProgramEntry(sourceFile: language.sourceFile, mainClass: "Main") }
        if request.code.isEmpty {
            return entryPoint(files: request.extraFiles, language: language)
        }
        let main = JavaEntryPoint(source: request.code)
        let name = main.publicType ?? main.mainClass ?? Self.defaultClass(language)
        // A multi-file program may keep `main` in another file: look there when the main source has none.
        let others = request.extraFiles.filter { language.isSource($0.path) && $0.path != name + ".java" }
        let mainClass = main.mainClass ?? Self.mainClass(in: others) ?? name
        return ProgramEntry(sourceFile: name + ".java", mainClass: mainClass)
    }

    /// The entry among files already named (a multi-file program keeps its names).
    func entryPoint(files: [JailFile], language: Language) -> ProgramEntry {
        guard language.entryPoint == .java else { return ProgramEntry(sourceFile: language.sourceFile, mainClass: "Main") }
        let sources = files.filter { language.isSource($0.path) }
        // No `main` anywhere: run the main source's own class, and let java say what is missing.
        let mainClass = Self.mainClass(in: sources)
            ?? sources.first.flatMap { JavaEntryPoint(source: String(decoding: $0.contents, as: UTF8.self)).publicType }
            ?? Self.defaultClass(language)
        let mainFile = sources.first { JavaEntryPoint(source: String(decoding: $0.contents, as: UTF8.self)).mainClass == mainClass }
        return ProgramEntry(sourceFile: mainFile?.path ?? language.sourceFile, mainClass: mainClass)
    }

    private static func mainClass(in files: [JailFile]) -> String? {
        for file in files {  // in order: the main source comes first
            if let main = JavaEntryPoint(source: String(decoding: file.contents, as: UTF8.self)).mainClass { return main }
        }
        return nil
    }

    /// `Main` for `Main.java`: the catalog's file name without its extension.
    private static func defaultClass(_ language: Language) -> String {
        language.sourceFile.split(separator: ".").first.map(String.init) ?? "Main"
    }
}

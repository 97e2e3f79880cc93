// corral-bench: Corral's benchmarks. One section per file (`JailBench.swift`,
// …), each registered in `BenchSections.all`; `corral-bench SECTION [options]`
// runs one and prints a table, `--json PATH` also writes the report.
import Foundation
import Glibc

let exitCode = await BenchCommandLine.main(Array(CommandLine.arguments.dropFirst()))
exit(exitCode)

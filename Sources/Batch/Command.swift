import Basics
import Foundation

/// Running a batch system's command as an argument vector and reading its answer.
enum Command {
    /// Standard output of `program arguments`; a non-zero exit is a `BatchError` with the command and
    /// its error output on one line (its first lines, joined: Grid Engine says why on the second),
    /// unless `acceptingFailure` accepts that error output.
    ///
    /// The program is found on PATH (through `/usr/bin/env`) and gets no standard input.
    ///
    /// - Parameters:
    ///   - program: The command's name, e.g. `sbatch`.
    ///   - arguments: Its arguments, passed as they are (no shell).
    ///   - acceptingFailure: Given the error output of a failed run; true to return its standard output anyway.
    /// - Returns: The standard output, decoded as UTF-8.
    /// - Throws: `BatchError` when the program cannot be started or exits non-zero with an error output
    ///   that `acceptingFailure` does not accept; its message is the first three non-empty lines of the
    ///   error output, or the exit status.
    static func run(_ program: String, _ arguments: [String], acceptingFailure: (String) -> Bool = { _ in false }) throws -> String {
        logger.debug("run \(([program] + arguments).joined(separator: " "))")
        let run: ProgramRun
        do {
            run = try ProgramRun.run([program] + arguments)
        } catch {
            throw BatchError(command: program, message: "cannot start: \(error)")
        }
        let errors = run.stderr
        logger.debug("\(program): exit status \(run.status), \(run.output.count) bytes out, \(run.errors.count) bytes of errors")
        guard run.status == 0 || acceptingFailure(errors) else {
            let lines = errors.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let message = lines.isEmpty ? "exit status \(run.status)" : lines.prefix(3).joined(separator: "; ")
            throw BatchError(command: ([program] + arguments.prefix(3)).joined(separator: " "), message: message)
        }
        return run.stdout
    }
}

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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw BatchError(command: program, message: "cannot start: \(error)")
        }
        // Both pipes are read at once: a command that fills one while dcprod waits on the other
        // (64 KiB of errors before its output ends) would otherwise never finish.
        let errorOutput = PipeReader(err.fileHandleForReading)
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: errorOutput.wait(), as: UTF8.self)
        process.waitUntilExit()
        logger.debug("\(program): exit status \(process.terminationStatus), \(output.count) bytes out, \(errors.utf8.count) bytes of errors")
        guard process.terminationStatus == 0 || acceptingFailure(errors) else {
            let lines = errors.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let message = lines.isEmpty ? "exit status \(process.terminationStatus)" : lines.prefix(3).joined(separator: "; ")
            throw BatchError(command: ([program] + arguments.prefix(3)).joined(separator: " "), message: message)
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Reads a pipe to its end on a thread of its own.
private final class PipeReader: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var data = Data()

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    /// Everything the pipe gave, once its writer closed it.
    func wait() -> Data {
        done.wait()
        return data
    }
}

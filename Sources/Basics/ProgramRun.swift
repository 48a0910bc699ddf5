import Foundation

/// A program run to its end as an argument vector — never through a shell — with standard input from
/// /dev/null and both of its outputs read at once: a program that fills one pipe while its reader
/// waits on the other (64 KiB of errors before its output ends) would otherwise never finish.
public struct ProgramRun: Sendable {
    public var status: Int32
    public var output: Data
    public var errors: Data

    /// Standard output, decoded as UTF-8.
    public var stdout: String { String(decoding: output, as: UTF8.self) }
    /// Standard error, decoded as UTF-8.
    public var stderr: String { String(decoding: errors, as: UTF8.self) }

    /// Runs `arguments[0]`, found on PATH (through `/usr/bin/env`), with the other arguments.
    public static func run(_ arguments: [String]) throws -> ProgramRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        return try run(process)
    }

    /// Runs `process`, whose executable, arguments, directory and environment are set, to its end.
    ///
    /// - Throws: Foundation's error when the program cannot be started.
    public static func run(_ process: Process) throws -> ProgramRun {
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errors = PipeReader(err.fileHandleForReading)
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let errorData = errors.wait()
        process.waitUntilExit()
        return ProgramRun(status: process.terminationStatus, output: output, errors: errorData)
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

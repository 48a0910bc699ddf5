import Foundation

/// Writing a file so that readers see all of it or none: write `.NAME.tmp` beside it, then rename.
/// A write that fails removes its temporary file, and a full or read-only file system is thrown as a
/// `FileSystemProblem` naming the file.
public enum AtomicFile {
    /// Where `url` is written before it is renamed into place.
    public static func temporary(for url: URL) -> URL { URL(fileURLWithPath: temporary(for: url.path)) }

    /// Where `path` is written before it is renamed into place: `.NAME.tmp` in its directory.
    static func temporary(for path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        return String(path[..<slash]) + "." + path[slash...] + ".tmp"
    }

    /// Renames a finished temporary file onto `url`.
    public static func commit(_ temporary: URL, to url: URL) throws {
        guard rename(temporary.path, url.path) == 0 else { throw failure(url.path, needed: nil) }
    }

    /// Writes `url` through `body`, which writes the temporary file it is given (`.NAME.tmp` beside
    /// `url`, e.g. with cfitsio), then renames it into place. When `body` or the rename fails the
    /// temporary file is removed — a write that failed on a full disk must not keep it full — and a
    /// failure of the file system is thrown as a `FileSystemProblem` naming `url`, with `size`, the
    /// bytes the file was to hold (a best estimate), as what the write needed.
    public static func write(to url: URL, size: Int64, _ body: (URL) throws -> Void) throws {
        let temporary = temporary(for: url)
        do {
            try body(temporary)
            try commit(temporary, to: url)
        } catch {
            unlink(temporary.path)
            // An error that carries no errno (cfitsio's status alone) is judged by the file system itself.
            let writeFailed = FileSystemProblem.posixCode(of: error) != nil
            throw FileSystemProblem(error, path: url.path, needed: size)
                ?? (writeFailed ? FileSystemProblem.diagnose(path: url.path, needed: size) : nil) ?? error
        }
    }

    /// The error of a system call writing `path` that failed with errno `code`: a `FileSystemProblem`
    /// when it says the file system is full or read-only, else errno's words.
    private static func failure(_ path: String, needed: Int64?, code: Int32 = errno) -> Error {
        FileSystemProblem(errno: code, path: path, needed: needed) ?? SystemCallFailure(path: path, code: code)
    }

    public static func write(_ data: Data, to url: URL, mode: mode_t = 0o644) throws {
        try write(data, toPath: url.path, mode: mode)
    }

    /// Writes `data` to `url` as `write(_:to:mode:)` does, unless the file already holds exactly
    /// `data`: then it is left as it is (its inode and mtime too), so that a page or report that did
    /// not change is not written again at every pass of `dcprod run`.
    ///
    /// - Returns: True when the file was written.
    @discardableResult
    public static func replace(_ data: Data, at url: URL, mode: mode_t = 0o644) throws -> Bool {
        if let old = FileManager.default.contents(atPath: url.path), old == data { return false }
        try write(data, toPath: url.path, mode: mode)
        return true
    }

    /// `write(_:to:mode:)` on a path, with the system calls themselves: planning writes two files
    /// per job, and Foundation's URL and file machinery cost more than the writing.
    public static func write(_ data: Data, toPath path: String, mode: mode_t = 0o644) throws {
        let temporary = temporary(for: path)
        let needed = Int64(data.count)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure(path, needed: needed) }
        /// The failure of the call that just failed, once the temporary file is closed and removed.
        func removed(closing: Bool) -> Error {
            let code = errno
            if closing { close(fd) }
            unlink(temporary)
            return failure(path, needed: needed, code: code)
        }
        let written = data.withUnsafeBytes { bytes -> Bool in
            var offset = 0
            while offset < bytes.count {
                let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                offset += n
            }
            return true
        }
        // The umask may have taken bits off `mode`; the file gets it as asked.
        guard written, fchmod(fd, mode) == 0 else { throw removed(closing: true) }
        guard close(fd) == 0 else { throw removed(closing: false) }
        guard rename(temporary, path) == 0 else { throw removed(closing: false) }
    }
}

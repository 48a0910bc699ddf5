import Foundation

/// Writing a file so that readers see all of it or none: write `.NAME.tmp` beside it, then rename.
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
        guard rename(temporary.path, url.path) == 0 else { throw failure(url.path) }
    }

    /// The error of a system call on `path` that just failed, in `errno`'s words.
    private static func failure(_ path: String) -> CocoaError {
        CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: String(cString: strerror(errno))])
    }

    public static func write(_ data: Data, to url: URL, mode: mode_t = 0o644) throws {
        try write(data, toPath: url.path, mode: mode)
    }

    /// `write(_:to:mode:)` on a path, with the system calls themselves: planning writes two files
    /// per job, and Foundation's URL and file machinery cost more than the writing.
    public static func write(_ data: Data, toPath path: String, mode: mode_t = 0o644) throws {
        let temporary = temporary(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure(temporary) }
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
        guard written, fchmod(fd, mode) == 0 else {
            let error = failure(temporary)
            close(fd)
            unlink(temporary)
            throw error
        }
        guard close(fd) == 0 else { throw failure(temporary) }
        guard rename(temporary, path) == 0 else { throw failure(path) }
    }
}

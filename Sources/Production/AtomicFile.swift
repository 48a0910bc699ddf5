import Foundation

/// Writing a file so that readers see all of it or none: write `.NAME.tmp` beside it, then rename.
public enum AtomicFile {
    /// Where `url` is written before it is renamed into place.
    public static func temporary(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
    }

    /// Renames a finished temporary file onto `url`.
    public static func commit(_ temporary: URL, to url: URL) throws {
        guard rename(temporary.path, url.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path,
                                                           NSLocalizedDescriptionKey: String(cString: strerror(errno))])
        }
    }

    public static func write(_ data: Data, to url: URL, mode: mode_t = 0o644) throws {
        let temporary = temporary(for: url)
        try data.write(to: temporary)
        chmod(temporary.path, mode)
        try commit(temporary, to: url)
    }
}

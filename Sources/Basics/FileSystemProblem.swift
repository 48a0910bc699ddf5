import Foundation

/// A write that failed because of the file system, not the data: it is full, it is mounted read-only,
/// or the file (or the directory it is made in) is not this user's to write.
///
/// This is the one place where the system's errors become the user's words: errno (`init(errno:path:needed:)`),
/// Foundation's errors and cfitsio's (`init(_:path:needed:)`), SQLite's result codes
/// (`init(sqliteResultCode:path:needed:)`), and, where none says why, what the file system itself shows
/// (`diagnose(path:needed:)`). Each names the file, the file system's mount point, what the write needed
/// and what is free, and who owns the file.
public struct FileSystemProblem: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// No space left (ENOSPC, EDQUOT, SQLITE_FULL): the bytes the write needed (nil: not known)
        /// and those free.
        case full(needed: Int64?, free: Int64)
        /// The file system is mounted read-only (EROFS).
        case readOnlyFileSystem
        /// The file, or the directory it is made in, is not writable by `user` (EACCES, EPERM); `mode`
        /// is that file's or directory's, e.g. `0644`.
        case notWritable(user: String, mode: String)
    }

    public var kind: Kind
    /// The file that could not be written.
    public var path: String
    /// The mount point of the file system it is on.
    public var fileSystem: String
    /// The file whose owner is named: `path`, or for a file not made yet the nearest directory above it.
    public var ownedPath: String
    /// Who owns `ownedPath`: a user name, or `uid N` for a number the system does not name.
    public var owner: String

    public var description: String {
        let owned = ownedPath == path ? "the file belongs to \(owner)" : "\(ownedPath) belongs to \(owner)"
        switch kind {
        case .full(let needed?, let free):
            return "\(path): no space left on \(fileSystem) (needed \(Self.bytes(needed)), free \(Self.bytes(free)))"
        case .full(nil, let free):
            return "\(path): no space left on \(fileSystem) (needed more than the \(Self.bytes(free)) free)"
        case .readOnlyFileSystem:
            return "\(path): read-only: \(fileSystem) is mounted read-only (\(owned))"
        case .notWritable(let user, let mode):
            return "\(path): read-only for \(user): \(owned) (mode \(mode))"
        }
    }

    /// What to do about it: the line printed after the message.
    public var remedy: String {
        switch kind {
        case .full: "free space on \(fileSystem), then run the command again"
        case .readOnlyFileSystem: "remount \(fileSystem) read-write (or work on a copy where you can write), then run the command again"
        case .notWritable: "ask \(owner) to run it, or to give you write permission"
        }
    }

    /// The message and its remedy, as two lines.
    public var withRemedy: String { description + "\n" + remedy }

    /// A problem of `kind` on `path`, with the facts of its file system.
    init(_ kind: Kind, path: String) {
        self.kind = kind
        self.path = path
        fileSystem = FileSystemFacts.mountPoint(of: path)
        (ownedPath, owner, _) = FileSystemFacts.owner(of: path)
    }

    /// Bytes in words: `0 bytes`, `812 bytes`, `4.1 kB`, `190.1 kB`, `32.4 MB`, `1.2 GB` (powers of 1000).
    public static func bytes(_ count: Int64) -> String {
        guard count >= 1000 else { return "\(count) bytes" }
        var value = Double(count) / 1000
        for unit in ["kB", "MB", "GB", "TB"] {
            if value < 1000 || unit == "TB" { return String(format: "%.1f %@", value, unit) }
            value /= 1000
        }
        return "\(count) bytes"
    }
}

extension FileSystemProblem {
    /// The problem errno `code` says of writing `needed` bytes to `path`: ENOSPC and EDQUOT a full file
    /// system, EROFS a read-only one, EACCES and EPERM a file not writable; nil for any other errno.
    public init?(errno code: Int32, path: String, needed: Int64? = nil) {
        switch code {
        case ENOSPC, EDQUOT: self.init(.full(needed: needed, free: FileSystemFacts.freeBytes(at: path)), path: path)
        case EROFS: self.init(.readOnlyFileSystem, path: path)
        case EACCES, EPERM:
            let mode = FileSystemFacts.owner(of: path).mode
            self.init(.notWritable(user: FileSystemFacts.userName(geteuid()), mode: String(format: "%04o", mode & 0o7777)), path: path)
        default: return nil
        }
    }

    /// The problem `error` says of a write of `needed` bytes to `path` (default: the file the error
    /// names): a `FileSystemProblem` itself; a `POSIXError`; Foundation's error, by its code or its
    /// underlying POSIX error; an `ErrnoCarrying` error (cfitsio's, `AtomicFile`'s) by its errno. Nil for
    /// any other error, and for a permission refused on reading, which is not a write's problem.
    public init?(_ error: Error, path: String? = nil, needed: Int64? = nil) {
        if let problem = error as? FileSystemProblem {
            self = problem
            return
        }
        guard let (code, errorPath, writing) = Self.posixCode(of: error), writing || ![EACCES, EPERM].contains(code),
              let target = path ?? errorPath, let problem = FileSystemProblem(errno: code, path: target, needed: needed) else { return nil }
        self = problem
    }

    /// The errno an error stands for, the path it names and whether it was a write's: an
    /// `ErrnoCarrying` error's, a `POSIXError`'s, or a Foundation error's underlying POSIX error, else
    /// the errno of Foundation's write codes (out of space, read-only volume, no permission).
    static func posixCode(of error: Error) -> (code: Int32, path: String?, writing: Bool)? {
        if let carrying = error as? ErrnoCarrying { return carrying.systemErrno.map { ($0, carrying.path, true) } }
        if let posix = error as? POSIXError { return (posix.code.rawValue, nil, true) }
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return nil }
        let path = Self.path(of: ns)
        if ns.domain == NSPOSIXErrorDomain { return (Int32(ns.code), path, true) }
        // Foundation's codes: 256-259 reading, 512-642 writing.
        let writing = ns.code >= CocoaError.Code.fileWriteUnknown.rawValue
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return (Int32(underlying.code), path, writing)
        }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileWriteOutOfSpace: return (ENOSPC, path, true)
        case .fileWriteVolumeReadOnly: return (EROFS, path, true)
        case .fileWriteNoPermission: return (EACCES, path, true)
        default: return nil
        }
    }

    /// The file a Foundation error names (`NSFilePathErrorKey`, else `NSURLErrorKey`).
    static func path(of error: NSError) -> String? {
        (error.userInfo[NSFilePathErrorKey] as? String) ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
    }

    /// What the file system shows of a write of `needed` bytes to `path` that failed without saying
    /// why (SQLite's READONLY, CANTOPEN and IOERR; a cfitsio write error whose errno was lost): mounted
    /// read-only, the file or its directory not writable, or less space free than the write needed
    /// (64 KiB when `needed` is not known); nil when none holds.
    public static func diagnose(path: String, needed: Int64?) -> FileSystemProblem? {
        if let problem = unwritable(path) { return problem }
        let free = FileSystemFacts.freeBytes(at: path)
        guard free < (needed ?? 64 << 10) else { return nil }
        return FileSystemProblem(.full(needed: needed, free: free), path: path)
    }

    /// Why this user cannot write `path`: its file system is mounted read-only, or the file or the
    /// directory it is in (where files are made beside it: SQLite's -wal and -shm) is not writable —
    /// for a file not made yet, the nearest directory above it; nil when it can be written.
    public static func unwritable(_ path: String) -> FileSystemProblem? {
        let existing = FileSystemFacts.existingAncestor(of: path)
        if FileSystemFacts.isMountedReadOnly(existing) { return FileSystemProblem(errno: EROFS, path: path) }
        let targets = existing == path ? [path, (path as NSString).deletingLastPathComponent] : [existing]
        for target in targets where !target.isEmpty && access(target, W_OK) != 0 {
            if let problem = FileSystemProblem(errno: errno, path: path) { return problem }
        }
        return nil
    }

    /// SQLite's primary result code `code` of a write to the database `path`: SQLITE_FULL (13) is a full
    /// file system; SQLITE_READONLY (8), SQLITE_IOERR (10) and SQLITE_CANTOPEN (14) are what the file
    /// system shows (`diagnose`), since SQLite does not say which; nil for any other code, or when the
    /// file system shows nothing wrong.
    public init?(sqliteResultCode code: Int32, path: String, needed: Int64? = nil) {
        switch code {
        case 13: self.init(.full(needed: needed, free: FileSystemFacts.freeBytes(at: path)), path: path)
        case 8, 10, 14:
            guard let problem = Self.diagnose(path: path, needed: needed) else { return nil }
            self = problem
        default: return nil
        }
    }

    /// Runs `body`, a write to `path`, and throws what it throws as a `FileSystemProblem` where it is one.
    public static func translating<T>(path: String, needed: Int64? = nil, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw FileSystemProblem(error, path: path, needed: needed) ?? error
        }
    }

    /// Any error as a message says it: Foundation's and the system's in the user's words
    /// (`userWords(for:)`), dcprod's own as they describe themselves.
    public static func text(of error: Error) -> String {
        userWords(for: error) ?? "\(error)"
    }

    /// An error of Foundation's or the system's in the user's words — `PATH: what happened` — never
    /// Foundation's dump of an `NSError`; nil for an error that is neither (dcprod's own say it already).
    public static func userWords(for error: Error) -> String? {
        if let problem = FileSystemProblem(error) { return problem.withRemedy }
        if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return nil }
        let path = Self.path(of: ns)
        if CocoaError.Code(rawValue: ns.code) == .fileWriteUnknown, let path, let problem = diagnose(path: path, needed: nil) {
            return problem.withRemedy
        }
        let reason: String
        if let (code, _, _) = posixCode(of: error) {
            reason = String(cString: strerror(code))
        } else {
            reason = switch CocoaError.Code(rawValue: ns.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: "no such file or directory"
            case .fileReadNoPermission: "permission denied"
            case .fileReadCorruptFile: "not in the expected format"
            case .fileReadInapplicableStringEncoding: "not text in the expected encoding (UTF-8)"
            case .fileWriteFileExists: "already exists"
            case .fileReadUnknown: "cannot be read"
            case .fileWriteUnknown: "cannot be written"
            default: "failed (Foundation error \(ns.code))"
            }
        }
        return path.map { "\($0): \(reason)" } ?? reason
    }
}

/// An error of a write's system call that keeps its errno, so that `FileSystemProblem` can tell a full
/// or read-only file system from it: cfitsio's write errors, `AtomicFile`'s.
public protocol ErrnoCarrying: Error {
    /// The file concerned.
    var path: String { get }
    /// errno when a write to the file failed; nil when the failure was not a write's system call's.
    var systemErrno: Int32? { get }
}

/// A system call writing a file that failed for a reason other than the file system's state: the file
/// and errno's words.
public struct SystemCallFailure: ErrnoCarrying, CustomStringConvertible, Sendable {
    public var path: String
    public var code: Int32
    public var systemErrno: Int32? { code }
    public var description: String { "\(path): \(String(cString: strerror(code)))" }

    public init(path: String, code: Int32) {
        self.path = path
        self.code = code
    }
}

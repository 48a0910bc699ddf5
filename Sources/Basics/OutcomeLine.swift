/// One line of an outcome file (JSON Lines, version 1): a `start` line, one `event` line per event
/// the runner was given, an `end` line. Fields not used by a type are absent.
public struct OutcomeLine: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public enum Kind: String, Codable, Sendable { case start, event, end }

    public var type: Kind
    // start
    public var version: Int?
    public var job: String?
    public var attempt: Int?
    public var host: String?
    public var pid: Int32?
    public var time: String?
    // event
    public var event: String?
    public var status: String?
    public var `class`: String?
    public var message: String?
    public var seconds: Double?
    public var outputs: [String]?
    public var signal: Int32?
    // end (and event: the payload's exit code)
    public var exit: Int32?
    public var events: Int?
    /// end: the largest resident set of the job's payloads, in KiB (`getrusage(RUSAGE_CHILDREN)`): the
    /// peak memory of a job whose batch system keeps no accounting (the local backend).
    public var maxrss: Int?
    /// end: the CPU seconds, user and system, of the job's payloads (`getrusage(RUSAGE_CHILDREN)`): the
    /// CPU time of a job whose batch system keeps no accounting.
    public var cpu: Double?

    public init(type: Kind) { self.type = type }
}

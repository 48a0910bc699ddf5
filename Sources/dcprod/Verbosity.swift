import Logging
import Synchronization

/// The level of every library's logger (`dcprod.batch`, `dcprod.catalog`, …): warnings always, and
/// with `--verbose` what each verb does (debug). The logging system is bootstrapped once, before the
/// command line is parsed; its handler reads the level at each message, so that the flag, parsed
/// later, still turns it up.
enum Verbosity {
    static let debug = Atomic<Bool>(false)

    static func bootstrap() {
        LoggingSystem.bootstrap { label in Handler(stream: StreamLogHandler.standardError(label: label)) }
    }

    /// Swift-log's standard-error handler, at the level the flag chose.
    struct Handler: LogHandler {
        var stream: StreamLogHandler

        var logLevel: Logger.Level {
            get { Verbosity.debug.load(ordering: .relaxed) ? .debug : .warning }
            set {}
        }

        var metadata: Logger.Metadata {
            get { stream.metadata }
            set { stream.metadata = newValue }
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { stream[metadataKey: key] }
            set { stream[metadataKey: key] = newValue }
        }

        func log(event: LogEvent) {
            stream.log(event: event)
        }
    }
}

import Logging

/// What this library does, for `--verbose` (debug: the files it reads and writes, the commands it
/// runs); warnings always. dcprod bootstraps the logging system before any verb runs.
let logger = Logger(label: "dcprod.views")

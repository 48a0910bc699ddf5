import Basics
import Foundation
import Testing
@testable import Production

/// The five seed keys of DC2013's fichconfig.txt.
let seedConfig = """
    MAINDIR /sps/lsst/dev/lsstprod
    DCNAME DC_2013
    DATAMAIN /sps/lsst/data/dev/lsstprod
    DBHOST ccoratest03.in2p3.fr
    DBUSER lsst_prod
    """

@Suite struct ConfigParsing {
    /// Stripe 82 runs from RA −60 to 60: a REGION whose RAMIN is above its RAMAX runs through RA 0.
    @Test func aRegionThroughRAZeroWraps() throws {
        let config = try ConfigParser.parse(text: seedConfig + "\nREGION 359.5 0.5 -1.26 1.26\n", file: "fichconfig.txt")
        #expect(config.region.wrapsRA && config.region.description == "359.5 0.5 -1.26 1.26")
        #expect(config.region.contains(ra: 359.9, dec: 0) && config.region.contains(ra: 0.2, dec: 0) && config.region.contains(ra: -0.1, dec: 0))
        #expect(!config.region.contains(ra: 180, dec: 0) && !config.region.contains(ra: 0.6, dec: 0))
        let full = try ConfigParser.parse(text: seedConfig + "\nREGION 300 60 -1.26 1.26\n", file: "fichconfig.txt")
        #expect(full.region.contains(ra: 330, dec: 1) && full.region.contains(ra: 30, dec: -1) && !full.region.contains(ra: 90, dec: 0))
        #expect(try ConfigParser.parse(text: full.frozenText(preparedFrom: "f"), file: "production.conf").region == full.region)
    }

    /// An RA may be written in [−180, 180] as well: `-0.5 0.5` is the range through 0 `359.5 0.5`,
    /// `-60 60` Stripe 82 in full, and `-180 180` the whole turn; beyond both ranges it is refused.
    @Test func aRegionWrittenFromMinus180IsTurnedIntoOne() throws {
        func region(_ text: String) throws -> Region {
            try ConfigParser.parse(text: seedConfig + "\nREGION \(text)\n", file: "fichconfig.txt").region
        }
        let through = try region("-0.5 0.5 -1.26 1.26")
        #expect(through == Region(raMin: 359.5, raMax: 0.5, decMin: -1.26, decMax: 1.26) && through.wrapsRA)
        #expect(through.contains(ra: 359.9, dec: 0) && through.contains(ra: -0.1, dec: 0) && !through.contains(ra: 0.6, dec: 0))
        #expect(try region("-60 60 -1.26 1.26").description == "300 60 -1.26 1.26")
        #expect(try region("-180 180 -1 1") == Region(raMin: 0, raMax: 360, decMin: -1, decMax: 1))
        #expect(try region("-5 355 -1 1") == Region(raMin: 0, raMax: 360, decMin: -1, decMax: 1))
        #expect(try region("-10 -5 -1 1") == Region(raMin: 350, raMax: 355, decMin: -1, decMax: 1))
        #expect(try region("5 55 -1.26 1.26") == .stripe82)
        // Written back as it is kept, and read again the same.
        let config = try ConfigParser.parse(text: seedConfig + "\nREGION -0.5 0.5 -1.26 1.26\n", file: "fichconfig.txt")
        #expect(try ConfigParser.parse(text: config.frozenText(preparedFrom: "f"), file: "production.conf").region == through)
    }

    @Test func theFiveSeedKeysAreEnough() throws {
        let config = try ConfigParser.parse(text: seedConfig, file: "fichconfig.txt")
        #expect(config.treeRoot.path == "/sps/lsst/dev/lsstprod/DC_2013")
        #expect(config.dataRoot.path == "/sps/lsst/data/dev/lsstprod/DC_2013")
        #expect(config.input == "/sps/lsst/data/dev/lsstprod/DC_2013/input")
        #expect(config.filters == Filter.allCases)
        #expect(config.region == .stripe82)
        #expect(config.backend == .local)
        #expect(config.eventsPerJob[.processCcd] == 250)
        #expect(config.maxRetry == 2)
        #expect(config.dbName == "lsst_prod_DC_2013")
        #expect(config.dbUser == "lsst_prod")
        #expect(!config.usesEmbeddedCatalog)
    }

    /// CRLF line ends are line ends, with the right line numbers; a lone CR, a NUL or an escape in a
    /// line is refused with its file and line (it would reach a path or a batch script).
    @Test func crlfLinesAreLinesAndControlCharactersAreRefused() throws {
        let crlf = seedConfig.replacingOccurrences(of: "\n", with: "\r\n") + "\r\nQUEUE long\r\n"
        let config = try ConfigParser.parse(text: crlf, file: "fichconfig.txt")
        #expect(config.treeRoot.path == "/sps/lsst/dev/lsstprod/DC_2013" && config.queue == "long")
        let wrong = #expect(throws: ConfigError.self) {
            try ConfigParser.parse(text: seedConfig.replacingOccurrences(of: "\n", with: "\r\n") + "\r\nNOSUCHKEY 1\r\n", file: "f")
        }
        #expect(wrong?.line == 6)
        for (text, line) in [(seedConfig + "\nQUEUE long\rsrun rm -rf /\n", 6), (seedConfig + "\nQUEUE lo\u{0}ng\n", 6),
                             ("MAINDIR /sps/\u{1B}[2J/lsstprod\n" + seedConfig, 1)] {
            let error = #expect(throws: ConfigError.self) { try ConfigParser.parse(text: text, file: "f") }
            #expect(error?.line == line && error?.message.hasPrefix("control character U+") == true, "\(String(describing: error))")
        }
    }

    /// DBNAME and DBUSER reach SQL: a backtick, a quote or a `;` is refused at its line.
    @Test func namesThatReachSQLAreChecked() throws {
        for (line, words) in [("DBNAME lsst`; DROP DATABASE x; --", "DBNAME"), ("DBNAME a'b", "DBNAME"), ("DBUSER o'brien", "DBUSER"),
                              ("DBNAME " + String(repeating: "a", count: 61), "at most 60")] {
            let error = #expect(throws: ConfigError.self) {
                try ConfigParser.parse(text: seedConfig.replacingOccurrences(of: "DBUSER lsst_prod", with: "DBUSER lsst_prod\n" + line)
                                        .replacingOccurrences(of: "DBUSER lsst_prod\nDBUSER", with: "DBUSER"), file: "f")
            }
            #expect(error?.line == 5 || error?.line == 6, "\(line): \(String(describing: error))")
            #expect(error?.message.contains(words) == true, "\(String(describing: error))")
        }
        let dotted = try ConfigParser.parse(text: seedConfig.replacingOccurrences(of: "DCNAME DC_2013", with: "DCNAME DC.2013"), file: "f")
        #expect(dotted.dbName == "lsst_prod_DC_2013")
    }

    /// Text that is not UTF-8 is reported on the line where it is.
    @Test func invalidUTF8NamesItsLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dcprod-config-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try (Data((seedConfig + "\n").utf8) + Data([0x51, 0x55, 0x45, 0x55, 0x45, 0x20, 0xFF, 0xFE, 0x0A])).write(to: file)
        let error = #expect(throws: ConfigError.self) { try ConfigParser.parse(contentsOf: file.path) }
        #expect(error?.line == 6 && error?.message == "config file is not UTF-8 text")
    }

    @Test func commentsBlankLinesAndOptionalKeys() throws {
        let text = """
            # DC2013 at CC-IN2P3
            MAINDIR /data/lsstprod   # trailing comment

            DCNAME DC_2013
            DATAMAIN /data/lsstprod-data
            FILTERS gri
            REGION 6 7 -0.4 0.2
            BACKEND slurm
            QUEUE lsst
            WALLTIME processCcd 04:00:00
            MEMORY coadd 16g
            EVENTSPERJOB forcedPhot 100
            DIRECTIVE #SBATCH --licenses=sps
            DIRECTIVE -l os=cl7
            MAXRUNNING 500
            """
        let config = try ConfigParser.parse(text: text, file: "f.txt")
        #expect(config.filters == [.g, .r, .i])
        #expect(config.region == Region(raMin: 6, raMax: 7, decMin: -0.4, decMax: 0.2))
        #expect(config.backend == .slurm)
        #expect(config.queue == "lsst")
        #expect(config.memory[.coadd] == "16G")
        #expect(config.memory[.processCcd] == "4G")
        #expect(config.eventsPerJob[.forcedPhot] == 100)
        #expect(config.maxRunning == 500)
        #expect(config.usesEmbeddedCatalog)
        // A directive keeps the rest of its line, `#` included.
        #expect(config.directives == ["#SBATCH --licenses=sps", "-l os=cl7"])
    }

    @Test func frozenTextParsesBackToTheSameConfig() throws {
        let config = try ConfigParser.parse(text: seedConfig + "\nFILTERS r i\nQUEUE long\nDIRECTIVE #$ -P P_lsst\n", file: "f.txt")
        let again = try ConfigParser.parse(text: config.frozenText(preparedFrom: "f.txt"), file: "production.conf")
        #expect(again == config)
        #expect(config.differences(from: again).isEmpty)
    }

    @Test func differencesNameTheKeys() throws {
        let a = try ConfigParser.parse(text: seedConfig, file: "a")
        let b = try ConfigParser.parse(text: seedConfig + "\nBACKEND sge\nWALLTIME coadd 12:00:00\n", file: "b")
        let differences = b.differences(from: a)
        #expect(differences == ["BACKEND: local → sge", "WALLTIME coadd: 08:00:00 → 12:00:00"])
    }
}

/// A bad config: the text, the line the error must name, and words the message must hold.
struct BadConfig: CustomTestStringConvertible, Sendable {
    let name: String
    let text: String
    let line: Int
    let words: [String]
    var testDescription: String { name }
}

let base = """
    MAINDIR /data/lsstprod
    DCNAME DC_2013
    DATAMAIN /data/lsstprod-data
    """

let badConfigs: [BadConfig] = [
    BadConfig(name: "unknown key with a suggestion", text: base + "\nDBUSR lsst_prod", line: 4, words: ["unknown key 'DBUSR'", "did you mean DBUSER?"]),
    BadConfig(name: "unknown key in lower case", text: base + "\ndbhost localhost", line: 4, words: ["did you mean DBHOST?"]),
    BadConfig(name: "unknown key far from any", text: base + "\nCOLOUR blue", line: 4, words: ["unknown key 'COLOUR'"]),
    BadConfig(name: "duplicate key", text: base + "\nDCNAME DC_2014", line: 4, words: ["duplicate key DCNAME", "line 2"]),
    BadConfig(name: "duplicate per-step key", text: base + "\nWALLTIME coadd 01:00:00\nWALLTIME coadd 02:00:00", line: 5, words: ["duplicate key WALLTIME coadd", "line 4"]),
    BadConfig(name: "missing value", text: "MAINDIR /data\nDCNAME\nDATAMAIN /d", line: 2, words: ["DCNAME has no value"]),
    BadConfig(name: "relative MAINDIR", text: "MAINDIR data/lsstprod\nDCNAME DC\nDATAMAIN /d", line: 1, words: ["MAINDIR", "absolute path"]),
    BadConfig(name: "relative DATAMAIN", text: "MAINDIR /data\nDCNAME DC\nDATAMAIN ./d", line: 3, words: ["DATAMAIN", "absolute path"]),
    BadConfig(name: "relative INPUT", text: base + "\nINPUT frames", line: 4, words: ["INPUT", "absolute path"]),
    BadConfig(name: "missing required key", text: "DCNAME DC\nDATAMAIN /d", line: 2, words: ["required key MAINDIR is missing"]),
    BadConfig(name: "empty file", text: "", line: 1, words: ["required key MAINDIR is missing"]),
    BadConfig(name: "region of no RA", text: base + "\nREGION 5 5 -1.26 1.26", line: 4, words: ["impossible REGION", "RA minimum 5 and maximum 5 enclose no RA"]),
    BadConfig(name: "region Dec beyond the pole", text: base + "\nREGION 5 55 -1.26 91", line: 4, words: ["impossible REGION", "[-90, 90]"]),
    BadConfig(name: "region with three numbers", text: base + "\nREGION 5 55 -1.26", line: 4, words: ["four numbers", "got 3"]),
    BadConfig(name: "region not a number", text: base + "\nREGION 5 55 south 1.26", line: 4, words: ["'south' is not a number"]),
    BadConfig(name: "bad filter", text: base + "\nFILTERS g r y", line: 4, words: ["'y' is not a filter"]),
    BadConfig(name: "filter twice", text: base + "\nFILTERS g r g", line: 4, words: ["listed twice"]),
    BadConfig(name: "unknown backend", text: base + "\nBACKEND slrum", line: 4, words: ["BACKEND 'slrum'", "did you mean slurm?"]),
    BadConfig(name: "MAXRETRY not an integer", text: base + "\nMAXRETRY three", line: 4, words: ["MAXRETRY 'three'", "integer"]),
    BadConfig(name: "negative events per job", text: base + "\nEVENTSPERJOB processCcd -5", line: 4, words: ["EVENTSPERJOB processCcd '-5'"]),
    BadConfig(name: "unknown step", text: base + "\nWALLTIME procesCcd 01:00:00", line: 4, words: ["unknown step 'procesCcd'", "did you mean processCcd?"]),
    BadConfig(name: "bad walltime", text: base + "\nWALLTIME coadd 4h", line: 4, words: ["WALLTIME coadd '4h'", "HH:MM:SS"]),
    BadConfig(name: "bad memory", text: base + "\nMEMORY coadd lots", line: 4, words: ["MEMORY coadd 'lots'"]),
    BadConfig(name: "per-step key without a value", text: base + "\nMEMORY coadd", line: 4, words: ["MEMORY coadd has no value"]),
    BadConfig(name: "DCNAME with a slash", text: "MAINDIR /data\nDCNAME DC/2013\nDATAMAIN /d", line: 2, words: ["DCNAME 'DC/2013'"]),
    BadConfig(name: "two words for a one-word key", text: base + "\nDBHOST a b", line: 4, words: ["DBHOST takes one value"]),
    BadConfig(name: "a password in the config", text: base + "\nDBPASSWORD secret", line: 4, words: ["passwords never go in the config", "~/.my.cnf"]),
    BadConfig(name: "bad DBSPLIT", text: base + "\nDBSPLIT tract", line: 4, words: ["DBSPLIT 'tract'"]),
    BadConfig(name: "port out of range", text: base + "\nDBPORT 70000", line: 4, words: ["DBPORT '70000'", "1 to 65535"]),
    // Numbers whose arithmetic later would overflow (issue 23): each refused at its line, with its range.
    BadConfig(name: "events per job beyond any job", text: base + "\nEVENTSPERJOB coadd 9223372036854775807", line: 4,
              words: ["EVENTSPERJOB coadd '9223372036854775807'", "an integer from 1 to 100000"]),
    BadConfig(name: "a walltime of 10^14 days", text: base + "\nWALLTIME coadd 99999999999999-00:00:00", line: 4,
              words: ["WALLTIME coadd '99999999999999-00:00:00'", "at most 365 days"]),
    BadConfig(name: "a walltime of 400 days", text: base + "\nWALLTIME coadd 400-00:00:00", line: 4, words: ["at most 365 days"]),
    BadConfig(name: "a walltime of nothing", text: base + "\nWALLTIME coadd 00:00:00", line: 4, words: ["WALLTIME coadd '00:00:00'"]),
    BadConfig(name: "memory beyond any node", text: base + "\nMEMORY processCcd 99999999999999999999T", line: 4,
              words: ["MEMORY processCcd '99999999999999999999T'", "at most 64T"]),
    BadConfig(name: "memory of 65 TiB", text: base + "\nMEMORY processCcd 65T", line: 4, words: ["at most 64T"]),
    BadConfig(name: "MAXRETRY of 1e300", text: base + "\nMAXRETRY 1e300", line: 4, words: ["MAXRETRY '1e300'", "from 0 to 100"]),
    BadConfig(name: "MAXRETRY beyond Int", text: base + "\nMAXRETRY 99999999999999999999", line: 4, words: ["from 0 to 100"]),
    BadConfig(name: "negative MAXRUNNING", text: base + "\nMAXRUNNING -1", line: 4, words: ["MAXRUNNING '-1'", "from 0 to 10000000"]),
    BadConfig(name: "no connections", text: base + "\nDBCONNECTIONS 0", line: 4, words: ["DBCONNECTIONS '0'", "from 1 to 1000"]),
    BadConfig(name: "a port of -0", text: base + "\nDBPORT -0", line: 4, words: ["DBPORT '-0'", "1 to 65535"]),
    BadConfig(name: "REGION of 1e300", text: base + "\nREGION 1e300 55 -1.26 1.26", line: 4, words: ["impossible REGION", "[0, 360]"]),
    BadConfig(name: "REGION below -180", text: base + "\nREGION -200 55 -1.26 1.26", line: 4,
              words: ["impossible REGION: RA bounds must lie in [0, 360] degrees (or in [-180, 180])"]),
    BadConfig(name: "REGION of nan", text: base + "\nREGION nan 55 -1.26 1.26", line: 4, words: ["'nan' is not a number"]),
]

@Suite struct BadConfigs {
    @Test(arguments: badConfigs)
    func isRefusedWithFileAndLine(_ bad: BadConfig) {
        do {
            _ = try ConfigParser.parse(text: bad.text, file: "fichconfig.txt")
            Issue.record("\(bad.name): accepted")
        } catch let error as ConfigError {
            #expect(error.file == "fichconfig.txt")
            #expect(error.line == bad.line, "\(bad.name): \(error)")
            #expect(error.description.hasPrefix("fichconfig.txt:\(bad.line): "))
            for word in bad.words {
                #expect(error.message.contains(word), "\(bad.name): '\(error.message)' lacks '\(word)'")
            }
        } catch {
            Issue.record("\(bad.name): unexpected error \(error)")
        }
    }

    @Test func unreadableFileIsNamed() {
        #expect(throws: ConfigError.self) { try ConfigParser.parse(contentsOf: "/nonexistent/fichconfig.txt") }
        do {
            _ = try ConfigParser.parse(contentsOf: "/nonexistent/fichconfig.txt")
        } catch {
            #expect("\(error)".hasPrefix("/nonexistent/fichconfig.txt:0: config file does not exist"))
        }
    }

    /// `dcprod prepare` given a FIFO (a `<(...)` of the shell, say, read twice) waited for ever: it is refused unread.
    @Test func aFIFOIsRefusedUnread() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(UUID()).txt").path
        try #require(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        let error = #expect(throws: ConfigError.self) { try ConfigParser.parse(contentsOf: path) }
        #expect(error?.description == "\(path):0: config file is a FIFO, not a regular file; not read")
    }

    @Test func binaryFileIsRefused() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID()).txt")
        try Data([0x4D, 0x41, 0xFF, 0xFE, 0x00, 0x01]).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: ConfigError.self) { try ConfigParser.parse(contentsOf: url.path) }
    }
}

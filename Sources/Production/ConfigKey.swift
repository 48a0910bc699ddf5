/// Every key the config file knows, with its meaning and default: the one table that
/// the parser, the frozen `production.conf` and `dcprod keys` are made from.
public struct ConfigKey: Sendable {
    public enum Shape: Sendable {
        /// `KEY value`, at most once.
        case single
        /// `KEY STEP value`, at most once per step.
        case perStep
        /// `KEY value`, any number of times, kept in order.
        case repeated
    }

    public let name: String
    public let shape: Shape
    public let required: Bool
    public let summary: String
    /// The default as a user reads it; empty for required keys.
    public let defaultText: String

    public static let all: [ConfigKey] = [
        ConfigKey(name: "MAINDIR", shape: .single, required: true,
                  summary: "absolute directory under which the production tree DCNAME is made", defaultText: ""),
        ConfigKey(name: "DCNAME", shape: .single, required: true,
                  summary: "name of the data challenge (letters, digits, _ . -)", defaultText: ""),
        ConfigKey(name: "DATAMAIN", shape: .single, required: true,
                  summary: "absolute directory under which the data tree DCNAME is made", defaultText: ""),
        ConfigKey(name: "DBHOST", shape: .single, required: false,
                  summary: "catalog server host, or `sqlite` for the embedded catalog", defaultText: "sqlite"),
        ConfigKey(name: "DBUSER", shape: .single, required: false,
                  summary: "catalog user (the password comes from ~/.my.cnf or MYSQL_PWD, never from here)",
                  defaultText: "the login name"),
        ConfigKey(name: "DBPORT", shape: .single, required: false,
                  summary: "catalog server TCP port", defaultText: "3306"),
        ConfigKey(name: "DBNAME", shape: .single, required: false,
                  summary: "catalog database name", defaultText: "lsst_prod_DCNAME"),
        ConfigKey(name: "DBSPLIT", shape: .single, required: false,
                  summary: "`none`, or `filter` for one database per filter behind one view", defaultText: "none"),
        ConfigKey(name: "DBCONNECTIONS", shape: .single, required: false,
                  summary: "most catalog connections the manager opens at once", defaultText: "4"),
        ConfigKey(name: "INPUT", shape: .single, required: false,
                  summary: "absolute directory searched for input frames", defaultText: "DATAMAIN/DCNAME/input"),
        ConfigKey(name: "REFCAT", shape: .single, required: false,
                  summary: "absolute path of the reference catalog used by processCcd", defaultText: "INPUT/refcat.csv"),
        ConfigKey(name: "FILTERS", shape: .single, required: false,
                  summary: "filters to process, e.g. `u g r i z` or `gri`", defaultText: "u g r i z"),
        ConfigKey(name: "REGION", shape: .single, required: false,
                  summary: "RAMIN RAMAX DECMIN DECMAX in degrees, RA in [0, 360] or from -180 (RAMIN above RAMAX: through RA 0, e.g. 300 60 or -60 60); a frame is kept when its centre is inside",
                  defaultText: "5 55 -1.26 1.26"),
        ConfigKey(name: "BACKEND", shape: .single, required: false,
                  summary: "batch system: `local`, `slurm` or `sge`", defaultText: "local"),
        ConfigKey(name: "QUEUE", shape: .single, required: false,
                  summary: "batch queue or partition", defaultText: "the batch system's default"),
        ConfigKey(name: "PROJECT", shape: .single, required: false,
                  summary: "batch project or account (`-P P_lsst` style)", defaultText: "none"),
        ConfigKey(name: "WALLTIME", shape: .perStep, required: false,
                  summary: "walltime per job of a step, HH:MM:SS or D-HH:MM:SS",
                  defaultText: "processCcd 04:00:00, coadd 08:00:00, forcedPhot 04:00:00"),
        ConfigKey(name: "MEMORY", shape: .perStep, required: false,
                  summary: "memory per job of a step, e.g. 4G or 512M",
                  defaultText: "processCcd 4G, coadd 8G, forcedPhot 4G"),
        ConfigKey(name: "EVENTSPERJOB", shape: .perStep, required: false,
                  summary: "events per job of a step",
                  defaultText: "processCcd 250, coadd 10, forcedPhot 150"),
        ConfigKey(name: "DIRECTIVE", shape: .repeated, required: false,
                  summary: "an extra batch directive line, copied into every batch script; its value is the rest of the line, `#` included", defaultText: "none"),
        ConfigKey(name: "MAXRETRY", shape: .single, required: false,
                  summary: "attempts after the first for a retryable failure", defaultText: "2"),
        ConfigKey(name: "MAXRUNNING", shape: .single, required: false,
                  summary: "most tasks of the production running at once; 0 = no limit (local: one per core)",
                  defaultText: "0"),
    ]

    public static func named(_ name: String) -> ConfigKey? { all.first { $0.name == name } }

    /// Keys that look like a place for a password; refused with an explanation.
    static let passwordLike = ["DBPASS", "DBPASSWORD", "DBPASSWD", "PASSWORD", "PASSWD", "DBPWD", "PWD"]
}

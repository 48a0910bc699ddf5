import Foundation
import Testing

/// A production on the local backend around the seed's patch `0-380,5`, with the embedded catalog:
/// prepared, simulated (1024×744 frames of 0.8″, every epoch on the same pointing) and inventoried.
enum SeedPatch {
    static let region = "6.25 6.53 -0.24 0.03"

    /// The demo's sky: patch `0-380,5` and its eight neighbours.
    static let neighbourhood = "6.06 6.72 -0.42 0.21"

    static func prepare(_ work: Workspace, filters: String, frames: Int, seed: Int, defects: Double, extra: String,
                        region: String = region, simulate: [String] = []) throws {
        try work.write(work.seedConfig.replacingOccurrences(of: "DBHOST 127.0.0.1\nDBUSER lsst_prod", with: "") + """

            REGION \(region)
            FILTERS \(filters)
            \(extra)
            """, to: "fichconfig.txt")
        for arguments in [["prepare", "fichconfig.txt"],
                          ["pipe", "simulate", "--frames", String(frames), "--seed", String(seed), "--defects", String(defects),
                           "--size", "1024x744", "--pixel-scale", "0.8", "--filters", filters.replacingOccurrences(of: " ", with: ""),
                           "--region", region] + simulate + ["\(work.url.path)/lsstprod-data/DC_2013/input"],
                          // An INPUT of the config's own may be filled later: empty is then allowed.
                          ["inventory"] + (extra.contains("INPUT ") ? ["--allow-empty"] : [])] {
            let result = try DCProd.run(arguments, in: work.url)
            try #require(result.status == 0, "\(arguments): \(result.stderr)")
        }
    }
}

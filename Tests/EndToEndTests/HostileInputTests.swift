import Foundation
import Testing

/// What careless operators do to a production, and what dcprod makes of it (issue 13).
@Suite struct HostileInput {
    /// A state store deleted, emptied or overwritten is one error naming it, and nothing is written:
    /// recreating it empty would lose the history and reuse the old jobs' names and outcome files.
    @Test func aLostStateStoreIsAnErrorAndIsNeverRecreated() throws {
        let work = try Workspace()
        try work.write(work.seedConfig + "\nREGION 6 7 -0.4 0.2\n", to: "fichconfig.txt")
        try #require(try DCProd.run(["prepare", "fichconfig.txt"], in: work.url).status == 0)
        let store = work.url.appendingPathComponent("lsstprod/DC_2013/state.sqlite")
        let fm = FileManager.default
        for (damage, words) in [("deleted", "the state store is missing"), ("emptied", "the state store is empty"),
                                ("overwritten", "the state store cannot be read")] {
            try? fm.removeItem(at: store)
            for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: store.path + suffix) }
            switch damage {
            case "emptied": try Data().write(to: store)
            case "overwritten": try Data(repeating: 0x41, count: 8192).write(to: store)
            default: break
            }
            for verb in [["status"], ["inventory"], ["plan", "processCcd"]] {
                let result = try DCProd.run(verb, in: work.url)
                #expect(result.status == 1, "\(damage), \(verb): \(result.stdout)")
                #expect(result.stderr.contains(store.path) && result.stderr.contains(words) && result.stderr.contains("restore it from a backup"),
                        "\(damage), \(verb): \(result.stderr)")
            }
            let size = (try? fm.attributesOfItem(atPath: store.path)[.size] as? Int) ?? nil
            #expect(size == ["deleted": nil, "emptied": 0, "overwritten": 8192][damage]!, "\(damage): the store was written")
        }
    }
}

import Basics
import Foundation
import GRDB
import Planning
import Production
import Simulation
import Sky
import Testing

@Suite("inventory")
struct InventoryTests {
    @Test("inventory of a simulation is its truth; reruns add only new frames")
    func inventoryEqualsTruth() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("input")
            let options = smallOptions(input, frames: 60, seed: 7, defects: 0.2)
            try simulate(options)
            let truth = try readTruth(input)
            #expect(truth.count == 60)
            let production = try prepareProduction(root: root, input: input, region: options.region)
            let config = production.config
            #expect(config.input == input.path)
            func path(_ row: TruthRow) -> String { (config.input as NSString).appendingPathComponent(row.file) }

            let events = truth.filter { $0.inventory == "event" }
            let failures = truth.filter { $0.inventory == "failure" }
            let absent = truth.filter { $0.inventory == "absent" }
            // Twelve defects, three of each kind; only corrupted headers are inventory failures.
            #expect(failures.count == 3 && failures.allSatisfy { $0.defect == "corrupted-header" })
            #expect(events.count + failures.count + absent.count == 60)
            #expect(events.count >= 54)

            let summary = try Inventory(config: config, store: production.store).run()
            #expect(summary.candidates == events.count + failures.count)
            #expect(summary.alreadyKnown == 0)
            #expect(summary.newEventCount == events.count)
            #expect(summary.failures == ["unreadable file": failures.count])
            #expect(summary.skips.isEmpty)
            var perFilter: [Filter: Int] = [:]
            for row in events { perFilter[Filter(rawValue: row.filter)!, default: 0] += 1 }
            #expect(summary.newEvents == perFilter)

            // The state store: one processCcd event per good frame, keyed RRRRRR-C-FFFF.
            let stored = try storedEvents(production.store)
            let expected = events.map { row -> StoredEvent in
                let name = row.name!
                return StoredEvent(step: "processCcd", filter: row.filter, key: name.eventKey, state: "new", path: path(row))
            }
            #expect(Set(stored) == Set(expected))
            #expect(stored.count == expected.count)
            #expect(try storedEventCount(production.store) == events.count)
            let rejected = try production.store.inventoryFailures()
            #expect(Set(rejected.map(\.path)) == Set(failures.map(path)))
            #expect(rejected.allSatisfy { $0.reason == "unreadable file" && $0.kind == .failure })
            let status = try production.store.status(production: config.dcName, tree: production.tree.root.path)
            #expect(status.frames == events.count)
            #expect(status.events.reduce(0) { $0 + $1.count } == events.count)
            #expect(status.rejections.map { "\($0.kind) \($0.reason) \($0.count)" } == ["failure unreadable file \(failures.count)"])

            // A rerun reads nothing again and adds nothing.
            let again = try Inventory(config: config, store: production.store).run()
            #expect(again.candidates == summary.candidates)
            #expect(again.alreadyKnown == summary.candidates)
            #expect(again.newEventCount == 0 && again.failureCount == 0 && again.skipCount == 0)
            #expect(Set(try storedEvents(production.store)) == Set(expected))

            // More frames: simulated with a larger --frames (same seed and defects) aside, and
            // the frames the first simulation did not plan brought into INPUT. (Simulating into
            // INPUT itself would also redraw the defects of the first 60 frames: see
            // SimulationTests.extensionKeepsDefects.)
            let more = root.appendingPathComponent("more")
            try simulate(smallOptions(more, frames: 90, seed: 7, defects: 0.2))
            let truthMore = try readTruth(more)
            #expect(truthMore.prefix(60).map(\.file) == truth.map(\.file))
            let newRows = Array(truthMore.dropFirst(60))
            #expect(newRows.count == 30)
            for row in newRows where row.inventory != "absent" {
                try copyFile(more.appendingPathComponent(row.file), to: input.appendingPathComponent(row.file))
            }
            let newEvents = newRows.filter { $0.inventory == "event" }
            let newFailures = newRows.filter { $0.inventory == "failure" }
            let third = try Inventory(config: config, store: production.store).run()
            #expect(third.candidates == summary.candidates + newEvents.count + newFailures.count)
            #expect(third.alreadyKnown == summary.candidates)
            #expect(third.newEventCount == newEvents.count)
            #expect(third.failures == (newFailures.isEmpty ? [:] : ["unreadable file": newFailures.count]))
            #expect(third.skips.isEmpty)
            let after = Set(try storedEvents(production.store))
            let added = after.subtracting(expected)
            #expect(Set(added.map(\.path)) == Set(newEvents.map(path)))
            #expect(after.isSuperset(of: expected))
        }
    }

    @Test("simulating more frames into INPUT: the rerun adds only the new ones")
    func extensionInPlace() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("input")
            try simulate(smallOptions(input, frames: 20, defects: 0))
            let production = try prepareProduction(root: root, input: input, region: smallRegion)
            let first = try Inventory(config: production.config, store: production.store).run()
            #expect(first.newEventCount == 20 && first.candidates == 20)
            let before = Set(try storedEvents(production.store))

            try simulate(smallOptions(input, frames: 35, defects: 0))
            let truth = try readTruth(input)
            let second = try Inventory(config: production.config, store: production.store).run()
            #expect(second.candidates == 35)
            #expect(second.alreadyKnown == 20)
            #expect(second.newEventCount == 15)
            #expect(second.failureCount == 0 && second.skipCount == 0)
            let after = Set(try storedEvents(production.store))
            #expect(after.isSuperset(of: before))
            #expect(Set(after.subtracting(before).map(\.key)) == Set(truth.dropFirst(20).compactMap { $0.name?.eventKey }))
            #expect(after.count == 35)
        }
    }

    @Test("FILTERS and REGION cut: events only for the selected filters inside the region")
    func regionAndFilterCut() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("input")
            let options = smallOptions(input, frames: 30, defects: 0)
            try simulate(options)
            // Six pointings, one per strip across Dec: keep the three southern strips.
            let layout = SurveyLayout(region: options.region, width: options.width, height: options.height,
                                      scale: options.pixelScale / 3600)
            let pointings = (0..<6).map { layout.pointing($0) }
            let decs = pointings.map(\.center.dec).sorted()
            #expect(Set(decs).count == 6)
            let cut = (decs[2] + decs[3]) / 2
            let region = Region(raMin: options.region.raMin, raMax: options.region.raMax,
                                decMin: options.region.decMin, decMax: cut)
            let production = try prepareProduction(root: root, input: input, region: region, filters: "g r")
            #expect(production.config.filters == [.g, .r])
            #expect(production.config.region == region)

            let summary = try Inventory(config: production.config, store: production.store).run()
            let inside = pointings.filter { $0.center.dec < cut }
            #expect(inside.count == 3)
            #expect(summary.candidates == 30)
            #expect(summary.newEvents == [.g: 3, .r: 3])
            #expect(summary.failures.isEmpty)
            #expect(summary.skips == ["filter not selected": 18, "outside region": 6])

            let events = try storedEvents(production.store)
            #expect(Set(events.map(\.filter)) == ["g", "r"])
            let expectedKeys = Set(inside.map {
                FrameName(run: $0.run, filter: .g, camcol: $0.camcol, field: $0.field).eventKey
            })
            #expect(Set(events.filter { $0.filter == "g" }.map(\.key)) == expectedKeys)
            #expect(Set(events.filter { $0.filter == "r" }.map(\.key)) == expectedKeys)

            let rejections = try storedRejections(production.store)
            #expect(rejections.count == 24)
            #expect(rejections.allSatisfy { $0.kind == "skip" })
            for rejection in rejections {
                let name = try #require(FrameName(fileName: (rejection.path as NSString).lastPathComponent))
                if [.g, .r].contains(name.filter) {
                    #expect(rejection.reason == "outside region", "\(rejection.path): \(rejection.reason)")
                    #expect(rejection.message.contains("outside REGION"))
                    #expect(!expectedKeys.contains(name.eventKey))
                } else {
                    #expect(rejection.reason == "filter not selected", "\(rejection.path): \(rejection.reason)")
                }
            }
            let status = try production.store.status(production: production.config.dcName, tree: production.tree.root.path)
            #expect(status.rejections.map(\.kind) == ["skip", "skip"])
            #expect(Dictionary(uniqueKeysWithValues: status.rejections.map { ($0.reason, $0.count) })
                    == ["filter not selected": 18, "outside region": 6])

            // Skipped files are remembered: a rerun reads none of them again.
            let again = try Inventory(config: production.config, store: production.store).run()
            #expect(again.alreadyKnown == 30 && again.newEventCount == 0 && again.skipCount == 0)
        }
    }

    @Test("an inconsistent or duplicate frame is a failure; the other frames go on")
    func inconsistentFrame() throws {
        // A method, not a closure body: Swift 6.3.1's SendNonSendable pass crashes on
        // `let g = try #require(xs.first { ... })` inside a closure when `g` is captured later.
        try withTemporaryDirectory { try inconsistentFrame(root: $0) }
    }

    private func inconsistentFrame(root: URL) throws {
        let (simulated, names) = try simulatedFrames(root, count: 10)
        #expect(names.count == 10)
        let input = root.appendingPathComponent("input")
        let g = try #require(names.first { $0.filter == .g })
        let r = try #require(names.first { $0.filter == .r && $0.field == g.field && $0.camcol == g.camcol && $0.run == g.run })
        let i = try #require(names.first { $0.filter == .i && $0.run == g.run })
        let z = try #require(names.last { $0.filter == .z })

        // Every frame but g under its own name; the r frame also under the g name; the i
        // frame also under another field's name; a second copy of z in another directory.
        for name in names where name != g {
            try copyFile(simulated.appendingPathComponent(relative(name)), to: input.appendingPathComponent(relative(name)))
        }
        try copyFile(simulated.appendingPathComponent(relative(r)), to: input.appendingPathComponent(relative(g)))
        let otherField = FrameName(run: i.run, filter: i.filter, camcol: i.camcol, field: i.field + 100)
        try copyFile(simulated.appendingPathComponent(relative(i)), to: input.appendingPathComponent(relative(otherField)))
        try copyFile(simulated.appendingPathComponent(relative(z)),
                     to: input.appendingPathComponent("zz-copies").appendingPathComponent(z.description))

        let production = try prepareProduction(root: root, input: input, region: smallRegion)
        let summary = try Inventory(config: production.config, store: production.store).run()
        #expect(summary.candidates == 12)
        #expect(summary.newEventCount == 9)
        #expect(summary.failures == ["inconsistent header": 2, "duplicate frame": 1])

        let failures = try production.store.inventoryFailures()
        let byPath = Dictionary(uniqueKeysWithValues: failures.map { ($0.path, $0) })
        let gPath = input.appendingPathComponent(relative(g)).path
        let fieldPath = input.appendingPathComponent(relative(otherField)).path
        let copyPath = input.appendingPathComponent("zz-copies").appendingPathComponent(z.description).path
        #expect(Set(byPath.keys) == [gPath, fieldPath, copyPath])
        #expect(byPath[gPath]?.reason == "inconsistent header")
        #expect(byPath[gPath]?.message.contains("FILTER = 'r' but the name says g") == true, "\(byPath[gPath]?.message ?? "")")
        #expect(byPath[fieldPath]?.reason == "inconsistent header")
        #expect(byPath[fieldPath]?.message.contains("FIELD = \(i.field) but the name says \(otherField.field)") == true,
                "\(byPath[fieldPath]?.message ?? "")")
        #expect(byPath[copyPath]?.reason == "duplicate frame")

        // The other frames are events, each under its own key and filter.
        let events = try storedEvents(production.store)
        let expected = Set(names.filter { $0 != g }.map { "\($0.filter.rawValue) \($0.eventKey)" })
        #expect(Set(events.map { "\($0.filter) \($0.key)" }) == expected)
        #expect(!events.contains { $0.path == gPath || $0.path == fieldPath || $0.path == copyPath })

        // Fixed (the right g frame put in place, a new modification time): the next run
        // reads it again and makes its event; the unchanged failures stay as they are.
        try copyFile(simulated.appendingPathComponent(relative(g)), to: URL(fileURLWithPath: gPath))
        let attributes = try FileManager.default.attributesOfItem(atPath: gPath)
        let modified = try #require(attributes[.modificationDate] as? Date)
        try FileManager.default.setAttributes([.modificationDate: modified.addingTimeInterval(10)], ofItemAtPath: gPath)
        let again = try Inventory(config: production.config, store: production.store).run()
        #expect(again.candidates == 12)
        #expect(again.alreadyKnown == 11)
        #expect(again.newEvents == [.g: 1])
        #expect(again.failureCount == 0)
        #expect(Set(try production.store.inventoryFailures().map(\.path)) == [fieldPath, copyPath])
        #expect(try storedEvents(production.store).contains { $0.path == gPath && $0.filter == "g" && $0.key == g.eventKey })
    }
}

extension InventoryTests {
    @Test("a truncated (plain or gzip), impossible or NaN-WCS frame is a failure with its reason, and no event")
    func damagedFrames() throws {
        try withTemporaryDirectory { try damagedFrames(root: $0) }
    }

    /// The value field of `key`'s header card set to `value`.
    private func setCard(_ key: String, _ value: String, in bytes: inout [UInt8]) {
        let name = Array(key.padding(toLength: 8, withPad: " ", startingAt: 0).utf8)
        for offset in stride(from: 0, to: 2880 * 2, by: 80) where Array(bytes[offset..<(offset + 8)]) == name {
            bytes.replaceSubrange((offset + 10)..<(offset + 30), with: Array(value.padding(toLength: 20, withPad: " ", startingAt: 0).utf8))
            return
        }
    }

    private func damagedFrames(root: URL) throws {
        let (simulated, names) = try simulatedFrames(root, count: 5)
        try #require(names.count == 5)
        let input = root.appendingPathComponent("input")
        var damaged: [String: String] = [:]
        for (index, name) in names.enumerated() {
            let source = simulated.appendingPathComponent(relative(name))
            var bytes = Array(try Data(contentsOf: source))
            let target = input.appendingPathComponent(relative(name))
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            switch index {
            case 0: bytes = Array(bytes.prefix(bytes.count / 2)); damaged[target.path] = "truncated"
            case 1: bytes = Array(bytes.prefix(2880)); damaged[target.path] = "truncated"
            case 2: setCard("NAXIS1", "1000000000", in: &bytes); damaged[target.path] = "impossible size"
            case 3: setCard("CRVAL1", "'NaN'", in: &bytes); damaged[target.path] = "broken WCS"
            default: break
            }
            if index == 4 {
                // A gzip frame cut in the middle of its compressed stream.
                let gzip = Process()
                gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
                gzip.arguments = ["-c", source.path]
                let pipe = Pipe()
                gzip.standardOutput = pipe
                try gzip.run()
                let compressed = pipe.fileHandleForReading.readDataToEndOfFile()
                gzip.waitUntilExit()
                let gz = URL(fileURLWithPath: target.path + ".gz")
                try Data(compressed.prefix(compressed.count / 2)).write(to: gz)
                // cfitsio inflates what it can: the data then falls short of the header's sizes.
                damaged[gz.path] = "truncated"
            } else {
                try Data(bytes).write(to: target)
            }
        }
        let production = try prepareProduction(root: root, input: input, region: smallRegion)
        let summary = try Inventory(config: production.config, store: production.store).run()
        #expect(summary.newEventCount == 0, "\(summary.line)")
        #expect(summary.failures == ["truncated": 3, "impossible size": 1, "broken WCS": 1], "\(summary.failures)")
        let failures = try production.store.inventoryFailures()
        #expect(Dictionary(uniqueKeysWithValues: failures.map { ($0.path, $0.reason) }) == damaged)
        #expect(failures.first { $0.reason == "broken WCS" }?.message.contains("CRVAL1") == true)
    }
}

/// `count` frames simulated without defects under `root/simulated`: the directory and their names.
private func simulatedFrames(_ root: URL, count: Int) throws -> (directory: URL, names: [FrameName]) {
    let directory = root.appendingPathComponent("simulated")
    try simulate(smallOptions(directory, frames: count, defects: 0))
    return (directory, try readTruth(directory).compactMap(\.name))
}

/// Where a simulation puts a frame, relative to its directory: RUN/CAMCOL/NAME.
private func relative(_ name: FrameName) -> String { "\(name.run)/\(name.camcol)/\(name.description)" }

extension InventoryTests {
    @Test("frames read on every core: each refused frame has the message it has when read alone")
    func messagesOnEveryCore() throws {
        try withTemporaryDirectory { try messagesOnEveryCore(root: $0) }
    }

    private func messagesOnEveryCore(root: URL) throws {
        let (simulated, names) = try simulatedFrames(root, count: 10)
        try #require(names.count == 10)
        let input = root.appendingPathComponent("input")
        for name in names {
            try copyFile(simulated.appendingPathComponent(relative(name)), to: input.appendingPathComponent(relative(name)))
        }
        // Sixty refused files among the good ones, four kinds of damage that cfitsio or dcprod
        // reports each in its own words, under the names of fields that were never simulated.
        var refused: [String: FrameName] = [:]
        for k in 0..<60 {
            let base = names[k % names.count]
            let name = FrameName(run: base.run, filter: base.filter, camcol: base.camcol, field: base.field + 100 + k)
            let bytes = Array(try Data(contentsOf: simulated.appendingPathComponent(relative(base))))
            let damaged: [UInt8] = switch k % 4 {
            case 0: Array(bytes.prefix(1000))
            case 1: Array("not a FITS file\n".utf8)
            case 2: []
            default: Array(bytes.prefix(2880 + 100))
            }
            let target = input.appendingPathComponent(relative(name))
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(damaged).write(to: target)
            refused[target.path] = name
        }
        let production = try prepareProduction(root: root, input: input, region: smallRegion)
        let summary = try Inventory(config: production.config, store: production.store).run()
        #expect(summary.newEventCount == 10)
        #expect(summary.failureCount == 60)
        let failures = try production.store.inventoryFailures()
        #expect(Set(failures.map(\.path)) == Set(refused.keys))
        for failure in failures {
            let name = try #require(refused[failure.path])
            do {
                _ = try FrameHeader.read(path: failure.path, name: name)
                Issue.record("\(failure.path) was refused but reads alone")
            } catch {
                #expect(failure.message == error.message, "\(failure.path)")
                #expect(failure.reason == error.reason.rawValue, "\(failure.path)")
            }
        }
    }

    @Test("the walk gives paths in order, lists links without following them, follows a linked INPUT, keeps Foundation's mtimes")
    func walk() throws {
        try withTemporaryDirectory { root in
            let data = root.appendingPathComponent("data")
            // Directories whose names sort differently with and without the `/` after them ("a" and
            // "a.b", "a-b"): the walk must give the order of the whole paths.
            let files = ["fpC-000094-g1-0011.fit", "a/fpC-000094-r1-0011.fit", "a/b/fpC-000094-i1-0011.fit.gz", "a/notes.txt",
                         "a.b/fpC-000094-u1-0011.fit", "a-b/fpC-000094-u2-0011.fit", "a0/fpC-000094-u3-0011.fit"]
            for file in files {
                let url = data.appendingPathComponent(file)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(file.utf8).write(to: url)
            }
            let links = data.appendingPathComponent("links")
            try FileManager.default.createDirectory(at: links, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: links.appendingPathComponent("a").path, withDestinationPath: "../a")
            try FileManager.default.createSymbolicLink(atPath: links.appendingPathComponent("fpC-000094-z1-0011.fit").path,
                                                       withDestinationPath: "../fpC-000094-g1-0011.fit")
            // Modification times with every nanosecond digit: the stored mtimes of earlier runs
            // were Foundation's, and a file must still be known by them.
            var generator = SystemRandomNumberGenerator()
            for file in files {
                let nanoseconds = Int.random(in: 0..<2_000_000_000_000_000_000, using: &generator)
                var times = [timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000),
                             timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)]
                #expect(utimensat(AT_FDCWD, data.appendingPathComponent(file).path, &times, 0) == 0)
            }

            let found = FrameFile.all(under: data.path)
            let expected = files.filter { !$0.hasSuffix(".txt") } + ["links/fpC-000094-z1-0011.fit"]
            #expect(found.map(\.path) == expected.map { data.appendingPathComponent($0).path }.sorted())
            #expect(FrameFile.count(under: data.path) == found.count)
            // In batches, the same files in the same order.
            var batches: [[FrameFile]] = []
            FrameFile.walk(under: data.path, batch: 2) { batches.append($0) }
            #expect(batches.map(\.count) == [2, 2, 2, 1] && batches.flatMap { $0 } == found)
            for file in found {
                let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
                #expect(file.size == (attributes[.size] as? NSNumber)?.intValue)
                #expect(file.mtime == (attributes[.modificationDate] as? Date)?.timeIntervalSince1970, "\(file.path)")
            }

            let linked = root.appendingPathComponent("linked")
            try FileManager.default.createSymbolicLink(atPath: linked.path, withDestinationPath: data.path)
            #expect(FrameFile.all(under: linked.path).map(\.name) == found.map(\.name))
        }
    }
}

extension InventoryTests {
    /// Memory does not grow with INPUT: inventory walks and records a batch at a time. Small
    /// batches must give what one batch gives, duplicates and failures included.
    @Test("inventory in batches of three records what it records in one batch")
    func batches() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("input")
            try simulate(smallOptions(input, frames: 40, seed: 5, defects: 0.2))
            // A copy of one frame in a directory sorting after the others: a duplicate in a later batch.
            let first = try #require(try readTruth(input).first { $0.inventory == "event" })
            try copyFile(input.appendingPathComponent(first.file),
                         to: input.appendingPathComponent("zz").appendingPathComponent(URL(fileURLWithPath: first.file).lastPathComponent))
            var results: [(Inventory.Summary, [StoredEvent], [String])] = []
            for batchSize in [3, 1000] {
                let home = root.appendingPathComponent("p\(batchSize)")
                try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
                let production = try prepareProduction(root: home, input: input, region: smallRegion)
                var inventory = Inventory(config: production.config, store: production.store)
                inventory.batchSize = batchSize
                let summary = try inventory.run()
                let failures = try production.store.inventoryFailures().map { "\($0.path) \($0.reason) \($0.message)" }
                results.append((summary, try storedEvents(production.store).sorted { $0.key + $0.filter < $1.key + $1.filter }, failures.sorted()))
            }
            #expect(results[0].0 == results[1].0)
            #expect(results[0].0.failures["duplicate frame"] == 1)
            #expect(results[0].1 == results[1].1)
            #expect(results[0].2 == results[1].2)
        }
    }
}

extension InventoryTests {
    /// A FIFO named like a frame once blocked inventory for ever, the production lock held: opening
    /// a FIFO for reading waits for a writer. Special files are refused on their type, never opened.
    @Test("a FIFO, a socket and a link to a FIFO under INPUT are refused unopened, with their reason")
    func specialFilesAreRefusedUnopened() throws {
        try withTemporaryDirectory { root in
            let input = root.appendingPathComponent("input")
            try simulate(smallOptions(input, frames: 5, defects: 0, filters: [.r]))
            let fifo = input.appendingPathComponent("fpC-009999-r1-0001.fit").path
            let socketPath = input.appendingPathComponent("fpC-009999-r1-0002.fit").path
            let link = input.appendingPathComponent("fpC-009999-r1-0003.fit").path
            try #require(mkfifo(fifo, 0o644) == 0, "mkfifo: \(String(cString: strerror(errno)))")
            let listener = try bindUnixSocket(socketPath)
            defer { close(listener) }
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fifo)

            let production = try prepareProduction(root: root, input: input, region: smallRegion, filters: "r")
            let summary = try Inventory(config: production.config, store: production.store).run()
            #expect(summary.newEventCount == 5)
            #expect(summary.failures == ["not a regular file": 3])
            let refused = try production.store.inventoryFailures().sorted { $0.path < $1.path }
            #expect(refused.map(\.path) == [fifo, socketPath, link])
            #expect(refused.map(\.message) == ["a FIFO with a frame's name; not opened", "a socket with a frame's name; not opened",
                                               "a FIFO with a frame's name; not opened"])
            #expect(refused.allSatisfy { $0.reason == "not a regular file" && $0.kind == .failure })
            // Whatever opens a FITS file refuses one too (processCcd given the FIFO).
            let error = #expect(throws: FITSError.self) { _ = try FITSFile.open(fifo) }
            #expect(error?.message == "cannot open: a FIFO, not a regular file")
        }
    }

    /// A listening unix-domain socket at `path` (what a daemon leaves behind); its descriptor.
    private func bindUnixSocket(_ path: String) throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8CString)
        try #require(bytes.count <= MemoryLayout.size(ofValue: address.sun_path), "socket path too long: \(path)")
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = UInt8(bitPattern: byte) }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0, "bind: \(String(cString: strerror(errno)))")
        return descriptor
    }
}

/// Each frame's sky map patches are found with wcslib once, by inventory, and kept in the state store
/// (`frame.patches`): planning and the forecast read them from there at every pass.
@Suite("the patches of frames")
struct FramePatchesTests {
    /// A production prepared on `frames` simulated frames without defects, not inventoried yet.
    static func simulatedProduction(frames: Int, in root: URL) throws -> Production {
        let input = root.appendingPathComponent("input")
        let options = smallOptions(input, frames: frames, defects: 0)
        try simulate(options)
        return try prepareProduction(root: root, input: input, region: options.region)
    }

    @Test("inventory keeps each frame's patches; an older store's frames get theirs at the next inventory")
    func inventoryKeepsThePatches() throws {
        try withTemporaryDirectory { root in
            let production = try Self.simulatedProduction(frames: 24, in: root)
            let map = try SkyMap.of(production)
            let summary = try Inventory(config: production.config, store: production.store).run(skyMap: map)
            #expect(summary.newEventCount == 24)

            func kept() throws -> [Int64: String?] {
                try production.store.pool.read { db in
                    var patches: [Int64: String?] = [:]
                    for row in try Row.fetchAll(db, sql: "SELECT id, patches FROM frame") { patches[row[0]] = row[1] as String? }
                    return patches
                }
            }
            // What wcslib says of each frame's footprint, as the store has it.
            let frames = try production.store.frameStandings(step: .processCcd, filter: .r)
                + Filter.allCases.filter { $0 != .r }.flatMap { try production.store.frameStandings(step: .processCcd, filter: $0) }
            #expect(frames.count == 24)
            var expected: [Int64: String?] = [:]
            for frame in frames { expected[frame.frameId] = FramePatches.text(try map.patches(touching: frame.footprint)) }
            #expect(try kept() == expected)
            #expect(expected.values.allSatisfy { ($0?.isEmpty ?? true) == false })

            // A store of before v14 knows no frame's patches: the next inventory finds them, reading no file again.
            try production.store.pool.write { db in try db.execute(sql: "UPDATE frame SET patches = NULL") }
            #expect(try production.store.framesWithoutPatches(after: 0, limit: 100).count == 24)
            // A reader walks a filter's such frames a page at a time (the forecast): the same frames, in id order.
            var walked = 0
            for filter in Filter.allCases {
                let whole = try production.store.framesWithoutPatches(step: .processCcd, filter: filter, states: EventState.allCases)
                var paged: [FrameStanding] = [], after = Int64.min
                while case let page = try production.store.framesWithoutPatches(step: .processCcd, filter: filter, states: EventState.allCases,
                                                                                after: after, limit: 2),
                      let last = page.last {
                    paged += page
                    after = last.frameId
                }
                #expect(paged.map(\.eventId) == whole.map(\.eventId) && whole.map(\.frameId) == whole.map(\.frameId).sorted())
                #expect(try production.store.hasFramesWithoutPatches(step: .processCcd, filter: filter, states: EventState.allCases) == !whole.isEmpty)
                walked += paged.count
            }
            #expect(walked == 24)
            let again = try Inventory(config: production.config, store: production.store).run(skyMap: map)
            #expect(again.alreadyKnown == 24 && again.newEventCount == 0)
            #expect(try kept() == expected)
            #expect(try production.store.framesWithoutPatches(after: 0, limit: 100).isEmpty)
        }
    }

    @Test("kept patches are read, never asked of wcslib again; found ones are kept by a writer")
    func keptPatchesAreRead() throws {
        try withTemporaryDirectory { root in
            let production = try Self.simulatedProduction(frames: 6, in: root)
            _ = try Inventory(config: production.config, store: production.store).run()
            let map = try SkyMap.of(production)
            var patches = FramePatches(map: map)

            // A footprint wcslib cannot project: the kept text is the answer, so wcslib is not asked.
            let nowhere = [(ra: Double.nan, dec: 0.0)]
            #expect(try patches.patches(frameId: 1, footprint: nowhere, kept: "0-380,5 0-381,5")
                    == [PatchId(tract: 0, x: 380, y: 5), PatchId(tract: 0, x: 381, y: 5)])
            #expect(try patches.patches(frameId: 1, footprint: nowhere, kept: "").isEmpty)
            #expect(patches.found.isEmpty)
            #expect(throws: WCSError.self) { try patches.patches(frameId: 1, footprint: nowhere, kept: nil) }

            // Not kept (an inventory without the sky map): found, and kept by `keep(in:)`.
            let frame = try #require(try production.store.framesWithoutPatches(after: 0, limit: 1).first)
            let found = try patches.patches(frameId: frame.frameId, footprint: frame.footprint, kept: nil)
            #expect(found == (try map.patches(touching: frame.footprint)) && !found.isEmpty)
            #expect(patches.found == [frame.frameId: FramePatches.text(found)])
            try patches.keep(in: production.store)
            #expect(patches.found.isEmpty)
            let stored = try production.store.pool.read { db in
                try String.fetchOne(db, sql: "SELECT patches FROM frame WHERE id = ?", arguments: [frame.frameId])
            }
            #expect(stored == FramePatches.text(found))
            #expect(try production.store.framesWithoutPatches(after: 0, limit: 100).count == 5)
        }
    }
}

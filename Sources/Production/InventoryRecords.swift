import Basics
import Foundation
import GRDB

/// A frame that inventory accepted, as the state store keeps it.
public struct FrameRecord: Sendable {
    public var path: String
    public var run: Int, camcol: Int, field: Int
    public var filter: Filter
    public var eventKey: String
    public var width: Int, height: Int
    /// Four corners then the centre, (ra, dec) in degrees.
    public var corners: [(ra: Double, dec: Double)]
    public var center: (ra: Double, dec: Double)
    public var size: Int
    public var mtime: Double
    /// The sky map patches the frame touches (`PatchId`s, space-separated); nil when not found.
    public var patches: String?

    public init(path: String, run: Int, camcol: Int, field: Int, filter: Filter, eventKey: String, width: Int, height: Int,
                corners: [(ra: Double, dec: Double)], center: (ra: Double, dec: Double), size: Int, mtime: Double,
                patches: String? = nil) {
        self.path = path
        self.run = run
        self.camcol = camcol
        self.field = field
        self.filter = filter
        self.eventKey = eventKey
        self.width = width
        self.height = height
        self.corners = corners
        self.center = center
        self.size = size
        self.mtime = mtime
        self.patches = patches
    }
}

/// A file inventory did not make an event of.
public struct RejectionRecord: Codable, Sendable, Equatable, FetchableRecord {
    /// A failure (the file is unreadable or inconsistent) or a skip (outside REGION or FILTERS).
    public enum Kind: String, Codable, Sendable, DatabaseValueConvertible { case failure, skip }
    public var path: String
    public var kind: Kind
    public var reason: String
    public var message: String
    public var size: Int
    public var mtime: Double

    public init(path: String, kind: Kind, reason: String, message: String, size: Int, mtime: Double) {
        self.path = path
        self.kind = kind
        self.reason = reason
        self.message = message
        self.size = size
        self.mtime = mtime
    }
}

/// The files inventory has already seen, so that a rerun reads only new or changed ones.
public struct InventoryMemory: Sendable {
    /// Paths of accepted frames: never read again.
    public var frames: Set<String>
    /// Rejected paths with the size and mtime they had: read again only if these changed.
    public var rejections: [String: (size: Int, mtime: Double)]

    public func isKnown(path: String, size: Int, mtime: Double) -> Bool {
        if frames.contains(path) { return true }
        if let seen = rejections[path] { return seen.size == size && seen.mtime == mtime }
        return false
    }
}

extension StateStore {
    /// What inventory has seen of `paths`: those of them accepted as frames, and those rejected with
    /// the size and mtime they had. Asked a batch of paths at a time, so that memory does not grow with
    /// the production.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func inventoryMemory(of paths: [String]) throws -> InventoryMemory {
        guard !paths.isEmpty else { return InventoryMemory(frames: [], rejections: [:]) }
        // The paths as one JSON array that SQLite unpacks: GRDB's expansion of a list of a few hundred
        // values cost as much as the queries.
        let json = Self.jsonArray(paths)
        return try pool.read { db in
            let frames = try Set(String.fetchAll(db.cachedStatement(sql: Self.knownPaths), arguments: [json]))
            var rejections: [String: (size: Int, mtime: Double)] = [:]
            let rejected = try db.cachedStatement(sql: "SELECT * FROM inventory_rejection WHERE path IN (SELECT value FROM json_each(?))")
            for rejection in try RejectionRecord.fetchAll(rejected, arguments: [json]) {
                rejections[rejection.path] = (rejection.size, rejection.mtime)
            }
            return InventoryMemory(frames: frames, rejections: rejections)
        }
    }

    /// The paths of a JSON array `?1` that are frames' (schema v21, FrameLayout): by their directory and
    /// the run, camcol, field and filter their name gives, through the index of these four, when it is
    /// SDSS's; by their name (`frame_named`) when it is not.
    static let knownPaths = """
        WITH p(path, directory, name) AS (
            SELECT value, \(FrameLayout.directory("value")), \(FrameLayout.name("value")) FROM json_each(?1))
        SELECT p.path FROM p JOIN frame_directory d ON d.path = p.directory
        JOIN frame_record f ON f.run = CAST(substr(p.name, 5, 6) AS INTEGER) AND f.camcol = CAST(substr(p.name, 13, 1) AS INTEGER)
            AND f.field = CAST(substr(p.name, 15, 4) AS INTEGER) AND f.filter = substr(p.name, 12, 1)
        WHERE f.directory = d.id AND f.name IS NULL AND p.name = \(FrameLayout.sdssName("f."))
        UNION ALL
        SELECT p.path FROM p JOIN frame_record f ON f.name = p.name JOIN frame_directory d ON d.id = f.directory
        WHERE d.path = p.directory
        """

    /// Records one batch of inventory results in one transaction: each frame with its
    /// processCcd event, each rejection replacing an earlier one for the same path.
    /// A frame whose (run, camcol, field, filter) is already recorded from another path
    /// becomes a `duplicate frame` failure; those are returned.
    @discardableResult
    public func recordInventory(frames: [FrameRecord], rejections: [RejectionRecord]) throws -> [RejectionRecord] {
        let now = Self.now()
        return try write { db in
            var duplicates: [RejectionRecord] = []
            // Cached statements: parsing the SQL again for every frame was a tenth of inventory.
            let same = try db.cachedStatement(sql: "SELECT path FROM frame WHERE run = ? AND camcol = ? AND field = ? AND filter = ?")
            // Kept as FrameLayout says: the directory once, the name only when it is not SDSS's, the time once.
            try db.execute(sql: "INSERT OR IGNORE INTO frame_recording (at) VALUES (?)", arguments: [now])
            let recorded = try Int64.fetchOne(db, sql: "SELECT id FROM frame_recording WHERE at = ?", arguments: [now])
            let insertDirectory = try db.cachedStatement(sql: "INSERT OR IGNORE INTO frame_directory (path) VALUES (\(FrameLayout.directory("?1")))")
            let insertPatchSet = try db.cachedStatement(sql: FrameLayout.keptPatchSet("?1"))
            let insertFrame = try db.cachedStatement(sql: """
                INSERT INTO frame_record (\(FrameLayout.kept(.patchSets, ":").map(\.column).joined(separator: ", ")), directory, name, recorded)
                VALUES (\(FrameLayout.kept(.patchSets, ":").map(\.value).joined(separator: ", ")),
                    (SELECT id FROM frame_directory WHERE path = \(FrameLayout.directory(":path"))), \(FrameLayout.keptName(":path", ":")), :recorded)
                """)
            let insertEvent = try db.cachedStatement(sql: "INSERT INTO event (step, filter, key, frameId, state) VALUES (?, ?, ?, ?, ?)")
            let forget = try db.cachedStatement(sql: "DELETE FROM inventory_rejection WHERE path = ?")
            for frame in frames {
                if let other = try String.fetchOne(same, arguments: [frame.run, frame.camcol, frame.field, frame.filter]) {
                    duplicates.append(RejectionRecord(path: frame.path, kind: .failure, reason: "duplicate frame",
                                                      message: "same run, camcol, field and filter as \(other)",
                                                      size: frame.size, mtime: frame.mtime))
                    continue
                }
                try insertDirectory.execute(arguments: [frame.path])
                try insertPatchSet.execute(arguments: [frame.patches])
                try insertFrame.execute(arguments: Self.frameArguments(frame, recorded: recorded))
                let frameId = db.lastInsertedRowID
                try insertEvent.execute(arguments: [Step.processCcd, frame.filter, frame.eventKey, frameId, EventState.new])
                try forget.execute(arguments: [frame.path])
            }
            let reject = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO inventory_rejection (path, kind, reason, message, size, mtime, recordedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
            for rejection in rejections + duplicates {
                try reject.execute(arguments: [rejection.path, rejection.kind, rejection.reason, rejection.message,
                                               rejection.size, rejection.mtime, now])
            }
            return duplicates
        }
    }

    /// The values of `frame_record`'s columns for a frame inventory records, by name.
    private static func frameArguments(_ frame: FrameRecord, recorded: Int64?) -> StatementArguments {
        let c = frame.corners
        let values: [String: (any DatabaseValueConvertible)?] = [
            "path": frame.path, "run": frame.run, "camcol": frame.camcol, "field": frame.field, "filter": frame.filter,
            "width": frame.width, "height": frame.height, "corner1Ra": c[0].ra, "corner1Decl": c[0].dec, "corner2Ra": c[1].ra,
            "corner2Decl": c[1].dec, "corner3Ra": c[2].ra, "corner3Decl": c[2].dec, "corner4Ra": c[3].ra, "corner4Decl": c[3].dec,
            "centerRa": frame.center.ra, "centerDecl": frame.center.dec, "size": frame.size, "mtime": frame.mtime,
            "patches": frame.patches, "recorded": recorded,
        ]
        return StatementArguments(values)
    }

    /// Up to `limit` frames after the frame id `after` whose patches the store does not know (recorded
    /// before schema v14), with their footprints, by id.
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be read.
    public func framesWithoutPatches(after: Int64, limit: Int) throws -> [(frameId: Int64, footprint: [(ra: Double, dec: Double)])] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT f.id, \(VerifiedFrame.footprintColumns) FROM frame f
                WHERE f.id IN (SELECT r.id FROM frame_record r WHERE r.patchSet IS NULL AND r.id > ? ORDER BY r.id LIMIT ?) ORDER BY f.id
                """, arguments: [after, limit]).map { (frameId: $0["id"], footprint: VerifiedFrame.footprint($0)) }
        }
    }

    /// Keeps the patches found for frames, by frame id (`FrameRecord.patches`' text), in one transaction:
    /// each frame's set (`frame_patch` follows from it, schema v31: PatchSetMembers).
    ///
    /// - Throws: A GRDB `DatabaseError` if the state store cannot be written.
    public func recordFramePatches(_ patches: [Int64: String]) throws {
        guard !patches.isEmpty else { return }
        try write { db in
            let keep = try db.cachedStatement(sql: FrameLayout.keptPatchSet("?1"))
            let update = try db.cachedStatement(sql: "UPDATE frame_record SET patchSet = \(FrameLayout.patchSet("?1")) WHERE id = ?2")
            for (frameId, text) in patches {
                try keep.execute(arguments: [text])
                try update.execute(arguments: [text, frameId])
            }
        }
    }
}

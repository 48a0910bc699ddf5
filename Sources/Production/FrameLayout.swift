import Foundation

/// The frames as the state store keeps them (schema v21): `frame_record` holds each frame's columns
/// but its path and the time inventory recorded it, which are kept once for many frames. The path is
/// the frame's directory (`frame_directory`, the path up to and including its last `/`) and its file
/// name, kept (`frame_record.name`) only when it is not the one the frame's run, filter, camcol and
/// field give (`fpC-000094-r1-0011.fit`: SDSS's name, that of nearly every frame); the time is an id of
/// `frame_recording` (one row per inventory batch). At 1/100 of DC2013 (`Benchmarks/campaign`) a frame
/// takes 184 bytes of `frame_record` where it took 287 of the table and 36 of the index of the ends of
/// its path.
///
/// Readers never see this: the view `frame` gives every column as the table had it, the path exact to
/// the byte, so every query and `dcprod sql` read frames as before; a script's INSERT, UPDATE or DELETE
/// on `frame` goes through the view's triggers.
enum FrameLayout {
    /// The directory of the path `path` (an SQL expression), with its last `/`: the path less the
    /// characters after its last `/` (`rtrim` with them all as the set). `''` for a path without `/`.
    static func directory(_ path: String) -> String { "rtrim(\(path), replace(\(path), '/', ''))" }

    /// The file name of the path `path` (an SQL expression): what follows its directory.
    static func name(_ path: String) -> String { "substr(\(path), length(\(directory(path))) + 1)" }

    /// SDSS's name of the frame whose columns are `f.run`, … (`prefix` "f."), or `new.run`, ….
    static func sdssName(_ prefix: String) -> String {
        "printf('fpC-%06d-%s%d-%04d.fit', \(prefix)run, \(prefix)filter, \(prefix)camcol, \(prefix)field)"
    }

    /// The stem of SDSS's name of the frame whose columns are `prefix`… (`000094-r1-0011`): what the
    /// outputs of its events are named after (`OutputForms.framePlaceholder`).
    static func sdssStem(_ prefix: String) -> String {
        "printf('%06d-%s%d-%04d', \(prefix)run, \(prefix)filter, \(prefix)camcol, \(prefix)field)"
    }

    /// `frame_record.name` of the path `path` for the frame of columns `prefix`…: NULL when the name is
    /// SDSS's and 22 characters long (run of 6 digits, camcol of 1, field of 4, filter of 1), so that
    /// inventory can read these four back from a path (`knownPaths`).
    static func keptName(_ path: String, _ prefix: String) -> String {
        "CASE WHEN \(name(path)) = \(sdssName(prefix)) AND length(\(name(path))) = 22 THEN NULL ELSE \(name(path)) END"
    }

    /// How `frame_record` keeps a frame's corners and patches: corners in degrees as inventory gave them
    /// (schema v21), or as offsets from the centre (schema v26); and, from schema v29, patches as the id of
    /// their text in `patch_set` and the centre in `cornerUnit`ths of a degree (`patchSets`, corners as
    /// offsets). Each migration's SQL is made with its own: it never changes.
    enum Corners {
        case degrees, offsets, patchSets
    }

    /// The corners' columns as the view `frame` gives them, in degrees.
    static let corners = ["corner1Ra", "corner1Decl", "corner2Ra", "corner2Decl", "corner3Ra", "corner3Decl", "corner4Ra", "corner4Decl"]

    /// A corner's offset from the centre in `frame_record` (schema v26), in `cornerUnit`ths of a degree:
    /// 10⁻⁷ of a degree (0.36 mas, 1/1100 of an SDSS pixel), so that an offset within 0.84° of the centre takes
    /// 3 bytes where a REAL takes 8 (40 bytes a frame). The offset is between the corner and the centre each
    /// rounded to 7 decimals of a degree, so that a corner reads back (`corner`) as the double nearest its
    /// value to 7 decimals: exactly as written when it has 7 decimals or fewer.
    static let cornerUnit = 10_000_000

    /// The column of `frame_record` that keeps the offset of the corner `corner` (`corner1Ra`, …).
    static func offsetColumn(_ corner: String) -> String { corner + "Offset" }

    /// The centre's column on the axis of the corner `corner`.
    private static func center(of corner: String) -> String { corner.hasSuffix("Ra") ? "centerRa" : "centerDecl" }

    /// The offset of the corner `corner` of the frame whose columns are `prefix`… (`new.`, `:`, or none).
    static func offset(_ corner: String, _ prefix: String) -> String {
        "CAST(round(\(prefix)\(corner) * \(cornerUnit)) - round(\(prefix)\(center(of: corner)) * \(cornerUnit)) AS INTEGER)"
    }

    /// The corner `corner` (in degrees) of `frame_record f` from its offset.
    static func corner(_ corner: String, _ kept: Corners) -> String {
        let center = kept == .patchSets ? "f.\(unitsColumn(center(of: corner)))" : "round(f.\(center(of: corner)) * \(cornerUnit))"
        return "(\(center) + f.\(offsetColumn(corner))) / \(cornerUnit).0"
    }

    /// The column of `frame_record` that keeps the centre's coordinate `center` (`centerRa`, `centerDecl`) in
    /// `cornerUnit`ths of a degree (schema v29): 4 bytes where a REAL takes 8. It reads back as the corners do,
    /// rounded to 7 decimals of a degree (exactly as written with 7 or fewer), and the corners' offsets were
    /// always from the centre so rounded.
    static func unitsColumn(_ center: String) -> String { center + "Units" }

    /// The centre's coordinate `center` of the frame whose columns are `prefix`… in `cornerUnit`ths of a degree.
    static func units(_ center: String, _ prefix: String) -> String { "CAST(round(\(prefix)\(center) * \(cornerUnit)) AS INTEGER)" }

    /// Schema v29's statements that keep the centre of each frame of `frame_record` in `cornerUnit`ths of a
    /// degree, in place (the view `frame` dropped first).
    static let centersToUnits: String = {
        let centers = ["centerRa", "centerDecl"]
        let added: [String] = centers.map { "ALTER TABLE frame_record ADD COLUMN \(unitsColumn($0)) INTEGER NOT NULL DEFAULT 0;" }
        let set: [String] = centers.map { "\(unitsColumn($0)) = \(units($0, ""))" }
        let dropped: [String] = centers.map { "ALTER TABLE frame_record DROP COLUMN \($0);" }
        return (added + ["UPDATE frame_record SET \(set.joined(separator: ", "));"] + dropped).joined(separator: "\n")
    }()

    /// Schema v26's statements that turn the corners of `frame_record` into their offsets, in place.
    static let cornersToOffsets: String = {
        let added: [String] = corners.map { "ALTER TABLE frame_record ADD COLUMN \(offsetColumn($0)) INTEGER NOT NULL DEFAULT 0;" }
        let set: [String] = corners.map { "\(offsetColumn($0)) = \(offset($0, ""))" }
        let dropped: [String] = corners.map { "ALTER TABLE frame_record DROP COLUMN \($0);" }
        return (added + ["UPDATE frame_record SET \(set.joined(separator: ", "));"] + dropped).joined(separator: "\n")
    }()

    /// The view `frame`: the columns of the frame table before v21, in their order (`patches` last).
    static func view(_ kept: Corners) -> String {
        let shown: [String] = columns.map { (column: String) -> String in
            if kept != .degrees && corners.contains(column) { return "\(corner(column, kept)) AS \(column)" }
            if kept == .patchSets && column.hasPrefix("center") { return "f.\(unitsColumn(column)) / \(cornerUnit).0 AS \(column)" }
            return "f.\(column)"
        }
        let patches = kept == .patchSets ? "(SELECT s.text FROM patch_set s WHERE s.id = f.patchSet) AS patches" : "f.patches"
        return """
            CREATE VIEW frame AS SELECT f.id,
                (SELECT d.path FROM frame_directory d WHERE d.id = f.directory) || COALESCE(f.name, \(sdssName("f."))) AS path,
                \(shown.dropLast().joined(separator: ", ")),
                (SELECT r.at FROM frame_recording r WHERE r.id = f.recorded) AS recordedAt, \(patches)
            FROM frame_record f;
            """
    }

    /// The frame table's columns that `frame_record` keeps (schema v21), in their order: all but the path
    /// and the time recorded.
    static let columns = ["run", "camcol", "field", "filter", "width", "height"] + corners
        + ["centerRa", "centerDecl", "size", "mtime", "patches"]

    /// Each column of `frame_record` that a frame's own columns give, with its value for the frame whose
    /// columns are `prefix`… (`new.`, `:`): each as it is, or the corners as their offsets, and the patches
    /// as the id of their text in `patch_set` (`keptPatchSet` writes it first).
    static func kept(_ corners: Corners, _ prefix: String) -> [(column: String, value: String)] {
        columns.map { (column: String) -> (column: String, value: String) in
            if corners != .degrees && Self.corners.contains(column) { return (offsetColumn(column), offset(column, prefix)) }
            if corners == .patchSets && column == "patches" { return ("patchSet", patchSet(prefix + "patches")) }
            if corners == .patchSets && column.hasPrefix("center") { return (unitsColumn(column), units(column, prefix)) }
            return (column, prefix + column)
        }
    }

    /// The id in `patch_set` of the patches' text `text` (an SQL expression): NULL for none.
    static func patchSet(_ text: String) -> String { "(SELECT id FROM patch_set WHERE text = \(text))" }

    /// The statement that keeps the patches' text `text` (an SQL expression) in `patch_set` once, before a
    /// frame's row takes its id (schema v29).
    static func keptPatchSet(_ text: String) -> String {
        "INSERT OR IGNORE INTO patch_set (text) SELECT \(text) WHERE \(text) IS NOT NULL;"
    }

    /// What a row written through the view needs first: its directory and time recorded, each once, and
    /// from schema v29 its patches' text.
    private static func keptOnce(_ corners: Corners) -> String {
        """
        SELECT RAISE(ABORT, 'NOT NULL constraint failed: frame.path') WHERE new.path IS NULL;
            SELECT RAISE(ABORT, 'NOT NULL constraint failed: frame.recordedAt') WHERE new.recordedAt IS NULL;
            INSERT OR IGNORE INTO frame_directory (path) VALUES (\(directory("new.path")));
            INSERT OR IGNORE INTO frame_recording (at) VALUES (new.recordedAt);\(corners == .patchSets ? "\n    " + keptPatchSet("new.patches") : "")
        """
    }

    /// Each column of `frame_record` with its value for the row `new` written through the view.
    private static func values(_ corners: Corners) -> [(column: String, value: String)] {
        [("id", "new.id")] + kept(corners, "new.") + [
            ("directory", "(SELECT id FROM frame_directory WHERE path = \(directory("new.path")))"),
            ("name", keptName("new.path", "new.")),
            ("recorded", "(SELECT id FROM frame_recording WHERE at = new.recordedAt)"),
        ]
    }

    /// The view's triggers: a statement written for the table inserts, updates and deletes through it.
    static func triggers(_ corners: Corners) -> String {
        let values = values(corners)
        return """
            CREATE TRIGGER frame_inserted INSTEAD OF INSERT ON frame BEGIN
                \(keptOnce(corners))
                INSERT INTO frame_record (\(values.map(\.column).joined(separator: ", "))) VALUES (\(values.map(\.value).joined(separator: ", ")));
            END;
            CREATE TRIGGER frame_updated INSTEAD OF UPDATE ON frame BEGIN
                \(keptOnce(corners))
                UPDATE frame_record SET \(values.map { "\($0.column) = \($0.value)" }.joined(separator: ", ")) WHERE id = old.id;
            END;
            CREATE TRIGGER frame_deleted INSTEAD OF DELETE ON frame BEGIN DELETE FROM frame_record WHERE id = old.id; END;
            """
    }
}

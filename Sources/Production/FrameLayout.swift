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

    /// `frame_record.name` of the path `path` for the frame of columns `prefix`…: NULL when the name is
    /// SDSS's and 22 characters long (run of 6 digits, camcol of 1, field of 4, filter of 1), so that
    /// inventory can read these four back from a path (`knownPaths`).
    static func keptName(_ path: String, _ prefix: String) -> String {
        "CASE WHEN \(name(path)) = \(sdssName(prefix)) AND length(\(name(path))) = 22 THEN NULL ELSE \(name(path)) END"
    }

    /// The view `frame`: the columns of the frame table before v21, in their order.
    static let view = """
        CREATE VIEW frame AS SELECT f.id,
            (SELECT d.path FROM frame_directory d WHERE d.id = f.directory) || COALESCE(f.name, \(sdssName("f."))) AS path,
            f.run, f.camcol, f.field, f.filter, f.width, f.height,
            f.corner1Ra, f.corner1Decl, f.corner2Ra, f.corner2Decl, f.corner3Ra, f.corner3Decl, f.corner4Ra, f.corner4Decl,
            f.centerRa, f.centerDecl, f.size, f.mtime,
            (SELECT r.at FROM frame_recording r WHERE r.id = f.recorded) AS recordedAt, f.patches
        FROM frame_record f;
        """

    /// The columns of `frame_record` that the view gives as they are.
    static let columns = ["run", "camcol", "field", "filter", "width", "height", "corner1Ra", "corner1Decl", "corner2Ra", "corner2Decl",
                          "corner3Ra", "corner3Decl", "corner4Ra", "corner4Decl", "centerRa", "centerDecl", "size", "mtime", "patches"]

    /// What a row written through the view needs first: its directory and time recorded, each once.
    private static let keptOnce = """
        SELECT RAISE(ABORT, 'NOT NULL constraint failed: frame.path') WHERE new.path IS NULL;
            SELECT RAISE(ABORT, 'NOT NULL constraint failed: frame.recordedAt') WHERE new.recordedAt IS NULL;
            INSERT OR IGNORE INTO frame_directory (path) VALUES (\(directory("new.path")));
            INSERT OR IGNORE INTO frame_recording (at) VALUES (new.recordedAt);
        """

    /// Each column of `frame_record` with its value for the row `new` written through the view.
    private static let values = [("id", "new.id")] + columns.map { ($0, "new.\($0)") } + [
        ("directory", "(SELECT id FROM frame_directory WHERE path = \(directory("new.path")))"),
        ("name", keptName("new.path", "new.")),
        ("recorded", "(SELECT id FROM frame_recording WHERE at = new.recordedAt)"),
    ]

    /// The view's triggers: a statement written for the table inserts, updates and deletes through it.
    static let triggers = """
        CREATE TRIGGER frame_inserted INSTEAD OF INSERT ON frame BEGIN
            \(keptOnce)
            INSERT INTO frame_record (\(values.map(\.0).joined(separator: ", "))) VALUES (\(values.map(\.1).joined(separator: ", ")));
        END;
        CREATE TRIGGER frame_updated INSTEAD OF UPDATE ON frame BEGIN
            \(keptOnce)
            UPDATE frame_record SET \(values.map { "\($0.0) = \($0.1)" }.joined(separator: ", ")) WHERE id = old.id;
        END;
        CREATE TRIGGER frame_deleted INSTEAD OF DELETE ON frame BEGIN DELETE FROM frame_record WHERE id = old.id; END;
        """
}

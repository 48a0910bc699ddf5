import GRDB

/// A frame's patches kept once for every frame that touches the same ones (schema v29): `frame.patches`,
/// the text of a frame's patch ids (`0-385,0 0-386,0 0-385,1 0-386,1`, 37 bytes a frame at 1/100 of
/// DC2013), is kept in `patch_set`, each text once, and `frame_record.patchSet` holds its id (1 or 2
/// bytes). Frames of the same place on the sky touch the same patches, so there are as many texts as
/// places, not frames (25 for 15,651 frames at 1/100 of DC2013: its depth, frames a place, is DC2013's).
/// `patch_frame` (v28), the same pairs turned around by patch, stays: coadd planning finds a patch's
/// frames through it, and a frame's patches are read here without an index of it by frame.
///
/// The same migration keeps each frame's centre as its corners are kept since v26, in 10⁻⁷ of a degree
/// (FrameLayout.unitsColumn: 8 bytes a frame less).
///
/// Readers see no change: the view `frame` gives `patches` as the text, NULL (not found yet, before v14)
/// and `''` (on no patch) as before; the triggers that read a frame's patches (InputRule, InputList) read
/// them through the view (a later migration that drops the view drops them first, or SQLite refuses to
/// alter a table while they name a view it cannot find).
enum PatchSets {
    /// The patches of the text `text` (an SQL expression: `0-385,0 0-386,0`) as rows of `json_each`, each
    /// key its `value`: the keys hold neither quotes nor spaces.
    static func each(_ text: String) -> String { "json_each('[\"' || replace(\(text), ' ', '\",\"') || '\"]')" }

    /// Whether the patches' text `text` holds the patch `key` (SQL expressions), a whole word of it.
    static func holds(_ text: String, _ key: String) -> String { "instr(' ' || \(text) || ' ', ' ' || \(key) || ' ') > 0" }

    /// Schema v29's statements: `patch_set` filled from the frames' texts, and each frame's id of its text.
    static let migration = """
        CREATE TABLE patch_set (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE);
        INSERT INTO patch_set (text) SELECT patches FROM frame_record WHERE patches IS NOT NULL GROUP BY patches ORDER BY MIN(id);
        ALTER TABLE frame_record ADD COLUMN patchSet INTEGER REFERENCES patch_set(id);
        UPDATE frame_record SET patchSet = \(FrameLayout.patchSet("frame_record.patches")) WHERE patches IS NOT NULL;
        """

    /// Schema v29's conversion: `frame_record.patches` dropped, with the view `frame` made again over
    /// `patchSet`. SQLite drops a column only when nothing in the schema reads it: the triggers that read
    /// `f.patches` from `frame_record` (v23's and v25's: InputRule) are dropped first, then made again as
    /// they were but reading the view.
    static func convert(_ db: Database) throws {
        let triggers = try Row.fetchAll(db, sql: """
            SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name != 'frame' AND sql LIKE '%f.patches%' ORDER BY rowid
            """).map { (name: $0[0] as String, sql: $0[1] as String) }
        for trigger in triggers { try db.execute(sql: "DROP TRIGGER \(trigger.name)") }
        try db.execute(sql: """
            DROP VIEW frame;
            DROP INDEX frame_without_patches;
            ALTER TABLE frame_record DROP COLUMN patches;
            \(FrameLayout.centersToUnits)
            \(FrameLayout.view(.patchSets))
            \(FrameLayout.triggers(.patchSets))
            CREATE INDEX frame_without_patches ON frame_record(id) WHERE patchSet IS NULL;
            """)
        for trigger in triggers {
            try db.execute(sql: trigger.sql.replacingOccurrences(of: "frame_record f ", with: "frame f "))
        }
    }
}

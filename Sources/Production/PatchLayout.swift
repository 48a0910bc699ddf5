/// The frames of each sky map patch as the state store keeps them (schema v28): `frame_patch` (v18), a row
/// of a filter's letter, a patch's key (`0-385,1`) and a frame id, 19 bytes with its cell, becomes the
/// view of the same name over `patch_frame`, a patch's id and a frame id (9 bytes), and `sky_patch`, each
/// patch of each filter once with its id. Every query of `frame_patch` reads the same rows through the view
/// (by patch, through `sky_patch`'s index of filter and key, then `patch_frame`'s key); a script's INSERT or
/// DELETE goes through the view's triggers, and the exceptions a frame leaving a patch makes (InputRule)
/// are kept by the view's.
enum PatchLayout {
    /// Schema v28's statements: the tables filled from `frame_patch`, which then becomes the view.
    static let migration = """
        CREATE TABLE sky_patch (id INTEGER PRIMARY KEY, filter TEXT NOT NULL, key TEXT NOT NULL, UNIQUE (filter, key));
        CREATE TABLE patch_frame (
            patchId INTEGER NOT NULL REFERENCES sky_patch(id),
            frameId INTEGER NOT NULL REFERENCES frame_record(id),
            PRIMARY KEY (patchId, frameId)
        ) WITHOUT ROWID;
        INSERT INTO sky_patch (filter, key) SELECT filter, patch FROM frame_patch GROUP BY filter, patch ORDER BY filter, patch;
        INSERT INTO patch_frame (patchId, frameId)
        SELECT s.id, fp.frameId FROM frame_patch fp JOIN sky_patch s ON s.filter = fp.filter AND s.key = fp.patch ORDER BY s.id, fp.frameId;
        DROP TABLE frame_patch;
        CREATE VIEW frame_patch AS SELECT s.filter, s.key AS patch, pf.frameId FROM patch_frame pf JOIN sky_patch s ON s.id = pf.patchId;
        CREATE TRIGGER frame_patch_inserted INSTEAD OF INSERT ON frame_patch BEGIN
            INSERT OR IGNORE INTO sky_patch (filter, key) VALUES (new.filter, new.patch);
            INSERT INTO patch_frame (patchId, frameId) SELECT id, new.frameId FROM sky_patch WHERE filter = new.filter AND key = new.patch;
        END;
        CREATE TRIGGER frame_patch_deleted INSTEAD OF DELETE ON frame_patch BEGIN
            \(InputRule.exceptionsOfPatch)
            DELETE FROM patch_frame WHERE patchId = (SELECT id FROM sky_patch WHERE filter = old.filter AND key = old.patch)
                AND frameId = old.frameId;
        END;
        """
}

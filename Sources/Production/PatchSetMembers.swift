/// The frames of each sky map patch found through the frames' patch sets (schema v31): `frame_patch`, the
/// view over `patch_frame` (v28, a row a patch and frame: 24 bytes an event at 1/100 of DC2013, 27 at its
/// size), becomes a view over `patch_set_member` — each patch of each patch set (PatchSets), a few thousand
/// rows for DC2013's 1.57M frames — and an index of the frames by patch set and filter (a row a frame, 7
/// bytes an event). A patch's frames are those of the sets holding it: a few sets a patch, their frames
/// read in order from the index. The set comes first in the index so that no query can start from a
/// filter's frames: with the filter first, SQLite (which has no statistics of the store) read every frame
/// of the filter for each coadd made planned, in the rule's search of the frames of its patch. It holds only
/// placed frames, so that the frames not yet placed are still walked in id order on `frame_without_patches`:
/// SQLite preferred an index with `patchSet` first for `patchSet IS NULL`, then sorted all of them for each
/// page of `framesWithoutPatches` (the first pass of `run` at DC2013's size 85 → 139 s of CPU).
///
/// A frame's patches are now kept in one place, its set: `frame_patch` cannot say other than
/// `frame.patches`, and placing a frame (`recordFramePatches`) writes its set's id alone, not a row per
/// patch. A script's INSERT or DELETE on `frame_patch` adds the patch to, or takes it from, the frame's
/// patches (through the view `frame`); a frame that stops touching a patch keeps in `input_exception` what
/// the two gave each other's events by the rule (InputRule), from a trigger on the frame's set.
///
/// Readers see the same rows as before: inventory kept `patch_frame` from the frames' texts, and the rows a
/// script wrote into `frame_patch` alone, beyond a frame's patches, are added to them by the migration.
enum PatchSetMembers {
    /// Schema v31's statements: the members of every set, the index and the view made again; the v28
    /// tables dropped.
    static let migration = """
        CREATE TABLE patch_set_member (
            patchSet INTEGER NOT NULL REFERENCES patch_set(id),
            patch TEXT NOT NULL,
            PRIMARY KEY (patchSet, patch)
        ) WITHOUT ROWID;
        CREATE INDEX patch_set_by_patch ON patch_set_member(patch);
        INSERT OR IGNORE INTO patch_set_member (patchSet, patch)
            SELECT s.id, p.value FROM patch_set s CROSS JOIN \(PatchSets.each("s.text")) p WHERE s.text != '';
        CREATE TRIGGER patch_set_members AFTER INSERT ON patch_set BEGIN
            INSERT OR IGNORE INTO patch_set_member (patchSet, patch) SELECT new.id, p.value FROM \(PatchSets.each("new.text")) p WHERE new.text != '';
        END;
        CREATE INDEX frame_by_patch_set ON frame_record(patchSet, filter) WHERE patchSet IS NOT NULL;
        CREATE TEMP TABLE patches_beyond_sets AS
            SELECT pf.frameId, group_concat(s.key, ' ') AS keys FROM patch_frame pf JOIN sky_patch s ON s.id = pf.patchId
            JOIN frame_record r ON r.id = pf.frameId
            WHERE NOT EXISTS (SELECT 1 FROM patch_set_member m WHERE m.patchSet = r.patchSet AND m.patch = s.key) GROUP BY pf.frameId;
        UPDATE frame SET patches = (SELECT CASE WHEN COALESCE(frame.patches, '') = '' THEN x.keys ELSE frame.patches || ' ' || x.keys END
                                    FROM temp.patches_beyond_sets x WHERE x.frameId = frame.id)
        WHERE id IN (SELECT frameId FROM temp.patches_beyond_sets);
        DROP TABLE temp.patches_beyond_sets;
        DROP VIEW frame_patch;
        DROP TABLE patch_frame;
        DROP TABLE sky_patch;
        CREATE VIEW frame_patch AS SELECT r.filter, m.patch, r.id AS frameId
            FROM patch_set_member m JOIN frame_record r ON r.patchSet = m.patchSet;
        CREATE TRIGGER frame_patch_inserted INSTEAD OF INSERT ON frame_patch BEGIN
            UPDATE frame SET patches = CASE WHEN COALESCE(patches, '') = '' THEN new.patch ELSE patches || ' ' || new.patch END
            WHERE id = new.frameId AND filter = new.filter AND NOT \(PatchSets.holds("COALESCE(patches, '')", "new.patch"));
        END;
        CREATE TRIGGER frame_patch_deleted INSTEAD OF DELETE ON frame_patch BEGIN
            UPDATE frame SET patches = trim(replace(' ' || patches || ' ', ' ' || old.patch || ' ', ' ')) WHERE id = old.frameId;
        END;
        CREATE TRIGGER input_exception_of_patches AFTER UPDATE OF patchSet ON frame_record
        WHEN old.patchSet IS NOT NULL AND old.patchSet IS NOT new.patchSet
        BEGIN
            \(InputRule.exceptions(frame: "old.id", filter: "old.filter", patches: """
                SELECT m.patch FROM patch_set_member m WHERE m.patchSet = old.patchSet
                    AND NOT EXISTS (SELECT 1 FROM patch_set_member n WHERE n.patchSet = new.patchSet AND n.patch = m.patch)
                """))
        END;
        """
}

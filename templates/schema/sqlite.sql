-- The dcprod catalog, SQLite dialect, schema version 5. DC2013-compatible names: the seed's
-- queries (DeepCoadd, DeepSource, ra, decl, raVar, declVar, psfFlux, ...) run as written.
CREATE TABLE IF NOT EXISTS Filter (
    filterId INTEGER PRIMARY KEY,
    filterName TEXT NOT NULL
);
INSERT OR IGNORE INTO Filter (filterId, filterName) VALUES (0, 'u'), (1, 'g'), (2, 'r'), (3, 'i'), (4, 'z');

CREATE TABLE IF NOT EXISTS Science_Ccd_Exposure (
    run INTEGER NOT NULL, camcol INTEGER NOT NULL, field INTEGER NOT NULL, filterId INTEGER NOT NULL,
    ra REAL, decl REAL,
    corner1Ra REAL, corner1Decl REAL, corner2Ra REAL, corner2Decl REAL,
    corner3Ra REAL, corner3Decl REAL, corner4Ra REAL, corner4Decl REAL,
    zeroPoint REAL, fwhm REAL, nSources INTEGER, nMatches INTEGER, astromRms REAL,
    scienceCcdExposureId INTEGER, fluxMag0 REAL, fluxMag0Sigma REAL,
    PRIMARY KEY (run, camcol, field, filterId)
);

CREATE TABLE IF NOT EXISTS DeepCoadd (
    deepCoaddId INTEGER PRIMARY KEY,
    tract INTEGER NOT NULL, patch TEXT NOT NULL, filterId INTEGER NOT NULL,
    ra REAL, decl REAL,
    corner1Ra REAL, corner1Decl REAL, corner2Ra REAL, corner2Decl REAL,
    corner3Ra REAL, corner3Decl REAL, corner4Ra REAL, corner4Decl REAL,
    zeroPoint REAL, fluxMag0 REAL, nCalexps INTEGER, path TEXT, filterName TEXT
);
CREATE INDEX IF NOT EXISTS DeepCoadd_tract_patch ON DeepCoadd (tract, patch, filterId);

-- dcprod: per-filter
-- The big tables. With DBSPLIT filter each filter's rows live in a database of their own
-- (MariaDB: DBNAME_f; SQLite: catalog_f.sqlite) and the main catalog has views of the same names
-- over the union of them.
-- processCcd's sources (one row per detection on a calexp).
CREATE TABLE IF NOT EXISTS Source (
    sourceId INTEGER PRIMARY KEY,
    run INTEGER NOT NULL, camcol INTEGER NOT NULL, field INTEGER NOT NULL, filterId INTEGER NOT NULL,
    ra REAL NOT NULL, decl REAL NOT NULL, raVar REAL, declVar REAL, x REAL, y REAL,
    psfFlux REAL, psfFluxSigma REAL, apFlux REAL, apFluxSigma REAL, modelFlux REAL, modelFluxSigma REAL,
    scienceCcdExposureId INTEGER, extendedness REAL, flagPixEdge INTEGER, flagPixSaturCen INTEGER, flagBlended INTEGER, flagBadCentroid INTEGER, flagBadPsfFlux INTEGER
);
CREATE INDEX IF NOT EXISTS Source_radec ON Source (ra, decl);
CREATE INDEX IF NOT EXISTS Source_ccd ON Source (run, camcol, field, filterId);

CREATE TABLE IF NOT EXISTS RunDeepSource (
    deepSourceId INTEGER PRIMARY KEY,
    deepCoaddId INTEGER NOT NULL,
    tract INTEGER NOT NULL, patch TEXT NOT NULL, filterId INTEGER NOT NULL,
    ra REAL NOT NULL, decl REAL NOT NULL, raVar REAL, declVar REAL, x REAL, y REAL,
    psfFlux REAL, psfFluxSigma REAL, apFlux REAL, apFluxSigma REAL, modelFlux REAL, modelFluxSigma REAL, isPrimary INTEGER NOT NULL,
    extendedness REAL, flagPixEdge INTEGER, flagPixSaturCen INTEGER, flagBlended INTEGER, flagBadCentroid INTEGER, flagBadPsfFlux INTEGER
);
CREATE INDEX IF NOT EXISTS RunDeepSource_radec ON RunDeepSource (ra, decl);

CREATE TABLE IF NOT EXISTS RunDeepForcedSource (
    deepForcedSourceId INTEGER PRIMARY KEY,
    deepSourceId INTEGER NOT NULL,
    run INTEGER NOT NULL, camcol INTEGER NOT NULL, field INTEGER NOT NULL, filterId INTEGER NOT NULL,
    ra REAL NOT NULL, decl REAL NOT NULL,
    psfFlux REAL, psfFluxSigma REAL, modelFlux REAL, modelFluxSigma REAL,
    objectId INTEGER, scienceCcdExposureId INTEGER, flagPixEdge INTEGER, flagPixSaturCen INTEGER, flagBadPsfFlux INTEGER
);
CREATE INDEX IF NOT EXISTS RunDeepForcedSource_object ON RunDeepForcedSource (deepSourceId);
-- dcprod: end

-- dcprod: views
-- The DC2013 views, over the tables above or over their per-filter unions.
CREATE VIEW IF NOT EXISTS DeepSource AS SELECT * FROM RunDeepSource;
CREATE VIEW IF NOT EXISTS DeepForcedSource AS SELECT * FROM RunDeepForcedSource;
-- dcprod: end

-- dcprod: bookkeeping
-- The load ledger: one row per CSV file loaded, written in the same transaction as its rows.
CREATE TABLE IF NOT EXISTS dcprod_load (
    pathHash TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    checksum TEXT NOT NULL,
    tableName TEXT NOT NULL,
    rowCount INTEGER NOT NULL,
    loadedAt TEXT NOT NULL,
    -- The smallest and largest value of the table's key in the file (a single integer key only):
    -- the rows a rerun's file replaces (`CatalogLoader`). NULL: not recorded (a composite key, or a
    -- file loaded before schema version 3), and the file cannot be replaced.
    firstKey INTEGER,
    lastKey INTEGER
);

-- Secondary indexes dropped by `load --defer-indexes`, recorded before the drop, so that the next
-- load rebuilds them even if the one that dropped them was interrupted.
CREATE TABLE IF NOT EXISTS dcprod_deferred_index (
    indexName TEXT NOT NULL PRIMARY KEY,
    tableName TEXT NOT NULL,
    definition TEXT NOT NULL
);
-- dcprod: end

-- What each column holds: unit, UCD, meaning (templates/schema/columns, copied by `load --init`).
CREATE TABLE IF NOT EXISTS dcprod_column (
    tableName TEXT NOT NULL,
    columnName TEXT NOT NULL,
    unit TEXT,
    ucd TEXT,
    description TEXT NOT NULL,
    PRIMARY KEY (tableName, columnName)
);

-- Where each loaded file came from (schema v5), one row per file of dcprod_load, written after its load:
-- the table and key range of its rows (so that a row finds its file: tableName and firstKey <= key <=
-- lastKey), the event and attempt that wrote it, and what its job was planned with (the texts are in
-- the state store's provenance_text, by hash). `dcprod provenance` prints it.
CREATE TABLE IF NOT EXISTS dcprod_provenance (
    pathHash TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    tableName TEXT NOT NULL,
    firstKey INTEGER,
    lastKey INTEGER,
    step TEXT NOT NULL,
    filterName TEXT NOT NULL,
    eventKey TEXT NOT NULL,
    jobName TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    batchId TEXT,
    host TEXT,
    startedAt TEXT,
    endedAt TEXT,
    exitCode INTEGER,
    dcprodVersion TEXT,
    templateHash TEXT,
    batchHash TEXT,
    configHash TEXT
);
CREATE INDEX IF NOT EXISTS dcprod_provenance_keys ON dcprod_provenance (tableName, firstKey);

-- The files each loaded file's event read: a processCcd frame, a coadd's calexps with their frames.
CREATE TABLE IF NOT EXISTS dcprod_provenance_input (
    pathHash TEXT NOT NULL,
    position INTEGER NOT NULL,
    input TEXT NOT NULL,
    madeFrom TEXT,
    PRIMARY KEY (pathHash, position)
);

CREATE TABLE IF NOT EXISTS dcprod_schema (version INTEGER NOT NULL);
INSERT INTO dcprod_schema (version) VALUES (5);

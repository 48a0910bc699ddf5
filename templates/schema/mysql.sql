-- The dcprod catalog, MariaDB/MySQL dialect, schema version 5. DC2013-compatible names: the seed's
-- queries (DeepCoadd, DeepSource, ra, decl, raVar, declVar, psfFlux, ...) run as written.
CREATE TABLE IF NOT EXISTS Filter (
    filterId TINYINT NOT NULL PRIMARY KEY,
    filterName CHAR(1) NOT NULL
) ENGINE=InnoDB;
INSERT IGNORE INTO Filter (filterId, filterName) VALUES (0, 'u'), (1, 'g'), (2, 'r'), (3, 'i'), (4, 'z');

CREATE TABLE IF NOT EXISTS Science_Ccd_Exposure (
    run INT NOT NULL, camcol TINYINT NOT NULL, field INT NOT NULL, filterId TINYINT NOT NULL,
    ra DOUBLE, decl DOUBLE,
    corner1Ra DOUBLE, corner1Decl DOUBLE, corner2Ra DOUBLE, corner2Decl DOUBLE,
    corner3Ra DOUBLE, corner3Decl DOUBLE, corner4Ra DOUBLE, corner4Decl DOUBLE,
    zeroPoint DOUBLE, fwhm DOUBLE, nSources INT, nMatches INT, astromRms DOUBLE,
    scienceCcdExposureId BIGINT, fluxMag0 DOUBLE, fluxMag0Sigma DOUBLE,
    PRIMARY KEY (run, camcol, field, filterId)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS DeepCoadd (
    deepCoaddId BIGINT NOT NULL PRIMARY KEY,
    tract INT NOT NULL, patch VARCHAR(16) NOT NULL, filterId TINYINT NOT NULL,
    ra DOUBLE, decl DOUBLE,
    corner1Ra DOUBLE, corner1Decl DOUBLE, corner2Ra DOUBLE, corner2Decl DOUBLE,
    corner3Ra DOUBLE, corner3Decl DOUBLE, corner4Ra DOUBLE, corner4Decl DOUBLE,
    zeroPoint DOUBLE, fluxMag0 DOUBLE, nCalexps INT, path VARCHAR(4096), filterName CHAR(1),
    INDEX DeepCoadd_tract_patch (tract, patch, filterId)
) ENGINE=InnoDB;

-- dcprod: per-filter
-- The big tables. With DBSPLIT filter each filter's rows live in a database of their own
-- (MariaDB: DBNAME_f; SQLite: catalog_f.sqlite) and the main catalog has views of the same names
-- over the union of them.
-- processCcd's sources (one row per detection on a calexp).
CREATE TABLE IF NOT EXISTS Source (
    sourceId BIGINT NOT NULL PRIMARY KEY,
    run INT NOT NULL, camcol TINYINT NOT NULL, field INT NOT NULL, filterId TINYINT NOT NULL,
    ra DOUBLE NOT NULL, decl DOUBLE NOT NULL, raVar DOUBLE, declVar DOUBLE, x DOUBLE, y DOUBLE,
    psfFlux DOUBLE, psfFluxSigma DOUBLE, apFlux DOUBLE, apFluxSigma DOUBLE, modelFlux DOUBLE, modelFluxSigma DOUBLE,
    scienceCcdExposureId BIGINT, extendedness DOUBLE, flagPixEdge TINYINT, flagPixSaturCen TINYINT, flagBlended TINYINT, flagBadCentroid TINYINT, flagBadPsfFlux TINYINT,
    INDEX Source_radec (ra, decl),
    INDEX Source_ccd (run, camcol, field, filterId)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS RunDeepSource (
    deepSourceId BIGINT NOT NULL PRIMARY KEY,
    deepCoaddId BIGINT NOT NULL,
    tract INT NOT NULL, patch VARCHAR(16) NOT NULL, filterId TINYINT NOT NULL,
    ra DOUBLE NOT NULL, decl DOUBLE NOT NULL, raVar DOUBLE, declVar DOUBLE, x DOUBLE, y DOUBLE,
    psfFlux DOUBLE, psfFluxSigma DOUBLE, apFlux DOUBLE, apFluxSigma DOUBLE, modelFlux DOUBLE, modelFluxSigma DOUBLE, isPrimary TINYINT NOT NULL,
    extendedness DOUBLE, flagPixEdge TINYINT, flagPixSaturCen TINYINT, flagBlended TINYINT, flagBadCentroid TINYINT, flagBadPsfFlux TINYINT,
    INDEX RunDeepSource_radec (ra, decl)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS RunDeepForcedSource (
    deepForcedSourceId BIGINT NOT NULL PRIMARY KEY,
    deepSourceId BIGINT NOT NULL,
    run INT NOT NULL, camcol TINYINT NOT NULL, field INT NOT NULL, filterId TINYINT NOT NULL,
    ra DOUBLE NOT NULL, decl DOUBLE NOT NULL,
    psfFlux DOUBLE, psfFluxSigma DOUBLE, modelFlux DOUBLE, modelFluxSigma DOUBLE,
    objectId BIGINT, scienceCcdExposureId BIGINT, flagPixEdge TINYINT, flagPixSaturCen TINYINT, flagBadPsfFlux TINYINT,
    INDEX RunDeepForcedSource_object (deepSourceId)
) ENGINE=InnoDB;
-- dcprod: end

-- dcprod: views
-- The DC2013 views, over the tables above or over their per-filter unions.
CREATE OR REPLACE VIEW DeepSource AS SELECT * FROM RunDeepSource;
CREATE OR REPLACE VIEW DeepForcedSource AS SELECT * FROM RunDeepForcedSource;
-- dcprod: end

-- dcprod: bookkeeping
-- The load ledger: one row per CSV file loaded, written in the same transaction as its rows.
CREATE TABLE IF NOT EXISTS dcprod_load (
    pathHash CHAR(16) NOT NULL PRIMARY KEY,
    path TEXT NOT NULL,
    size BIGINT NOT NULL,
    checksum CHAR(16) NOT NULL,
    tableName VARCHAR(64) NOT NULL,
    rowCount BIGINT NOT NULL,
    loadedAt VARCHAR(32) NOT NULL,
    -- The smallest and largest value of the table's key in the file (a single integer key only):
    -- the rows a rerun's file replaces (`CatalogLoader`). NULL: not recorded (a composite key, or a
    -- file loaded before schema version 3), and the file cannot be replaced.
    firstKey BIGINT NULL,
    lastKey BIGINT NULL
) ENGINE=InnoDB;

-- Secondary indexes dropped by `load --defer-indexes`, recorded before the drop, so that the next
-- load rebuilds them even if the one that dropped them was interrupted.
CREATE TABLE IF NOT EXISTS dcprod_deferred_index (
    indexName VARCHAR(64) NOT NULL PRIMARY KEY,
    tableName VARCHAR(64) NOT NULL,
    definition TEXT NOT NULL
) ENGINE=InnoDB;
-- dcprod: end

-- What each column holds: unit, UCD, meaning (templates/schema/columns, copied by `load --init`).
CREATE TABLE IF NOT EXISTS dcprod_column (
    tableName VARCHAR(64) NOT NULL,
    columnName VARCHAR(64) NOT NULL,
    unit VARCHAR(16),
    ucd VARCHAR(64),
    description VARCHAR(255) NOT NULL,
    PRIMARY KEY (tableName, columnName)
) ENGINE=InnoDB;

-- Where each loaded file came from (schema v5), one row per file of dcprod_load, written after its load:
-- the table and key range of its rows (so that a row finds its file: tableName and firstKey <= key <=
-- lastKey), the event and attempt that wrote it, and what its job was planned with (the texts are in
-- the state store's provenance_text, by hash). `dcprod provenance` prints it.
CREATE TABLE IF NOT EXISTS dcprod_provenance (
    pathHash CHAR(16) NOT NULL PRIMARY KEY,
    path TEXT NOT NULL,
    tableName VARCHAR(64) NOT NULL,
    firstKey BIGINT NULL,
    lastKey BIGINT NULL,
    step VARCHAR(32) NOT NULL,
    filterName CHAR(1) NOT NULL,
    eventKey VARCHAR(255) NOT NULL,
    jobName VARCHAR(255) NOT NULL,
    attempt INT NOT NULL,
    batchId VARCHAR(64) NULL,
    host VARCHAR(255) NULL,
    startedAt VARCHAR(32) NULL,
    endedAt VARCHAR(32) NULL,
    exitCode INT NULL,
    dcprodVersion VARCHAR(32) NULL,
    templateHash CHAR(16) NULL,
    batchHash CHAR(16) NULL,
    configHash CHAR(16) NULL,
    INDEX dcprod_provenance_keys (tableName, firstKey)
) ENGINE=InnoDB;

-- The files each loaded file's event read: a processCcd frame, a coadd's calexps with their frames.
CREATE TABLE IF NOT EXISTS dcprod_provenance_input (
    pathHash CHAR(16) NOT NULL,
    position INT NOT NULL,
    input TEXT NOT NULL,
    madeFrom TEXT NULL,
    PRIMARY KEY (pathHash, position)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS dcprod_schema (version INT NOT NULL) ENGINE=InnoDB;
INSERT INTO dcprod_schema (version) VALUES (5);

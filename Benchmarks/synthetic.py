"""What the benchmarks share: timing a command, and a synthetic inventory written straight into a
production's state store (frames laid on Stripe 82's runs, camcols and fields, one processCcd event
each), so that planning tens of thousands of jobs needs no simulated images."""
import os, sqlite3, subprocess, time


def measured(argv, **kw):
    """Runs argv; returns (seconds, peak RSS in MiB, exit status)."""
    start = time.perf_counter()
    p = subprocess.Popen(argv, **kw)
    _, status, usage = os.wait4(p.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def inventory(state, data, filters, frames_per_filter):
    """FILTERS x FRAMES frames and their processCcd events in the state store `state`; returns their number."""
    db = sqlite3.connect(state)
    db.execute("PRAGMA journal_mode=WAL")

    def frames():
        fid = 0
        for filt in filters:
            for k in range(frames_per_filter):
                fid += 1
                run, camcol, field = 94 + 2000 * (k // 60000), 1 + (k // 10000) % 6, 11 + k % 10000
                path = f"{data}/DC_2013/input/{run}/{camcol}/fpC-{run:06d}-{filt}{camcol}-{field:04d}.fit"
                ra, dec = 5 + (k % 10000) * 0.005, -1.2 + camcol * 0.3
                yield (fid, path, run, camcol, field, filt, 2048, 1489, ra, dec, ra + .2, dec, ra + .2, dec + .2, ra, dec + .2,
                       ra + .1, dec + .1, 12_000_000, 0.0, "2026-11-25T00:00:00Z")

    # A generator, not a list: the calling process stays small, so the peak RSS of the commands it
    # measures afterwards (which starts from the forking process's) is theirs.
    db.executemany("INSERT INTO frame (id, path, run, camcol, field, filter, width, height, corner1Ra, corner1Decl, corner2Ra, "
                   "corner2Decl, corner3Ra, corner3Decl, corner4Ra, corner4Decl, centerRa, centerDecl, size, mtime, recordedAt) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", frames())
    db.execute("INSERT INTO event (step, filter, key, frameId) SELECT 'processCcd', filter, "
               "printf('%06d-%d-%04d', run, camcol, field), id FROM frame ORDER BY id")
    db.commit()
    db.close()
    return frames_per_filter * len(filters)

"""What the benchmarks share: timing a command, a synthetic inventory written straight into a
production's state store (frames laid on Stripe 82's runs, camcols and fields, one processCcd event
each), so that planning tens of thousands of jobs needs no simulated images, and the outcome records
its planned jobs would have written, with the outputs their manifests expect, so that verify needs no run."""
import errno, json, os, random, sqlite3, subprocess, time


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


class Outputs:
    """Output files that cost next to nothing: in each directory one small file, and every output a
    hard link to it (a regular file with some bytes, as verify wants of an `ok` event's outputs). A
    file has at most so many links (65,000 on ext4): then the directory gets another one."""

    def __init__(self):
        self.seeds = {}  # directory -> (the file every output there links to, its number)

    def seed(self, directory, number=0):
        path = os.path.join(directory, f".bench-output-{number}")
        os.makedirs(directory, exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"synthetic output\n")
        self.seeds[directory] = (path, number)
        return path

    def make(self, path):
        directory = os.path.dirname(path)
        seed, number = self.seeds.get(directory) or (self.seed(directory), 0)
        try:
            os.link(seed, path)
        except FileExistsError:
            pass  # made by an earlier run on the same tree
        except OSError as error:
            if error.errno != errno.EMLINK:
                raise
            os.link(self.seed(directory, number + 1), path)


def outcomes(state, tree, data, step="processCcd"):
    """One finished attempt per planned job of `step`, recorded in the state store, and its outcome
    file: one record per event, 2 % failures; an `ok` record gives exactly the outputs the job's
    manifest expects of the event, made as hard links under the production's data tree (`Outputs`).
    One job's manifest is read at a time. Returns (the files, the number of records)."""
    db = sqlite3.connect(state)
    rng = random.Random(7)
    files, records, attempts = [], 0, []
    made = Outputs()

    def line(record):
        return json.dumps(record, separators=(",", ":"))

    def write(job, keys):
        nonlocal records
        job_id, name, filt, manifest = job
        with open(manifest) as f:
            expected = {event["key"]: event["outputs"] for event in json.load(f)["events"]}
        out = f"{tree}/steps/{step}/{filt}/outcomes/{name}.a1.jsonl"
        lines = [line({"type": "start", "version": 1, "job": name, "attempt": 1, "host": "ccwsge0042", "pid": 4242,
                       "time": "2026-11-25T00:00:00Z"})]
        failures = 0
        for key in keys:
            if rng.random() < 0.98:
                outputs = expected[key]
                for output in outputs:
                    made.make(output)
                lines.append(line({"type": "event", "event": key, "status": "ok", "class": "ok", "message": "", "seconds": 151.2,
                                   "exit": 0, "outputs": outputs}))
            else:
                failures += 1
                lines.append(line({"type": "event", "event": key, "status": "failed", "class": "astrometry", "exit": 1,
                                   "seconds": 80.5, "message": f"{step}: {key}: astrometry problem: no solution: "
                                   "2 reference matches among 40 bright detections"}))
            records += 1
        lines.append(line({"type": "end", "exit": 1 if failures else 0, "events": len(keys), "time": "2026-11-25T01:00:00Z"}))
        with open(out, "w") as f:
            f.write("\n".join(lines) + "\n")
        files.append(out)
        attempts.append((job_id, 1, "local", f"bench-{name}", str(job_id), "done", out,
                         out.replace("outcomes", "logs").replace(".jsonl", ".log")))

    current, keys = None, []
    for job_id, name, filt, manifest, key in db.execute(
            "SELECT j.id, j.name, j.filter, j.manifest, e.key FROM job j JOIN job_event je ON je.jobId = j.id "
            "JOIN event e ON e.id = je.eventId WHERE j.step = ? ORDER BY j.id, je.position", (step,)):
        if current and current[0] != job_id:
            write(current, keys)
            keys = []
        current = (job_id, name, filt, manifest)
        keys.append(key)
    if current:
        write(current, keys)
    db.executemany("INSERT INTO attempt (jobId, number, backend, token, backendId, state, outcomes, log) VALUES (?,?,?,?,?,?,?,?)",
                   attempts)
    db.commit()
    db.close()
    return files, records


def result(work, size, unit, seconds, floor, floor_seconds, goal, rss=None, errors=None):
    """One line of `Benchmarks/run`'s table, appended as JSON to the file $DCPROD_BENCH_RESULTS when it
    is set (a benchmark run alone only prints). `goal`: {"ratio": R} (floor time / dcprod time at
    least R), {"rate": N} (at least N units/s), {"seconds": S} (at most S), {"mib": M} (peak RSS at
    most M MiB) or {"errors": N} (at most N failed requests: `errors`)."""
    path = os.environ.get("DCPROD_BENCH_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"work": work, "size": size, "unit": unit, "seconds": seconds, "rss": rss, "floor": floor,
                                "floor_seconds": floor_seconds, "goal": goal, "errors": errors}) + "\n")

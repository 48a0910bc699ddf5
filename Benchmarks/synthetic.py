"""What the benchmarks share: timing a command, a synthetic inventory written straight into a
production's state store (frames laid on Stripe 82's runs, camcols and fields, one processCcd event
each), so that planning tens of thousands of jobs needs no simulated images, and the outcome records
its planned jobs would have written, with the outputs their manifests expect, so that verify needs no run."""
import errno, json, os, random, signal, sqlite3, subprocess, time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Each step's template pointed at Benchmarks/campaign-payload: rules, timeout, the payload's arguments, outputs.
STEP_TEMPLATES = {
    "processCcd": ("reference", 600, "{{run}} {{camcol}} {{field}} {{filterId}}", "{{out}} {{stem}}",
                   ["calexp-{{stem}}.fits", "src-{{stem}}.csv", "ccd-{{stem}}.csv"]),
    "coadd": ("coadd", 1800, "{{tract}} {{patch}} {{filter}} {{filterId}}", "{{out}} {{key}}",
              ["deepCoadd-{{key}}-{{filter}}.fits", "deepsrc-{{key}}-{{filter}}.csv", "coadd-{{key}}-{{filter}}.csv"]),
    "forcedPhot": ("forced", 600, "{{run}} {{camcol}} {{field}} {{filterId}}", "{{out}} {{stem}}", ["forced-{{stem}}.csv"]),
}
TICK = os.sysconf("SC_CLK_TCK")
SLEEPS = {"35", "230"}  # nanosleep, clock_nanosleep (x86_64): Thread.sleep between passes


def synthetic_payload(tree):
    """Points each step's template of the production at Benchmarks/campaign-payload, which writes only
    small valid outputs with shell builtins."""
    payload = os.path.join(HERE, "Benchmarks/campaign-payload")
    for step, (rules, timeout, ids, head, outputs) in STEP_TEMPLATES.items():
        with open(f"{tree}/templates/steps/{step}.step", "w") as f:
            f.write(f"# Benchmarks/campaign: small valid outputs only\nrules {rules}\ntimeout {timeout}\n"
                    f"command /bin/sh {payload} {step} {head} {ids}\n" + "".join(f"output {{{{out}}}}/{o}\n" for o in outputs))


def own_peak():
    """Resets this process's peak RSS to its current RSS (Linux's /proc/self/clear_refs, 5), before a
    command is started to be measured. A child's ru_maxrss starts from the peak of the process it was
    forked (or vforked) from, kept across exec: without this, a command measured after this process
    grew (writing a synthetic inventory, outcome files) is given this process's peak, not its own."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def first_pass(argv, **kw):
    """The first pass of `dcprod run` (argv): runs it, sampled every 10 ms in /proc, until its passes'
    thread first sleeps (nanosleep, at least 0.1 s), then kills it (a run can be killed at any moment)
    and waits for it. Returns (seconds to that sleep, its own CPU seconds then, peak RSS in MiB), or
    those of the whole run when it ends without sleeping (a run with nothing to do makes one pass)."""
    own_peak()
    start = time.perf_counter()
    p = subprocess.Popen(argv, **kw)
    asleep_since, seen = None, None
    while True:
        pid, _, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            p.returncode = 0  # reaped here: Popen must not wait for it again
            return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
        try:
            with open(f"/proc/{p.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            cpu = (int(fields[11]) + int(fields[12])) / TICK
            with open(f"/proc/{p.pid}/status") as f:
                hwm = next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
            asleep = False
            for task in os.listdir(f"/proc/{p.pid}/task"):
                try:
                    with open(f"/proc/{p.pid}/task/{task}/syscall") as f:
                        asleep = asleep or f.read().split(" ", 1)[0].strip() in SLEEPS
                except OSError:
                    pass  # a thread that ended since the listing
        except (OSError, IndexError, StopIteration):
            continue  # ending: wait4 reaps it next
        now = time.perf_counter()
        if asleep and asleep_since is None:
            asleep_since, seen = now, (now - start, cpu, hwm)
        elif not asleep:
            asleep_since = None
        if asleep_since is not None and now - asleep_since >= 0.1:
            p.kill()
            p.wait()
            return seen
        time.sleep(0.01)


def measured(argv, **kw):
    """Runs argv; returns (seconds, peak RSS in MiB, exit status). The peak is the command's, or this
    process's current RSS if larger (`own_peak`)."""
    seconds, _, rss, status = measured_with_cpu(argv, **kw)
    return seconds, rss, status


def measured_with_cpu(argv, **kw):
    """`measured`, with the command's CPU seconds (user and system) after its wall seconds: on a shared
    machine the CPU holds where the wall does not."""
    own_peak()
    start = time.perf_counter()
    p = subprocess.Popen(argv, **kw)
    _, status, usage = os.wait4(p.pid, 0)
    return (time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
            os.waitstatus_to_exitcode(status))


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
    most M MiB), {"errors": N} (at most N failed requests: `errors`) or {"bytes": B} (`seconds` and
    `floor_seconds` are then bytes a unit, at most B)."""
    path = os.environ.get("DCPROD_BENCH_RESULTS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"work": work, "size": size, "unit": unit, "seconds": seconds, "rss": rss, "floor": floor,
                                "floor_seconds": floor_seconds, "goal": goal, "errors": errors}) + "\n")

# Snakemake's run of the DAG `dcprod run` ran in Benchmarks/campaign (its --snakemake VENV floor): one rule
# instance per event of processCcd, coadd and forcedPhot, each needing the outputs of the events it was
# planned on (the state store's event_input), each running the same payload with the same arguments
# (Benchmarks/campaign-payload, read from dcprod's manifests) into a directory of its own. Snakemake runs
# rule instances one a job locally (it ignores `group` there), so a job here is one event.
# config: dag, a JSON file the benchmark writes:
#   {"out": DIR, "payload": PATH, "events": {step: {filter: {name: {"args": [...], "inputs": [[step, filter, name], ...]}}}}}
# where name is the stem (processCcd, forcedPhot) or the patch key (coadd).
import json, shlex  # (the Snakefile runs in the namespace of snakemake.workflow: DAG is its own)

with open(config["dag"]) as f:
    CHAIN = json.load(f)
OUT, PAYLOAD, EVENTS = CHAIN["out"], CHAIN["payload"], CHAIN["events"]
# Each step's outputs, as its template in Benchmarks/campaign names them.
OUTPUTS = {
    "processCcd": ["calexp-{name}.fits", "src-{name}.csv", "ccd-{name}.csv"],
    "coadd": ["deepCoadd-{name}-{filt}.fits", "deepsrc-{name}-{filt}.csv", "coadd-{name}-{filt}.csv"],
    "forcedPhot": ["forced-{name}.csv"],
}

wildcard_constraints:
    filt = "[a-z]",
    name = "[^/]+",


def outputs(step, filt, name):
    return [f"{OUT}/{step}/{filt}/" + pattern.format(name=name, filt=filt) for pattern in OUTPUTS[step]]


def needed(step):
    """The outputs of the events an event of `step` was planned on."""
    return lambda w: [o for s, f, n in EVENTS[step][w.filt][w.name]["inputs"] for o in outputs(s, f, n)]


def arguments(step):
    return lambda w: " ".join(shlex.quote(a) for a in EVENTS[step][w.filt][w.name]["args"])


def declared(step):
    """The outputs of a rule of `step`, with its wildcards filt and name."""
    return [f"{OUT}/{step}/{{filt}}/" + pattern for pattern in OUTPUTS[step]]


rule all:
    input: [outputs(step, filt, name)[0] for step, filters in EVENTS.items() for filt, names in filters.items() for name in names]

rule processCcd:
    input: needed("processCcd")
    output: declared("processCcd")
    params: args = arguments("processCcd")
    shell: "/bin/sh {PAYLOAD:q} processCcd {OUT:q}/processCcd/{wildcards.filt} {wildcards.name:q} {params.args}"

rule coadd:
    input: needed("coadd")
    output: declared("coadd")
    params: args = arguments("coadd")
    shell: "/bin/sh {PAYLOAD:q} coadd {OUT:q}/coadd/{wildcards.filt} {wildcards.name:q} {params.args}"

rule forcedPhot:
    input: needed("forcedPhot")
    output: declared("forcedPhot")
    params: args = arguments("forcedPhot")
    shell: "/bin/sh {PAYLOAD:q} forcedPhot {OUT:q}/forcedPhot/{wildcards.filt} {wildcards.name:q} {params.args}"

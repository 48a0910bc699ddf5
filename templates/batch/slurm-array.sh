#!/bin/sh
# The task of a dcprod job array (BACKEND slurm): line SLURM_ARRAY_TASK_ID + 1 of the list file
# given as $1 names a job's batch script, its attempt, its token and its output file:
#   SCRIPT|ATTEMPT|TOKEN|OUTPUT
# The array's directives are those of the jobs' own scripts, passed to sbatch by dcprod.
line=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$1")
[ -n "$line" ] || { echo "dcprod array task $SLURM_ARRAY_TASK_ID: no line in $1" >&2; exit 3; }
script=${line%%|*}; rest=${line#*|}
DCPROD_ATTEMPT=${rest%%|*}; rest=${rest#*|}
DCPROD_TOKEN=${rest%%|*}; output=${rest#*|}
export DCPROD_ATTEMPT DCPROD_TOKEN
exec /bin/sh "$script" >>"$output" 2>&1

#!/usr/bin/env bash
# Time `make clean; make demo` on a fresh clone of this checkout's HEAD, as a newcomer would run it:
# first the set-up (virtualenv created, vpcflow and moto installed from the package index), then the
# demo itself. Each phase reports wall time and CPU time (user + sys of every process it started):
# on a machine shared with other work, wall time grows with the load while CPU time barely moves.
# Usage: bench/time_demo.sh [RUNS]   (default 1; the pip cache is whatever this machine has)
set -euo pipefail
RUNS=${1:-1}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
timed() {  # timed LABEL LOG COMMAND...: run it, print "LABEL wall W s cpu C s"
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
label, log, *cmd = sys.argv[1:]
start = time.perf_counter()
with open(log, "w") as out:
    code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{label} wall {wall:.1f} s cpu {usage.ru_utime + usage.ru_stime:.1f} s exit {code}")
sys.exit(code)
PY
}
for i in $(seq "$RUNS"); do
  rm -rf "$WORK/clone"
  git clone -q "$SRC" "$WORK/clone"
  cd "$WORK/clone"
  make clean > /dev/null
  echo "run $i (load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ))"
  timed "  set-up" "$WORK/setup-$i.log" make .venv/.installed-demo
  timed "  demo  " "$WORK/demo-$i.log" make demo
  echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg); the demo's last lines:"
  tail -n 5 "$WORK/demo-$i.log" | sed 's/^/    /'
  cd "$SRC"
done

#!/usr/bin/env bash
# The whole mission on one machine, each step a command you can run yourself:
#   1. an AWS account (moto in server mode, started and stopped here) with three VPCs;
#   2. audit shows which VPCs do not log their rejected traffic, enable plans and applies the fix,
#      audit again: every VPC compliant;
#   3. a simulated three-tier VPC's flow logs ingested, summarised, detected and explained;
#   4. the HTML report, then a five-line summary.
# No real AWS account is reached: every AWS call goes to the local moto server (AWS_ENDPOINT_URL).
set -euo pipefail
OUT=${DEMO_OUT:-demo-out}
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$OUT"
mkdir -p "$OUT"
# tables as wide as a normal terminal even when the output goes to a file or a pipe
if [ ! -t 1 ]; then export COLUMNS=${COLUMNS:-150}; fi

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }
# a step whose exit code 1 is part of the story (gaps found, findings found): shown, not fatal
step_may_fail() {
  local status=0
  step "$@" || status=$?
  if [ "$status" -gt 1 ]; then return "$status"; fi
  printf '(exit code %s)\n' "$status"
}
# a command whose JSON output is kept for later steps (its stderr notes are kept beside it)
to_file() {
  printf '$ %s > %s\n' "${*:2}" "$1"
  "${@:2}" > "$1" 2> "$1.stderr"
}
# long outputs are cut to their first lines here; run the command yourself for all of it
short() {
  printf '\n\033[1m== %s\033[0m\n$ %s   # first %s lines shown\n' "$1" "${*:3}" "$2"
  local status=0
  "${@:3}" > "$OUT/last-output.txt" || status=$?
  head -n "$2" "$OUT/last-output.txt"
  if [ "$status" -gt 1 ]; then return "$status"; fi
}

printf '\033[1m### 1. An AWS account to audit (moto in server mode on this machine)\033[0m\n'
PORT=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python -m moto.server -H 127.0.0.1 -p "$PORT" > "$OUT/moto.log" 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true' EXIT
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null  # ignore your own AWS setup
unset AWS_PROFILE AWS_SESSION_TOKEN
python - <<'EOF'
import os, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/moto-api/", timeout=1)
        break
    except OSError:
        time.sleep(0.2)
else:
    raise SystemExit("the moto server did not start; see demo-out/moto.log")
EOF
echo "moto serves AWS at $AWS_ENDPOINT_URL (pid $MOTO_PID); it stops when the demo ends."
step "Three VPCs: shop-web logs its rejects, shop-payments logs only ACCEPT, shop-legacy has no flow log" \
  python "$HERE/demo_account.py"

printf '\n\033[1m### 2. Prove every VPC logs its rejected traffic, and fix the ones that do not\033[0m\n'
step_may_fail "Audit: which VPCs do not record their rejected traffic (exit code 1: gaps)" \
  vpcflow audit --regions us-east-1 --format table
step_may_fail "The same audit as JSON, for CI and for the report" \
  vpcflow audit --regions us-east-1 --format json -o "$OUT/audit-before.json"
step "Enable: the plan (nothing changes without --apply)" \
  vpcflow enable --regions us-east-1 --format table
step "Enable --apply: create the flow logs, their log group and delivery role" \
  vpcflow enable --regions us-east-1 --apply --format table
step "Audit again: every VPC compliant (exit code 0)" \
  vpcflow audit --regions us-east-1 --format table
step "The audit the report reads" \
  vpcflow audit --regions us-east-1 --format json -o "$OUT/audit.json"

printf '\n\033[1m### 3. Make the logs useful: ingest, detect, explain\033[0m\n'
step "The example VPC and traffic scenario, as editable files" \
  vpcflow simulate --example three-tier --write-example "$OUT/example"
step "A day of the flow logs AWS would deliver to S3 (ground truth in labels.parquet)" \
  vpcflow simulate --example three-tier --seed 7 --out "$OUT/delivered" --format table
bucket=$(find "$OUT/delivered" -mindepth 1 -maxdepth 1 -type d | head -n 1)
short "Ingest the delivered files into a local store (one row per file)" 6 \
  vpcflow ingest "$bucket" --store "$OUT/store" --format csv --no-progress
short "Ingest again: nothing is added twice" 4 \
  vpcflow ingest "$bucket" --store "$OUT/store" --format csv --no-progress
step "What is in the store" \
  vpcflow stats --store "$OUT/store" --format table
step "SQL over the store" \
  vpcflow query "SELECT dstport, count(*) AS rejects FROM rejects GROUP BY 1 ORDER BY 2 DESC LIMIT 5" --store "$OUT/store" --format table
step_may_fail "Detections (gate a pipeline with --fail-on SEVERITY: exit code 1 on findings at or above it)" \
  vpcflow detect --store "$OUT/store" --snapshot "$OUT/example/snapshot.json" --format table
short "Why was it rejected, and what is the smallest fix" 40 \
  vpcflow explain --snapshot "$OUT/example/snapshot.json" --store "$OUT/store" --format table
step_may_fail "Would app -> db on 5432 pass, and if not which rule stops it (what-if before a change)" \
  vpcflow check --snapshot "$OUT/example/snapshot.json" --from 10.0.1.140 --to 10.0.2.10 --protocol tcp --port 5432 --format table

printf '\n\033[1m### 4. One look shows it all\033[0m\n'
step "The report: one HTML file that opens offline" \
  vpcflow report --store "$OUT/store" --snapshot "$OUT/example/snapshot.json" --audit "$OUT/audit.json" -o "$OUT/report.html"
REPORT="$OUT/report.html"
printf '\n\033[1m== The JSON behind the summary\033[0m\n'
to_file "$OUT/stats.json" vpcflow stats --store "$OUT/store" --format json
to_file "$OUT/findings.json" vpcflow detect --store "$OUT/store" --snapshot "$OUT/example/snapshot.json" --format json --fail-on none
to_file "$OUT/explain.json" vpcflow explain --snapshot "$OUT/example/snapshot.json" --store "$OUT/store" --format json

printf '\n\033[1m== Summary\033[0m\n'
python "$HERE/demo_summary.py" "$OUT" --report "$REPORT"

#!/usr/bin/env bash
# The end-to-end demo: a simulated three-tier VPC with an SSH brute force, a port scan, an internal
# misconfiguration and a dropped response; its flow logs ingested, summarised, detected and explained.
# Every step is a command you can run yourself.
set -euo pipefail
OUT=${DEMO_OUT:-demo-out}
rm -rf "$OUT"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }
# long outputs are cut to their first lines here; run the command yourself for all of it
short() {
  printf '\n\033[1m== %s\033[0m\n$ %s   # first %s lines shown\n' "$1" "${*:3}" "$2"
  local status=0
  "${@:3}" > "$OUT/last-output.txt" || status=$?
  head -n "$2" "$OUT/last-output.txt"
  return "$status"
}

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
set +e
step "Detections (exit code 1 means findings at or above --fail-on)" \
  vpcflow detect --store "$OUT/store" --snapshot "$OUT/example/snapshot.json" --format table
short "Why was it rejected, and what is the smallest fix" 40 \
  vpcflow explain --snapshot "$OUT/example/snapshot.json" --store "$OUT/store" --format table
step "Would app -> db on 5432 pass, and if not which rule stops it (what-if before a change)" \
  vpcflow check --snapshot "$OUT/example/snapshot.json" --from 10.0.1.140 --to 10.0.2.10 --protocol tcp --port 5432 --format table
set -e
printf '\nDemo files are in %s/.\n' "$OUT"

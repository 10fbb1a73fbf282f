#!/usr/bin/env bash
# The end-to-end demo: a simulated three-tier VPC with an SSH brute force, a port scan, an internal
# misconfiguration and a dropped response; its flow logs ingested, summarised, detected and explained.
# Every step is a command you can run yourself.
set -euo pipefail
OUT=${DEMO_OUT:-demo-out}
rm -rf "$OUT"
step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "The example VPC and traffic scenario, as editable files" \
  vpcflow simulate --example three-tier --write-example "$OUT/example"
step "A day of the flow logs AWS would deliver to S3 (ground truth in labels.parquet)" \
  vpcflow simulate --example three-tier --seed 7 --out "$OUT/delivered" --format table
bucket=$(find "$OUT/delivered" -mindepth 1 -maxdepth 1 -type d | head -n 1)
step "Ingest the delivered files into a local store" \
  vpcflow ingest "$bucket" --store "$OUT/store" --format table --no-progress
step "Ingest again: nothing is added twice" \
  vpcflow ingest "$bucket" --store "$OUT/store" --format csv --no-progress
step "What is in the store" \
  vpcflow stats --store "$OUT/store" --format table
step "SQL over the store" \
  vpcflow query "SELECT dstport, count(*) AS rejects FROM rejects GROUP BY 1 ORDER BY 2 DESC LIMIT 5" --store "$OUT/store" --format table
set +e
step "Detections (exit code 1 means findings at or above --fail-on)" \
  vpcflow detect --store "$OUT/store" --snapshot "$OUT/example/snapshot.json" --format table
step "Why was it rejected, and what is the smallest fix" \
  vpcflow explain --snapshot "$OUT/example/snapshot.json" --store "$OUT/store" --format table
set -e
printf '\nDemo files are in %s/.\n' "$OUT"

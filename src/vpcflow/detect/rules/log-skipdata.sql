/* ---
id: log-skipdata
title: Flow-log records were skipped (SKIPDATA)
summary: "{interface_id} lost flow-log records in {skipdata_records} capture windows"
category: log-health
severity: low
about_rejects: false
escalation: low; data loss makes every other detection blind for those windows.
description: >
  Records with log-status SKIPDATA: AWS could not capture some flow records in those aggregation
  intervals (capacity or internal error), so traffic, including rejects, is missing.
mitre:
  - {id: T1562.008, name: "Impair Defenses: Disable or Modify Cloud Logs", tactic: Defense Evasion}
parameters: {}
false_positives:
  - Occasional capacity-related SKIPDATA on very busy interfaces.
remediation: >
  Usually transient; if it persists on an interface, reduce its traffic volume per interval (60 s
  aggregation) or open an AWS support case.
references:
  - https://github.com/panther-labs/panther-analysis (AWS.VPC.HealthyLogStatus)
entities: [account_id, interface_id]
counts: [skipdata_records]
evidence: {from: health, match: [interface_id]}
tests:
  - name: a SKIPDATA record
    expect: fire
    records: [{log_status: SKIPDATA, action: null, srcaddr: null, dstaddr: null, srcport: null, dstport: null, protocol: null, packets: null, bytes: null}]
  - name: NODATA is not data loss
    expect: none
    records: [{log_status: NODATA, action: null, srcaddr: null, dstaddr: null, srcport: null, dstport: null, protocol: null, packets: null, bytes: null}]
  - name: an ordinary record
    expect: none
    records: [{}]
--- */
SELECT
    account_id,
    interface_id,
    min(start) AS first_seen,
    max("end") AS last_seen,
    count(*) AS skipdata_records
FROM health
WHERE log_status = 'SKIPDATA'
GROUP BY account_id, interface_id

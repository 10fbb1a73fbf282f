/* ---
id: log-silent
title: A network interface or flow log went silent
summary: "{scope} {subject} logged nothing for the last {silent_hours} hours of the data (active in {active_hours} hours before)"
category: log-health
severity: medium
about_rejects: false
escalation: medium; high when a whole account stopped logging.
description: >
  An interface (or every interface of an account) that logged regularly, NODATA rows included, and then
  stopped for at least silence_hours before the end of the data analysed: the flow log was deleted or
  its destination broke, or the interface was removed. Only subjects that were active in at least
  min_active_hours hours, and in most hours of their active span, are judged, so bursty interfaces of
  REJECT-only logs are not flagged for being quiet. A silent account is reported once, not per interface.
mitre:
  - {id: T1562.008, name: "Impair Defenses: Disable or Modify Cloud Logs", tactic: Defense Evasion}
parameters:
  silence_hours: {default: 3, description: "Hours without any record before the end of the data."}
  min_active_hours: {default: 6, description: "Hours with records a subject needs before silence means anything."}
  min_activity: {default: 0.75, description: "Share of the hours in its active span in which the subject logged."}
false_positives:
  - Instances stopped or terminated on purpose (their ENIs go silent).
  - REJECT-only flow logs on interfaces that are rarely probed.
remediation: >
  Check that the flow log still exists (aws ec2 describe-flow-logs) and that its destination accepts
  deliveries; look in CloudTrail for DeleteFlowLogs.
entities: [scope, subject]
counts: [active_hours, silent_hours]
evidence: {from: flows, match: []}
tests:
  - name: an interface that stopped while another went on
    expect: fire
    records:
      - {repeat: 8, interface_id: eni-quiet, start: "2024-05-01 0{i}:10:00"}
      - {repeat: 12, interface_id: eni-busy, start: "2024-05-01 {i:02d}:20:00"}
  - name: an interface that logged to the end
    expect: none
    records: [{repeat: 12, interface_id: eni-busy, start: "2024-05-01 {i:02d}:20:00"}]
--- */
WITH data_end AS (
    SELECT max("end") AS data_end FROM flows
),
per_eni AS (
    SELECT account_id, interface_id, min(start) AS first_seen, max("end") AS last_seen,
           count(DISTINCT date_trunc('hour', start)) AS active_hours
    FROM flows
    WHERE interface_id IS NOT NULL
    GROUP BY account_id, interface_id
),
per_account AS (
    SELECT account_id, min(first_seen) AS first_seen, max(last_seen) AS last_seen, count(*) AS interfaces
    FROM per_eni
    GROUP BY account_id
),
account_hours AS (
    SELECT account_id, count(DISTINCT date_trunc('hour', start)) AS active_hours
    FROM flows
    GROUP BY account_id
),
subjects AS (
    SELECT 'account' AS scope, a.account_id AS subject, a.account_id, a.first_seen, a.last_seen, h.active_hours
    FROM per_account AS a JOIN account_hours AS h ON h.account_id = a.account_id
    UNION ALL
    SELECT 'interface' AS scope, e.interface_id AS subject, e.account_id, e.first_seen, e.last_seen, e.active_hours
    FROM per_eni AS e
),
judged AS (
    SELECT s.*, date_diff('hour', date_trunc('hour', s.last_seen), date_trunc('hour', d.data_end)) AS silent_hours,
           date_diff('hour', date_trunc('hour', s.first_seen), date_trunc('hour', s.last_seen)) + 1 AS span_hours
    FROM subjects AS s CROSS JOIN data_end AS d
),
silent AS (
    SELECT * FROM judged
    WHERE silent_hours >= {{ silence_hours }}
      AND active_hours >= {{ min_active_hours }}
      AND active_hours >= {{ min_activity }} * span_hours
)
SELECT
    scope, subject, account_id, first_seen, last_seen, active_hours, silent_hours,
    CASE WHEN scope = 'account' THEN 'high' ELSE 'medium' END AS severity
FROM silent AS s
WHERE scope = 'account'
   OR NOT EXISTS (SELECT 1 FROM silent AS a WHERE a.scope = 'account' AND a.account_id = s.account_id)

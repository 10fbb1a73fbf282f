/* ---
id: probe-then-accept
title: Rejected probing followed by an accepted connection
summary: "{srcaddr} was rejected {rejected_records} times by {dstaddr}, then got through on port {accepted_port}"
category: initial-access
severity: high
escalation: high when the source is outside your address space; medium when it is internal (often a fixed misconfiguration).
description: >
  A source that was rejected many times by a target and then had a connection to that same target
  accepted: the scan or brute force found a way in, or a rule was opened for it. Rejections are
  counted over the whole period analysed; the accepted connection must start at or after the first
  rejection. Replies are ignored on both sides.
mitre:
  - {id: T1190, name: Exploit Public-Facing Application, tactic: Initial Access}
  - {id: T1110, name: Brute Force, tactic: Credential Access}
parameters:
  min_rejects: {default: 10, description: "Rejected records from the source to the target before the accepted connection."}
false_positives:
  - A security group opened on purpose after users hit the block (the internal case is rated medium for this reason).
remediation: >
  Review what the accepted connection reached (host logs for that port and time); if it was not meant to
  be reachable from this source, close the rule that allowed it.
entities: [srcaddr, dstaddr, accepted_port]
counts: [rejected_records, probed_ports, accepted_records]
evidence: {from: flows, match: [srcaddr, dstaddr]}
tests:
  - name: twelve rejected probes, then SSH accepted
    expect: fire
    severity: high
    records:
      - {repeat: 12, dstport: "1{i:02d}", start: "2024-05-01 10:00:{i:02d}"}
      - {dstport: 22, action: ACCEPT, start: "2024-05-01 10:05:00"}
  - name: an accepted connection before the probing does not count
    expect: none
    records:
      - {dstport: 22, action: ACCEPT, start: "2024-05-01 09:00:00"}
      - {repeat: 12, dstport: "1{i:02d}", start: "2024-05-01 10:00:{i:02d}"}
  - name: rejects without any accept
    expect: none
    records: [{repeat: 12, dstport: "1{i:02d}"}]
  - name: an internal source is medium
    expect: fire
    severity: medium
    records:
      - {repeat: 12, srcaddr: 10.0.9.9, dstport: 5432, start: "2024-05-01 10:00:{i:02d}"}
      - {srcaddr: 10.0.9.9, dstport: 5432, action: ACCEPT, start: "2024-05-01 12:00:00"}
--- */
WITH probes AS (
    SELECT srcaddr, dstaddr, min(start) AS first_reject, max("end") AS last_reject,
           count(*) AS rejected_records, count(DISTINCT dstport) AS probed_ports
    FROM rejects
    WHERE protocol IN (6, 17) AND NOT {{ response_like() }} AND NOT {{ straggler() }}
    GROUP BY srcaddr, dstaddr
    HAVING count(*) >= {{ min_rejects }}
),
accepts AS (
    SELECT f.srcaddr, f.dstaddr, min(f.start) AS first_accept, max(f."end") AS last_accept,
           count(*) AS accepted_records, min(f.dstport) AS accepted_port
    FROM flows AS f
    JOIN probes AS p ON f.srcaddr = p.srcaddr AND f.dstaddr = p.dstaddr
    WHERE f.action = 'ACCEPT' AND f.start >= p.first_reject AND NOT {{ response_like('f') }}
    GROUP BY f.srcaddr, f.dstaddr
)
SELECT
    p.srcaddr,
    p.dstaddr,
    a.accepted_port,
    p.first_reject AS first_seen,
    CASE WHEN a.last_accept > p.last_reject THEN a.last_accept ELSE p.last_reject END AS last_seen,
    a.first_accept,
    p.rejected_records,
    p.probed_ports,
    a.accepted_records,
    CASE WHEN {{ is_internal('p.srcaddr') }} THEN 'medium' ELSE 'high' END AS severity
FROM probes AS p
JOIN accepts AS a ON a.srcaddr = p.srcaddr AND a.dstaddr = p.dstaddr

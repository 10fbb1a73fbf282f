/* ---
id: port-sweep-horizontal
title: Inbound horizontal port sweep
summary: "{srcaddr} tried port {dstport} on {distinct_targets} of your addresses within an hour ({accepted_targets} accepted)"
category: reconnaissance
severity: low
escalation: >
  low while every attempt was rejected; medium when at least one target accepted; high when targets
  accepted and the sweep reached at least high_targets addresses.
description: >
  An outside address tried the same destination port on many of your addresses within one hour: the
  pattern of a worm or of a scanner looking for one service. Counts distinct targets per (source, port,
  protocol, hour), both actions, replies excluded.
mitre:
  - {id: T1046, name: Network Service Discovery, tactic: Discovery}
  - {id: T1595.001, name: "Active Scanning: Scanning IP Blocks", tactic: Reconnaissance}
parameters:
  min_targets: {default: 10, description: "Distinct targets per source, port and hour (Tailpipe draft and Google CSA 6.01: 10 per hour)."}
  high_targets: {default: 50, description: "Targets that make an accepted sweep high severity (Tailpipe draft: 50)."}
false_positives:
  - Internet-wide research scanners (Shodan, Censys) against public subnets.
  - Health checkers of an external monitoring service (allowlist them).
remediation: >
  Confirm the port is meant to be reachable on every accepted target; otherwise restrict the security
  group to the sources that need it.
entities: [srcaddr, dstport, protocol]
counts: [distinct_targets, accepted_targets, records, packets]
evidence: {from: flows, match: [srcaddr, dstport]}
tests:
  - name: port 445 on eleven hosts
    expect: fire
    severity: low
    records: [{repeat: 11, dstport: 445, dstaddr: "10.0.1.{i}"}]
  - name: sixty hosts with some accepted
    expect: fire
    severity: high
    records: [{repeat: 60, dstport: 22, dstaddr: "10.0.1.{i}"}, {dstport: 22, dstaddr: 10.0.1.200, action: ACCEPT}]
  - name: nine hosts stay below the threshold
    expect: none
    records: [{repeat: 9, dstport: 445, dstaddr: "10.0.1.{i}"}]
  - name: two hours of five hosts each are two separate windows
    expect: none
    records:
      - {repeat: 5, dstport: 445, dstaddr: "10.0.1.{i}", start: "2024-05-01 10:0{i}:00"}
      - {repeat: 5, dstport: 445, dstaddr: "10.0.2.{i}", start: "2024-05-01 11:0{i}:00"}
--- */
SELECT
    srcaddr,
    dstport,
    protocol,
    date_trunc('hour', start) AS bin_start,
    min(start) AS first_seen,
    max("end") AS last_seen,
    count(DISTINCT dstaddr) AS distinct_targets,
    count(DISTINCT CASE WHEN action = 'ACCEPT' THEN dstaddr END) AS accepted_targets,
    count(*) AS records,
    sum(packets) AS packets,
    CASE
        WHEN count(DISTINCT CASE WHEN action = 'ACCEPT' THEN dstaddr END) > 0
             AND count(DISTINCT dstaddr) >= {{ high_targets }} THEN 'high'
        WHEN count(DISTINCT CASE WHEN action = 'ACCEPT' THEN dstaddr END) > 0 THEN 'medium'
        ELSE 'low'
    END AS severity
FROM flows
WHERE action IN ('ACCEPT', 'REJECT')
  AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL
  AND protocol IN (6, 17)
  AND dstport IS NOT NULL
  AND NOT {{ is_internal('srcaddr') }}
  AND NOT {{ response_like() }}
GROUP BY srcaddr, dstport, protocol, date_trunc('hour', start)
HAVING count(DISTINCT dstaddr) >= {{ min_targets }}

/* ---
id: threat-list-match
title: Traffic with an address on your threat list
summary: "{matched_ip} ({indicator}{label_note}) {direction}: {records} records, {accepted_records} accepted"
category: threat-intel
severity: low
escalation: low when every record was rejected (the controls held); high when any was accepted (traffic was exchanged with a known-bad address).
description: >
  Records whose source or destination address lies in an address or CIDR block of the threat list given
  with --threat-list (one entry a line, or CSV with the address in the first column and an optional
  label), like GuardDuty's custom threat lists. IPv4 blocks match by range; IPv6 entries match exactly.
requires: [threat_list]
mitre:
  - {id: T1071, name: Application Layer Protocol, tactic: Command and Control}
parameters: {}
false_positives:
  - Stale or over-broad entries in the list (shared hosting, CDN ranges).
remediation: >
  Accepted traffic: find the host's process talking to the address and treat the host as suspect; block
  the address in the network ACL. Rejected only: no action needed beyond keeping the block.
entities: [matched_ip, indicator, direction]
counts: [records, accepted_records, packets, bytes, local_addresses]
evidence: {from: flows, match: []}
tests:
  - name: a listed scanner rejected inbound
    expect: fire
    severity: low
    threat_list: [198.51.100.0/24]
    records: [{dstport: 22}]
  - name: an instance talking to a listed C2 address
    expect: fire
    severity: high
    threat_list: [203.0.113.66]
    records: [{srcaddr: 10.0.1.5, dstaddr: 203.0.113.66, dstport: 8443, action: ACCEPT, flow_direction: egress}]
  - name: addresses not on the list
    expect: none
    threat_list: [192.0.2.0/24]
    records: [{dstport: 22}]
--- */
WITH sides AS (
    SELECT start, "end", action, packets, bytes, srcaddr AS matched_ip, dstaddr AS local_ip, 'inbound' AS direction
    FROM flows WHERE action IS NOT NULL AND srcaddr IS NOT NULL
    UNION ALL
    SELECT start, "end", action, packets, bytes, dstaddr AS matched_ip, srcaddr AS local_ip, 'outbound' AS direction
    FROM flows WHERE action IS NOT NULL AND dstaddr IS NOT NULL
),
numbered AS (
    -- the address as a number once per record, so the range join compares integers
    SELECT *, {{ ipnum('matched_ip') }} AS ip_num FROM sides
),
bounds AS (
    SELECT min(lo) AS lo, max(hi) AS hi FROM threat_list
),
hits AS (
    SELECT n.start, n."end", n.action, n.packets, n.bytes, n.matched_ip, n.local_ip, n.direction, t.indicator, t.label
    FROM numbered AS n
    CROSS JOIN bounds AS b
    JOIN threat_list AS t ON n.ip_num >= t.lo AND n.ip_num <= t.hi
    WHERE n.ip_num BETWEEN b.lo AND b.hi
    UNION ALL
    SELECT s.start, s."end", s.action, s.packets, s.bytes, s.matched_ip, s.local_ip, s.direction, t.indicator, t.label
    FROM sides AS s JOIN threat_list AS t ON lower(s.matched_ip) = t.address
    WHERE s.matched_ip LIKE '%:%'
)
SELECT
    matched_ip,
    indicator,
    direction,
    max(label) AS label,
    CASE WHEN max(label) IS NULL OR max(label) = '' THEN '' ELSE concat(', ', max(label)) END AS label_note,
    min(start) AS first_seen,
    max("end") AS last_seen,
    count(*) AS records,
    sum(CASE WHEN action = 'ACCEPT' THEN 1 ELSE 0 END) AS accepted_records,
    sum(packets) AS packets,
    sum(bytes) AS bytes,
    count(DISTINCT local_ip) AS local_addresses,
    CASE WHEN sum(CASE WHEN action = 'ACCEPT' THEN 1 ELSE 0 END) > 0 THEN 'high' ELSE 'low' END AS severity
FROM hits
GROUP BY matched_ip, indicator, direction

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
WITH addresses AS (
    -- each address once: the number conversion and range join cost per distinct address, not per record
    SELECT srcaddr AS ip FROM flows WHERE srcaddr IS NOT NULL AND action IS NOT NULL
    UNION
    SELECT dstaddr AS ip FROM flows WHERE dstaddr IS NOT NULL AND action IS NOT NULL
),
bounds AS (
    SELECT min(lo) AS lo, max(hi) AS hi,
           CAST(floor(min(lo) / 16777216) AS BIGINT) AS first_octet_lo,
           CAST(floor(max(hi) / 16777216) AS BIGINT) AS first_octet_hi
    FROM threat_list
),
numbered AS (
    -- the whole address as a number only where its first octet can fall in a listed block
    SELECT a.ip, {{ ipnum('a.ip') }} AS ip_num
    FROM addresses AS a CROSS JOIN bounds AS b
    WHERE a.ip LIKE '%.%.%.%' AND a.ip NOT LIKE '%:%'
      AND CAST(split_part(a.ip, '.', 1) AS BIGINT) BETWEEN b.first_octet_lo AND b.first_octet_hi
),
listed AS (
    SELECT n.ip, t.indicator, t.label
    FROM numbered AS n
    CROSS JOIN bounds AS b
    JOIN threat_list AS t ON n.ip_num >= t.lo AND n.ip_num <= t.hi
    WHERE n.ip_num BETWEEN b.lo AND b.hi
    UNION ALL
    SELECT a.ip, t.indicator, t.label
    FROM addresses AS a JOIN threat_list AS t ON lower(a.ip) = t.address
    WHERE a.ip LIKE '%:%'
),
hits AS (
    SELECT f.start, f."end", f.action, f.packets, f.bytes, l.ip AS matched_ip, f.dstaddr AS local_ip,
           'inbound' AS direction, l.indicator, l.label
    FROM flows AS f JOIN listed AS l ON f.srcaddr = l.ip
    WHERE f.action IS NOT NULL
    UNION ALL
    SELECT f.start, f."end", f.action, f.packets, f.bytes, l.ip AS matched_ip, f.srcaddr AS local_ip,
           'outbound' AS direction, l.indicator, l.label
    FROM flows AS f JOIN listed AS l ON f.dstaddr = l.ip
    WHERE f.action IS NOT NULL
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

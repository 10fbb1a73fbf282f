/* ---
id: port-scan-vertical
title: Inbound vertical port scan
summary: "{srcaddr} probed {distinct_ports} ports on {dstaddr} within an hour ({accepted_ports} accepted)"
category: reconnaissance
severity: low
escalation: >
  low while every probe was rejected (background Internet noise); medium when at least one probed port
  was accepted (the scan found something open); high when it was accepted and covered at least
  high_ports ports.
description: >
  An outside address tried many different destination ports on one of your addresses within one hour
  window. Counts distinct destination ports per (source, target, hour) over TCP and UDP, both actions,
  skipping records that look like replies (server port to ephemeral port, SYN-ACK) so that NACL-dropped
  return traffic of a busy server is not read as a scan.
mitre:
  - {id: T1046, name: Network Service Discovery, tactic: Discovery}
  - {id: T1595.001, name: "Active Scanning: Scanning IP Blocks", tactic: Reconnaissance}
parameters:
  min_ports: {default: 10, description: "Distinct destination ports per source, target and hour (Panther AWS.VPC.PortScanning: 10 per 60 min)."}
  high_ports: {default: 100, description: "Distinct ports that make an accepted scan high severity (Tailpipe draft tiers: 50/100)."}
false_positives:
  - Authorised vulnerability scanners and attack-surface monitoring (allowlist their CIDRs).
  - Peers whose replies reach you from a high server port (tune min_ports or allowlist the peer).
remediation: >
  If only rejects: nothing is exposed; consider blocking the source in a network ACL if it persists.
  If ports were accepted: check that each accepted port should be reachable from the Internet and
  narrow the security group otherwise.
references:
  - https://github.com/panther-labs/panther-analysis (AWS.VPC.PortScanning)
entities: [srcaddr, dstaddr]
counts: [distinct_ports, accepted_ports, records, packets]
evidence: {from: flows, match: [srcaddr, dstaddr]}
tests:
  - name: twelve ports from the Internet, all rejected
    expect: fire
    severity: low
    records: [{repeat: 12, dstport: "1{i:02d}"}]
  - name: twelve ports with one accepted
    expect: fire
    severity: medium
    records: [{repeat: 11, dstport: "1{i:02d}"}, {dstport: 22, action: ACCEPT}]
  - name: nine ports stay below the threshold
    expect: none
    records: [{repeat: 9, dstport: "1{i:02d}"}]
  - name: replies from port 443 to many ephemeral ports are not a scan
    expect: none
    records: [{repeat: 20, srcaddr: 52.94.1.1, srcport: 443, dstport: "400{i:02d}"}]
  - name: an internal source is the outbound rule's business
    expect: none
    records: [{repeat: 12, srcaddr: 10.0.2.9, dstport: "1{i:02d}"}]
--- */
SELECT
    srcaddr,
    dstaddr,
    date_trunc('hour', start) AS bin_start,
    min(start) AS first_seen,
    max("end") AS last_seen,
    count(DISTINCT dstport) AS distinct_ports,
    count(DISTINCT CASE WHEN action = 'ACCEPT' THEN dstport END) AS accepted_ports,
    count(*) AS records,
    sum(packets) AS packets,
    min(dstport) AS lowest_port,
    max(dstport) AS highest_port,
    CASE
        WHEN count(DISTINCT CASE WHEN action = 'ACCEPT' THEN dstport END) > 0
             AND count(DISTINCT dstport) >= {{ high_ports }} THEN 'high'
        WHEN count(DISTINCT CASE WHEN action = 'ACCEPT' THEN dstport END) > 0 THEN 'medium'
        ELSE 'low'
    END AS severity
FROM flows
WHERE action IN ('ACCEPT', 'REJECT')
  AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL
  AND protocol IN (6, 17)
  AND dstport IS NOT NULL
  AND NOT {{ is_internal('srcaddr') }}
  AND NOT {{ response_like() }}
GROUP BY srcaddr, dstaddr, date_trunc('hour', start)
HAVING count(DISTINCT dstport) >= {{ min_ports }}

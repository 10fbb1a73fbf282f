/* ---
id: outbound-port-scan
title: Port scan from an internal host
summary: "{srcaddr} tried {distinct_ports} ports on {dstaddr} within an hour"
category: discovery
severity: medium
escalation: medium against an outside target (GuardDuty Recon:EC2/Portscan); high against an internal target (lateral reconnaissance, Panther rates a private source high).
description: >
  One of your hosts tried many destination ports on one address within an hour. Counts distinct
  destination ports per (source, target, hour) over the traffic your hosts sent (egress records, or
  records from internal addresses when the format has no flow-direction), both actions, excluding the
  everyday client ports Panther excludes (53, 80, 123, 443, 445, 853, 2049) and replies. As in
  Panther's AWS.VPC.PortScanning, ingress records are not counted: a flow seen on both ENIs counts once.
mitre:
  - {id: T1046, name: Network Service Discovery, tactic: Discovery}
parameters:
  min_ports: {default: 10, description: "Distinct destination ports per source, target and hour (Panther AWS.VPC.PortScanning)."}
  common_ports: {default: [53, 80, 123, 443, 445, 853, 2049], description: "Ports not counted (Panther's list)."}
false_positives:
  - Vulnerability scanners and asset discovery run from inside the VPC (allowlist them).
remediation: >
  Find the process making the connections on the source host; if it is not an authorised scanner,
  isolate the instance.
entities: [srcaddr, dstaddr]
counts: [distinct_ports, records, packets]
evidence: {from: flows, match: [srcaddr, dstaddr]}
tests:
  - name: an instance scanning an Internet host
    expect: fire
    severity: medium
    records: [{repeat: 12, srcaddr: 10.0.1.5, dstaddr: 203.0.113.9, dstport: "20{i:02d}", flow_direction: egress}]
  - name: an instance scanning a neighbour is high
    expect: fire
    severity: high
    records: [{repeat: 12, srcaddr: 10.0.1.5, dstaddr: 10.0.1.6, dstport: "20{i:02d}", action: ACCEPT}]
  - name: ingress records at the target are not counted (Panther agrees)
    expect: none
    records: [{repeat: 12, srcaddr: 10.0.1.5, dstaddr: 10.0.1.6, dstport: "20{i:02d}", flow_direction: ingress}]
  - name: common client ports are not counted
    expect: none
    records: [{repeat: 7, srcaddr: 10.0.1.5, dstaddr: 203.0.113.9, dstport: [53, 80, 123, 443, 445, 853, 2049]},
              {repeat: 5, srcaddr: 10.0.1.5, dstaddr: 203.0.113.9, dstport: "30{i:02d}"}]
--- */
SELECT
    srcaddr,
    dstaddr,
    date_trunc('hour', start) AS bin_start,
    min(start) AS first_seen,
    max("end") AS last_seen,
    count(DISTINCT dstport) AS distinct_ports,
    count(*) AS records,
    sum(packets) AS packets,
    CASE WHEN {{ is_internal('dstaddr') }} THEN 'high' ELSE 'medium' END AS severity
FROM flows
WHERE action IN ('ACCEPT', 'REJECT')
  AND protocol IN (6, 17)
  AND dstport NOT IN ({{ common_ports }})
  AND {{ outbound() }}
  AND NOT {{ response_like() }}
GROUP BY srcaddr, dstaddr, date_trunc('hour', start)
HAVING count(DISTINCT dstport) >= {{ min_ports }}

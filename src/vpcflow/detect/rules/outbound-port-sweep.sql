/* ---
id: outbound-port-sweep
title: Port sweep from an internal host
summary: "{srcaddr} tried port {dstport} on {distinct_targets} addresses within an hour ({internal_targets} internal)"
category: discovery
severity: medium
escalation: high when the sweep reached at least high_targets addresses (GuardDuty Impact:EC2/PortSweep is high).
description: >
  One of your hosts tried the same port on many addresses within an hour: worm-like propagation or
  lateral reconnaissance (SMB, SSH, RDP, databases). Counts distinct targets per (source, port, protocol,
  hour), both actions, excluding everyday client ports (DNS, HTTP(S), NTP) and replies.
mitre:
  - {id: T1046, name: Network Service Discovery, tactic: Discovery}
  - {id: T1210, name: Exploitation of Remote Services, tactic: Lateral Movement}
parameters:
  min_targets: {default: 20, description: "Distinct targets per source, port and hour (between Tailpipe's 10 and Elastic's 100; internal monitoring makes 10 noisy)."}
  high_targets: {default: 100, description: "Targets that make the sweep high severity (Elastic: 100)."}
  common_ports: {default: [53, 80, 123, 443, 853], description: "Client ports not counted."}
false_positives:
  - Monitoring or service-discovery agents that poll every host (Prometheus node exporters, Consul).
remediation: >
  Identify the process on the source host; isolate the instance if the sweep is not an authorised tool.
entities: [srcaddr, dstport, protocol]
counts: [distinct_targets, internal_targets, records, packets]
evidence: {from: flows, match: [srcaddr, dstport]}
tests:
  - name: SMB to twenty-five neighbours
    expect: fire
    severity: medium
    records: [{repeat: 25, srcaddr: 10.0.1.5, dstaddr: "10.0.2.{i}", dstport: 445}]
  - name: HTTPS to many sites is everyday traffic
    expect: none
    records: [{repeat: 30, srcaddr: 10.0.1.5, dstaddr: "203.0.113.{i}", dstport: 443, action: ACCEPT}]
  - name: an outside source is the inbound rule's business
    expect: none
    records: [{repeat: 25, dstaddr: "10.0.2.{i}", dstport: 445}]
--- */
SELECT
    srcaddr,
    dstport,
    protocol,
    date_trunc('hour', start) AS bin_start,
    min(start) AS first_seen,
    max("end") AS last_seen,
    count(DISTINCT dstaddr) AS distinct_targets,
    count(DISTINCT CASE WHEN {{ is_internal('dstaddr') }} THEN dstaddr END) AS internal_targets,
    count(*) AS records,
    sum(packets) AS packets,
    CASE WHEN count(DISTINCT dstaddr) >= {{ high_targets }} THEN 'high' ELSE 'medium' END AS severity
FROM flows
WHERE action IN ('ACCEPT', 'REJECT')
  AND protocol IN (6, 17)
  AND dstport NOT IN ({{ common_ports }})
  AND {{ outbound() }}
  AND NOT {{ response_like() }}
GROUP BY srcaddr, dstport, protocol, date_trunc('hour', start)
HAVING count(DISTINCT dstaddr) >= {{ min_targets }}

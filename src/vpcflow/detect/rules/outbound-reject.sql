/* ---
id: outbound-reject
title: Outbound traffic from an internal host rejected
summary: "{srcaddr} was refused {records} times sending to port {dstport} of {distinct_destinations} outside addresses"
category: command-and-control
severity: low
escalation: medium when the port is a common command-and-control, IRC, Tor or mining port (suspicious_ports).
description: >
  An internal host tried to reach addresses outside your address space and an outbound security-group
  or network-ACL rule refused it. Blocked egress is either a missing rule for a legitimate dependency or
  malware whose callbacks your egress filtering stopped. Replies and post-close stragglers are excluded.
mitre:
  - {id: T1071, name: Application Layer Protocol, tactic: Command and Control}
  - {id: T1041, name: Exfiltration Over C2 Channel, tactic: Exfiltration}
parameters:
  suspicious_ports:
    default: [4444, 6666, 6667, 6697, 1337, 31337, 3333, 5555, 9001, 9030, 14444, 45700]
    description: "Metasploit, IRC, leet, mining-pool stratum and Tor ports."
false_positives:
  - Software updates or telemetry to endpoints your egress rules do not list.
remediation: >
  If the destination is a dependency, add the egress rule (or a VPC endpoint); otherwise investigate
  the process on the host that keeps trying.
entities: [srcaddr, interface_id, dstport, protocol]
counts: [records, distinct_destinations, packets]
evidence: {from: rejects, match: [srcaddr, dstport]}
tests:
  - name: an instance refused on port 4444 to the Internet
    expect: fire
    severity: medium
    records: [{repeat: 2, srcaddr: 10.0.1.5, dstaddr: 203.0.113.66, dstport: 4444, flow_direction: egress}]
  - name: HTTPS to the Internet refused is low
    expect: fire
    severity: low
    records: [{srcaddr: 10.0.1.5, dstaddr: 203.0.113.66, dstport: 443, flow_direction: egress}]
  - name: the reply of a web server to a client is not outbound traffic
    expect: none
    records: [{srcaddr: 10.0.1.5, dstaddr: 203.0.113.66, srcport: 443, dstport: 51515, flow_direction: egress}]
  - name: accepted outbound traffic is not reported
    expect: none
    records: [{srcaddr: 10.0.1.5, dstaddr: 203.0.113.66, dstport: 4444, action: ACCEPT}]
--- */
SELECT
    srcaddr,
    interface_id,
    dstport,
    protocol,
    min(start) AS first_seen,
    max("end") AS last_seen,
    count(*) AS records,
    count(DISTINCT dstaddr) AS distinct_destinations,
    sum(packets) AS packets,
    min(dstaddr) AS sample_destination,
    CASE WHEN dstport IN ({{ suspicious_ports }}) THEN 'medium' ELSE 'low' END AS severity
FROM rejects
WHERE {{ outbound() }}
  AND NOT {{ is_internal('dstaddr') }}
  AND NOT {{ response_like() }}
  AND NOT {{ straggler() }}
GROUP BY srcaddr, interface_id, dstport, protocol

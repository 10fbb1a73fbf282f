/* ---
id: internal-reject
title: Rejected traffic between your own hosts
summary: "{category}: {srcaddr} -> {dstaddr} port {service_port} rejected {records} times on {interface_id} ({flow_direction})"
category: misconfiguration
severity: medium
escalation: >
  medium for both categories: 'request' (a connection attempt between two internal hosts was refused:
  a security group or network ACL lacks a rule one of your services relies on) and 'response' (the reply
  of an accepted connection was dropped: a stateless network ACL lacks its ephemeral-port rule).
description: >
  REJECT records whose source and destination both lie in your address space (the internal_cidrs of
  the configuration: RFC 1918, 100.64.0.0/10 and fc00::/7 by default, or your VPC CIDRs). Noise is
  removed: TCP records carrying only FIN and/or RST (or, in formats without tcp-flags, replies of at most
  two bare 40-byte segments) are packets that arrived after the connection closed and are not reported; rejects that are the reply half of an accepted connection (the reverse tuple was
  accepted, or the record looks like a reply) are grouped under category 'response', keyed by the
  service that replied. Grouped per interface and direction, which shows where the drop happened.
mitre:
  - {id: T1046, name: Network Service Discovery, tactic: Discovery}
parameters: {}
false_positives:
  - An internal scanner (allowlist it) or a compromised host probing laterally (see outbound-port-scan).
  - Traffic to a decommissioned service that clients still try to reach.
remediation: >
  request: add an inbound rule on the destination's security group (or network ACL) for this source and
  port, or an outbound rule on the source's; 'vpcflow explain' names the exact rule that dropped it.
  response: add the ephemeral port range (1024-65535) to the network ACL in the reply direction.
entities: [category, srcaddr, dstaddr, service_port, protocol, interface_id, flow_direction]
counts: [records, packets, client_ports]
evidence: {from: rejects, match: [srcaddr, dstaddr, interface_id]}
tests:
  - name: a host refused on the database port
    expect: fire
    records: [{repeat: 3, srcaddr: 10.0.1.20, dstaddr: 10.0.2.30, dstport: 5432}]
  - name: post-close FIN/RST stragglers are not reported
    expect: none
    records: [{repeat: 3, srcaddr: 10.0.1.20, dstaddr: 10.0.2.30, dstport: 5432, tcp_flags: 4}]
  - name: traffic from the Internet is not internal
    expect: none
    records: [{repeat: 3, dstport: 5432}]
  - name: bare 40-byte replies after close are stragglers even without tcp-flags
    expect: none
    records: [{repeat: 4, srcaddr: 10.0.1.10, dstaddr: 10.0.0.10, srcport: 8080, dstport: "5{i}000", packets: 1, bytes: 40}]
  - name: a reply dropped by the network ACL is grouped as a response
    expect: fire
    records:
      - {srcaddr: 10.0.1.20, dstaddr: 10.0.2.30, srcport: 43210, dstport: 8081, action: ACCEPT, interface_id: eni-0b}
      - {srcaddr: 10.0.2.30, dstaddr: 10.0.1.20, srcport: 8081, dstport: 43210, interface_id: eni-0b, flow_direction: egress}
--- */
WITH r AS (
    SELECT *
    FROM rejects
    WHERE {{ is_internal('srcaddr') }} AND {{ is_internal('dstaddr') }} AND NOT {{ straggler() }}
),
answered AS (
    SELECT DISTINCT f.srcaddr, f.dstaddr, f.srcport, f.dstport, f.protocol
    FROM flows AS f
    JOIN (SELECT DISTINCT srcaddr, dstaddr FROM r) AS pairs
      ON f.srcaddr = pairs.dstaddr AND f.dstaddr = pairs.srcaddr
    WHERE f.action = 'ACCEPT'
),
classified AS (
    SELECT
        r.*,
        CASE WHEN a.srcaddr IS NOT NULL OR {{ response_like('r') }} THEN 'response' ELSE 'request' END AS category
    FROM r
    LEFT JOIN answered AS a
      ON a.srcaddr = r.dstaddr AND a.dstaddr = r.srcaddr AND a.srcport = r.dstport
     AND a.dstport = r.srcport AND a.protocol = r.protocol
)
SELECT
    category,
    srcaddr,
    dstaddr,
    CASE WHEN category = 'response' THEN srcport ELSE dstport END AS service_port,
    protocol,
    interface_id,
    COALESCE(flow_direction, 'unknown') AS flow_direction,
    min(start) AS first_seen,
    max("end") AS last_seen,
    count(*) AS records,
    sum(packets) AS packets,
    count(DISTINCT CASE WHEN category = 'response' THEN dstport ELSE srcport END) AS client_ports
FROM classified
GROUP BY category, srcaddr, dstaddr, CASE WHEN category = 'response' THEN srcport ELSE dstport END,
         protocol, interface_id, COALESCE(flow_direction, 'unknown')

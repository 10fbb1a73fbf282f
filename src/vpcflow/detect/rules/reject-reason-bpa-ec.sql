/* ---
id: reject-reason-bpa-ec
title: Traffic rejected by Block Public Access or encryption controls
summary: "{reject_reason} rejected {records} {flow_direction} records on {interface_id} port {dstport} ({distinct_peers} peers)"
category: account-control
severity: low
escalation: low for BPA (the account-level block did its job, but a workload may need an exclusion); medium for EC (unencrypted traffic was attempted where encryption is enforced).
description: >
  Rejects whose reject-reason field (flow-log version 8 and later) says VPC Block Public Access (BPA)
  or VPC encryption controls (EC) refused them, kept apart from security-group and network-ACL rejects:
  they are fixed in a different place (the account's BPA mode and exclusions, or the workload's TLS).
mitre:
  - {id: T1133, name: External Remote Services, tactic: Initial Access}
parameters: {}
false_positives:
  - "Expected effect of turning BPA on: Internet traffic to resources that were public before."
remediation: >
  BPA: if the resource must be reachable from the Internet, add a BPA exclusion for its VPC or subnet
  (allow-bidirectional or allow-egress); otherwise nothing to do. EC: make the client use an encrypted
  path (Nitro-to-Nitro or TLS) or move the workload out of the enforced VPC.
entities: [reject_reason, interface_id, flow_direction, dstport, protocol]
counts: [records, distinct_peers]
evidence: {from: rejects, match: [reject_reason, interface_id, dstport]}
tests:
  - name: BPA rejects inbound SSH
    expect: fire
    severity: low
    records: [{repeat: 2, reject_reason: BPA, flow_direction: ingress}]
  - name: EC rejects are medium
    expect: fire
    severity: medium
    records: [{reject_reason: EC, srcaddr: 10.0.1.5, dstaddr: 10.0.2.5, flow_direction: egress}]
  - name: an ordinary security-group reject has no reject reason
    expect: none
    records: [{flow_direction: ingress}]
--- */
SELECT
    reject_reason,
    interface_id,
    COALESCE(flow_direction, 'unknown') AS flow_direction,
    dstport,
    protocol,
    min(start) AS first_seen,
    max("end") AS last_seen,
    count(*) AS records,
    count(DISTINCT CASE WHEN flow_direction = 'egress' THEN dstaddr ELSE srcaddr END) AS distinct_peers,
    CASE WHEN reject_reason = 'EC' THEN 'medium' ELSE 'low' END AS severity
FROM rejects
WHERE reject_reason IN ('BPA', 'EC')
GROUP BY reject_reason, interface_id, COALESCE(flow_direction, 'unknown'), dstport, protocol

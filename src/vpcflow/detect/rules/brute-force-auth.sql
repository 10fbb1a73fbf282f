/* ---
id: brute-force-auth
title: Brute force against an authentication port
summary: "{srcaddr} made {attempts} connection attempts to {dstaddr}:{dstport} within an hour ({role}; {accepted_attempts} accepted)"
category: credential-access
severity: low
escalation: >
  target (an outside source against your host): low while every attempt was rejected, medium when
  attempts were accepted (the service is reachable and passwords are being tried). actor (your host is
  the source): high, as GuardDuty rates SSHBruteForce/RDPBruteForce by resource role.
description: >
  Many connection attempts from one source to one authentication port of one target within an hour,
  from REJECT and ACCEPT records alike. An attempt is a distinct source port, which counts each new TCP
  connection once even when it spans several capture windows or is logged on both ENIs.
mitre:
  - {id: T1110, name: Brute Force, tactic: Credential Access}
  - {id: T1021, name: Remote Services, tactic: Lateral Movement}
parameters:
  auth_ports:
    default: [22, 3389, 5985, 5986, 23, 1433, 1521, 3306, 5432, 6379, 27017]
    description: "SSH, RDP, WinRM, Telnet and database ports (GuardDuty SSH/RDP/WinRM brute force; Tailpipe database ports)."
  min_attempts: {default: 10, description: "Connection attempts per source, target, port and hour (AWS CloudWatch alarm example: 10 rejected SSH per hour)."}
  internal_min_attempts:
    default: 100
    description: >
      Attempts per hour when both ends are internal and none was accepted: an application retrying a
      connection a security group or network ACL refuses is a misconfiguration (internal-reject reports
      it), while password guessing runs hundreds of attempts an hour.
false_positives:
  - Configuration management or backup jobs that open many short SSH or database sessions (allowlist the source).
  - Connection-pool churn from an application server to its database (allowlist the pair or raise min_attempts).
remediation: >
  Target: restrict the port in the security group to known admin sources or use Session Manager; check
  the host's auth logs for successful logins. Actor: isolate the instance and investigate it as compromised.
references:
  - https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_finding-types-ec2.html
entities: [srcaddr, dstaddr, dstport, role]
counts: [attempts, accepted_attempts, records, packets]
evidence: {from: flows, match: [srcaddr, dstaddr, dstport]}
tests:
  - name: twelve rejected SSH attempts from the Internet
    expect: fire
    severity: low
    records: [{repeat: 12, dstport: 22}]
  - name: accepted RDP attempts raise the severity
    expect: fire
    severity: medium
    records: [{repeat: 12, dstport: 3389, action: ACCEPT}]
  - name: an internal host brute-forcing is the actor
    expect: fire
    severity: high
    records: [{repeat: 15, srcaddr: 10.0.3.4, dstaddr: 203.0.113.10, dstport: 22, flow_direction: egress}]
  - name: lateral brute force between internal hosts
    expect: fire
    severity: high
    records: [{repeat: 120, srcaddr: 10.0.3.4, dstaddr: 10.0.2.10, dstport: 22}]
  - name: one long SSH session logged in many windows is one attempt
    expect: none
    records: [{repeat: 30, dstport: 22, srcport: 51000, action: ACCEPT, start: "2024-05-01 10:{i:02d}:00"}]
  - name: replies from the SSH server are not attempts
    expect: none
    records: [{repeat: 12, srcaddr: 10.0.1.5, dstaddr: 198.51.100.7, srcport: 22, dstport: "500{i:02d}"}]
  - name: an application retrying a refused database connection is not brute force
    expect: none
    records: [{repeat: 15, srcaddr: 10.0.1.140, dstaddr: 10.0.2.10, dstport: 5432}]
  - name: nine attempts stay below the threshold
    expect: none
    records: [{repeat: 9, dstport: 22}]
--- */
SELECT
    srcaddr,
    dstaddr,
    dstport,
    CASE WHEN {{ is_internal('srcaddr') }} THEN 'actor' ELSE 'target' END AS role,
    date_trunc('hour', start) AS bin_start,
    min(start) AS first_seen,
    max("end") AS last_seen,
    count(DISTINCT srcport) AS attempts,
    count(DISTINCT CASE WHEN action = 'ACCEPT' THEN srcport END) AS accepted_attempts,
    count(*) AS records,
    sum(packets) AS packets,
    CASE
        WHEN {{ is_internal('srcaddr') }} THEN 'high'
        WHEN count(DISTINCT CASE WHEN action = 'ACCEPT' THEN srcport END) > 0 THEN 'medium'
        ELSE 'low'
    END AS severity
FROM flows
WHERE action IN ('ACCEPT', 'REJECT')
  AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL
  AND protocol = 6
  AND dstport IN ({{ auth_ports }})
  AND NOT {{ response_like() }}
GROUP BY srcaddr, dstaddr, dstport, date_trunc('hour', start)
HAVING count(DISTINCT srcport) >= {{ min_attempts }}
   AND (count(DISTINCT srcport) >= {{ internal_min_attempts }}
        OR count(DISTINCT CASE WHEN action = 'ACCEPT' THEN srcport END) > 0
        OR NOT ({{ is_internal('srcaddr') }} AND {{ is_internal('dstaddr') }}))

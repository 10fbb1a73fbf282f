/* ---
id: reject-spike-eni
title: Spike of rejected traffic on a network interface
summary: "{interface_id} had {rejects} rejects in the hour from {bin_start} against a baseline of {baseline_mean} (z={z_score})"
category: anomaly
severity: medium
escalation: high when the z-score reaches high_z.
description: >
  Hourly reject counts per network interface, each hour scored against the same interface's preceding
  hours (hours without rejects count as zero): z = (count - mean) / max(stddev, sqrt(mean), 1). The
  sqrt(mean) floor treats counts as Poisson-like, so a flat baseline does not make every bump a spike.
  Needs min_history_hours of history for the interface.
mitre:
  - {id: T1046, name: Network Service Discovery, tactic: Discovery}
  - {id: T1498, name: Network Denial of Service, tactic: Impact}
parameters:
  baseline_hours: {default: 168, description: "Preceding hours in the baseline (7 days, as the reference's spike guidance)."}
  min_history_hours: {default: 6, description: "Hours of history an interface needs before it can spike."}
  min_rejects: {default: 50, description: "Rejects in the hour below which nothing is reported."}
  z_threshold: {default: 5.0, description: "z-score that makes a spike (Panther's statistical_anomaly uses 10 on bytes)."}
  high_z: {default: 20.0, description: "z-score that makes the spike high severity."}
false_positives:
  - A deployment that changed security groups, or a new scanner campaign against a public interface.
remediation: >
  Look at the top sources and ports of the spike hour (evidence); a new scan campaign needs no action if
  everything was rejected, a new internal reject pattern usually means a rule change broke a dependency.
entities: [interface_id]
counts: [rejects, baseline_mean, baseline_stddev, history_hours, z_score]
evidence: {from: rejects, match: [interface_id]}
tests:
  - name: a quiet interface suddenly rejects 55 records in an hour
    expect: fire
    records:
      - {repeat: 8, dstport: 22, interface_id: eni-0spike, start: "2024-05-01 0{i}:10:00"}
      - {repeat: 55, dstport: 22, interface_id: eni-0spike, start: "2024-05-01 09:{i:02d}:00", srcport: "4{i:02d}00"}
  - name: a steady interface with the same count every hour
    expect: none
    records:
      - {repeat: 8, dstport: 22, start: "2024-05-01 0{i}:10:00", srcport: 33000}
      - {repeat: 8, dstport: 22, start: "2024-05-01 0{i}:10:01", srcport: 33001}
  - name: no history means no baseline
    expect: none
    records: [{repeat: 55, dstport: 22, start: "2024-05-01 09:{i:02d}:00"}]
--- */
{% set entity = 'interface_id' %}
{% include '_spike.sql' %}

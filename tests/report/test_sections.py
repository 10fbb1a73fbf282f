"""Causes, coverage and findings as the report shows them, from the documented JSON and the rule runner."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report import fixtures as fx
from vpcflow.errors import InputError
from vpcflow.report.causes import causes_view, flow_text, resource
from vpcflow.report.coverage import coverage_view, enable_command
from vpcflow.report.detections import findings_view, run_detections, silent_subjects
from vpcflow.snapshot import load_snapshot


def test_causes_put_misconfigurations_first_then_the_largest() -> None:
    causes = causes_view(fx.causes_document(), None)
    assert [c.cause_id for c in causes.causes] == ["c-db", "c-odd", "c-scan"]
    assert [i.label for i in causes.by_intent] == ["likely-misconfiguration", "unexplained", "intended-block"]
    assert causes.records == 497


def test_causes_past_the_cap_are_counted_not_shown() -> None:
    causes = causes_view(fx.causes_document(), None, limit=1)
    assert [c.cause_id for c in causes.causes] == ["c-db"]  # the misconfiguration stays
    assert (causes.omitted, causes.omitted_records) == (2, 425)


def test_causes_name_the_account_resources_from_the_snapshot() -> None:
    snapshot = load_snapshot(fx.snapshot_document())
    db = next(c for c in causes_view(fx.causes_document(), snapshot).causes if c.cause_id == "c-db")
    acl, sg = db.blockers
    assert acl.resource.resource_id == "acl-0db000000000000003"
    assert acl.resource.name == "db-acl " + fx.HOSTILE_IMG
    assert acl.rule == "*"
    assert sg.groups[0].name == "db"
    assert sg.groups[0].description == "db: PostgreSQL from app " + fx.HOSTILE_SCRIPT
    assert db.fixes[0].aws_cli and "create-network-acl-entry" in db.fixes[0].aws_cli
    assert db.fixes[0].terraform and db.fixes[0].terraform.startswith('resource "aws_network_acl_rule"')
    assert [(p.label, p.records) for p in db.top_ports] == [("5432", 72)]
    assert db.examples == ("10.0.1.140:45000 → 10.0.2.10:5432 tcp ingress " + fx.DB_ENI,)


def test_a_security_group_blocker_names_its_interface_once() -> None:
    snapshot = load_snapshot(fx.snapshot_document())
    scan = next(c for c in causes_view(fx.causes_document(), snapshot).causes if c.cause_id == "c-scan")
    (sg,) = scan.blockers
    assert (sg.resource.resource_id, sg.resource.name) == ("sg-0web0000000000001", "web")
    assert sg.groups == ()  # the blocking group is the interface's only group: not listed twice
    assert sg.interface is not None and sg.interface.resource_id == fx.WEB_ENI


def test_an_unknown_resource_keeps_its_id_alone() -> None:
    assert resource(None, "sg-123").name is None
    snapshot = load_snapshot(fx.snapshot_document())
    assert resource(snapshot, "sg-0nothere").description is None


def test_icmp_flows_have_no_ports() -> None:
    assert flow_text({"srcaddr": "1.2.3.4", "dstaddr": "10.0.0.1", "protocol": 1}) == "1.2.3.4 → 10.0.0.1 icmp"


def test_a_document_without_causes_is_refused() -> None:
    with pytest.raises(InputError, match="no causes list"):
        causes_view({"explanations": []}, None)


def test_coverage_lists_each_non_compliant_resource_with_its_fix() -> None:
    cov = coverage_view(fx.AUDIT, "audit.json")
    assert cov.resources == 3
    assert [(i.resource_id, i.verdict) for i in cov.non_compliant] == [
        ("vpc-0bbb0000000000002", "ACCEPT_ONLY"),
        ("vpc-0ccc0000000000003", "NO_FLOW_LOG"),
    ]
    assert cov.non_compliant[1].enable_command == (
        "vpcflow enable --accounts 123456789012 --regions eu-west-1 --resource-ids vpc-0ccc0000000000003 --apply"
    )
    assert cov.enable_all == "vpcflow enable --from-audit audit.json --apply"
    assert {c.label: c.records for c in cov.by_verdict} == {"ACCEPT_ONLY": 1, "COMPLIANT": 1, "NO_FLOW_LOG": 1}


def test_enable_commands_quote_what_the_account_wrote() -> None:
    assert enable_command("1", "us-east-1", "vpc-1; rm -rf /").endswith("--resource-ids 'vpc-1; rm -rf /' --apply")


def test_coverage_refuses_what_is_not_an_audit() -> None:
    with pytest.raises(InputError, match="not the JSON output of `vpcflow audit"):
        coverage_view({"findings": []}, "x.json")


def test_findings_carry_severity_mitre_and_evidence(report_inputs: dict[str, Path]) -> None:
    rules, result = run_detections(report_inputs["store"], None, None, max_findings=5)
    view = findings_view(rules, result)
    brute = [f for f in view.findings if f.rule_id == "brute-force-auth"]
    assert brute, [f.rule_id for f in view.findings]
    assert brute[0].severity in ("low", "medium", "high", "critical")
    assert "T1110" in [t.id for t in brute[0].techniques]
    assert brute[0].evidence and len(brute[0].evidence[0]) == len(view.evidence_columns)
    assert dict(zip(view.evidence_columns, brute[0].evidence[0], strict=True))["dstport"] == "22"
    assert sum(c.records for c in view.by_severity) == len(view.findings)
    assert view.rules_run >= 10
    assert any(o.rule_id == "threat-list-match" and o.status == "skipped" for o in view.outcomes)
    assert silent_subjects(result) == ()  # every interface logged to the end


def test_findings_past_the_cap_are_counted(report_inputs: dict[str, Path]) -> None:
    rules, result = run_detections(report_inputs["store"], None, None, max_findings=1)
    view = findings_view(rules, result)
    capped = [r for r in result.runs if r.truncated]
    assert capped, "a rule with more than one finding is needed for this test"
    assert {o.rule_id for o in view.outcomes if o.status == "capped"} == {r.rule_id for r in capped}

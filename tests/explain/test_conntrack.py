"""Connection-tracking expiry and ICMP types: two REJECTs the rules alone do not explain.

An idle connection outlives the interface's tracking timeout (350 s on Nitro v6 instance types, 432,000 s
on others, or the interface's own ConnectionTrackingConfiguration); its next response is judged as new
traffic and the security group, with no rule in that direction, rejects it. A filter that admits only
some ICMP types rejects the others, and the record does not say which type it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.explain.helpers import run_json
from vpcflow.simulate.examples import example_paths
from vpcflow.snapshot import load_snapshot
from vpcflow.snapshot.conntrack import tracking_timeouts

HEADER = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
DB, WEB = "eni-0db0000000000b007", "eni-0we0000000000b001"
T0 = 1_764_000_000


def _snapshot(instance_type: str | None, tcp_timeout: int | None = None) -> dict[str, Any]:
    """The three-tier example; the database's group has no outbound rule (responses pass by tracking)."""
    data: dict[str, Any] = json.loads(example_paths("three-tier")[0].read_text())
    db_group = next(g for g in data["SecurityGroups"] if g["GroupId"] == "sg-0db00000000000004")
    db_group["IpPermissionsEgress"] = []
    if instance_type:
        data["Reservations"] = [{"Instances": [{"InstanceId": "i-0db00000000000007", "InstanceType": instance_type}]}]
    if tcp_timeout is not None:
        eni = next(e for e in data["NetworkInterfaces"] if e["NetworkInterfaceId"] == DB)
        eni["ConnectionTrackingConfiguration"] = {"TcpEstablishedTimeout": tcp_timeout}
    return data


def _conversation(idle: int) -> list[str]:
    """app -> db on 5432, answered, then after ``idle`` seconds the database speaks again."""
    flow = "10.0.1.10 10.0.2.10 40000 5432 6"
    back = "10.0.2.10 10.0.1.10 5432 40000 6"
    return [
        HEADER,
        f"2 123456789012 {DB} {flow} 3 180 {T0} {T0 + 5} ACCEPT OK",
        f"2 123456789012 {DB} {back} 3 180 {T0} {T0 + 5} ACCEPT OK",
        f"2 123456789012 {DB} {back} 1 60 {T0 + 5 + idle} {T0 + 6 + idle} REJECT OK",
    ]


def _explain(tmp: Path, snapshot: dict[str, Any], lines: list[str], *args: str) -> dict[str, Any]:
    snap, log = tmp / "snap.json", tmp / "flows.log"
    snap.write_text(json.dumps(snapshot))
    log.write_text("\n".join(lines) + "\n")
    doc: dict[str, Any] = run_json("explain", "--snapshot", str(snap), *args, str(log))
    return doc


def test_nitro_v6_default_timeout_expires_an_idle_connection(tmp_path: Path) -> None:
    doc = _explain(tmp_path, _snapshot("m8i.large"), _conversation(idle=400), "--per-tuple")
    (e,) = doc["explanations"]
    assert (e["code"], e["verdict"], e["packet"], e["intent"]) == ("CONNTRACK_EXPIRED", "blocked", "response", "benign")
    assert [(b["layer"], b["direction"], b["resource_id"]) for b in e["blockers"]] == [
        ("security-group", "outbound", "sg-0db00000000000004")
    ]
    assert "350 s (the default for m8i.large, a Nitro v6 instance type)" in e["message"]
    keepalive, timeout, *rules = e["fixes"]
    assert "keepalives more often than every 350 s" in keepalive["summary"]
    assert "--connection-tracking-specification TcpEstablishedTimeout=7260" in timeout["aws_cli"]
    assert rules and all("authorize-security-group-egress" in r["aws_cli"] for r in rules)  # the rule comes last
    causes = _explain(tmp_path, _snapshot("m8i.large"), _conversation(idle=400))
    (cause,) = causes["causes"]
    assert cause["code"] == "CONNTRACK_EXPIRED" and cause["intent"] == "benign" and cause["fixes"]


@pytest.mark.parametrize(
    ("instance_type", "tcp_timeout", "idle", "expired"),
    [
        ("m8i.large", None, 300, False),  # within Nitro v6's 350 s
        ("m7i.large", None, 400, False),  # Nitro v4: 432,000 s
        ("m7i.large", 120, 400, True),  # the interface's own TcpEstablishedTimeout
        ("p6e-gb200.36xlarge", None, 400, False),  # excluded from the 350 s default by name
        (None, None, 400, False),  # unknown type: the 432,000 s default
    ],
)
def test_the_timeout_comes_from_the_interface_or_its_instance_type(
    instance_type: str | None, tcp_timeout: int | None, idle: int, expired: bool, tmp_path: Path
) -> None:
    doc = _explain(tmp_path, _snapshot(instance_type, tcp_timeout), _conversation(idle), "--per-tuple")
    (e,) = doc["explanations"]
    assert (e["code"] == "CONNTRACK_EXPIRED") is expired, e["message"]
    if not expired:
        assert e["verdict"] == "unexplained" and e["packet"] == "response"


def test_udp_timeouts() -> None:
    snap = load_snapshot(_snapshot("m7i.large"))
    t = tracking_timeouts(snap, snap.enis[DB])
    assert (t.for_protocol(17, False), t.for_protocol(17, True), t.for_protocol(6, False)) == (30, 180, 432000)
    assert t.for_protocol(1, False) is None


def test_icmp_type_not_allowed_is_an_unknown_packet_naming_the_allowed_types(tmp_path: Path) -> None:
    snapshot = _snapshot(None)
    web = next(g for g in snapshot["SecurityGroups"] if g["GroupId"] == "sg-0web0000000000001")
    web["IpPermissions"].append(
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}
    )
    lines = [HEADER, f"2 123456789012 {WEB} 10.0.1.10 10.0.0.10 0 0 1 1 84 {T0} {T0 + 5} REJECT OK"]
    (e,) = _explain(tmp_path, snapshot, lines, "--per-tuple")["explanations"]
    assert (e["code"], e["verdict"], e["packet"]) == ("SG_INGRESS_ICMP_TYPE", "blocked", "unknown")
    assert [b["resource_id"] for b in e["blockers"]] == ["sg-0web0000000000001"]
    assert "admits only ICMP type(s) 8 (echo request)" in e["message"]

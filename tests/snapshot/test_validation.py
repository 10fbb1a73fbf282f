"""A snapshot missing what a verdict needs, or with fields of the wrong type, is refused on load with one
sentence naming what is wrong (exit 2 from explain, check and detect), never answered "allowed"."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.explain.helpers import run, write_case
from tests.policy.casefiles import case
from vpcflow.snapshot import SnapshotError, load_snapshot

CASE = "T09"  # app -> db on 5432: two subnets, each with its own ACL


def _base() -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(case(CASE)["snapshot"])
    return data


def _no_acls(s: dict[str, Any]) -> None:
    s["NetworkAcls"] = []


def _egress_string(s: dict[str, Any]) -> None:
    s["NetworkAcls"][0]["Entries"][0]["Egress"] = "false"


def _two_acls_one_subnet(s: dict[str, Any]) -> None:
    first, second = s["NetworkAcls"][1], s["NetworkAcls"][2]
    second["Associations"].append(dict(first["Associations"][0], NetworkAclId=second["NetworkAclId"]))


def _eni_subnet_absent(s: dict[str, Any]) -> None:
    s["NetworkInterfaces"][0]["SubnetId"] = "subnet-0ffffffffffffffff"


def _from_port_text(s: dict[str, Any]) -> None:
    perm = next(p for g in s["SecurityGroups"] for p in g["IpPermissions"] if "FromPort" in p)
    perm["FromPort"] = "abc"


def _rule_number_text(s: dict[str, Any]) -> None:
    s["NetworkAcls"][0]["Entries"][0]["RuleNumber"] = "ninety"


def _port_range_text(s: dict[str, Any]) -> None:
    entry = next(e for a in s["NetworkAcls"] for e in a["Entries"] if "PortRange" in e)
    entry["PortRange"]["From"] = "5432"


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "no network ACLs": (_no_acls, "has no network ACL for subnet"),
    "Egress as a string": (_egress_string, "has Egress 'false', which is not true or false"),
    "two ACLs on one subnet": (_two_acls_one_subnet, "is associated with two network ACLs"),
    "ENI subnet absent": (_eni_subnet_absent, "is in subnet subnet-0ffffffffffffffff, which is not in Subnets"),
    "FromPort text": (_from_port_text, "has FromPort 'abc', which is not an integer"),
    "RuleNumber text": (_rule_number_text, "has RuleNumber 'ninety', which is not an integer"),
    "PortRange text": (_port_range_text, "has PortRange.From '5432', which is not an integer"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_snapshot_is_one_sentence(name: str) -> None:
    breaker, words = BROKEN[name]
    snap = _base()
    breaker(snap)
    with pytest.raises(SnapshotError) as err:
        load_snapshot(snap)
    sentence = err.value.sentence
    assert words in sentence and sentence.endswith(".") and "\n" not in sentence


@pytest.mark.parametrize("name", list(BROKEN))
def test_commands_refuse_a_broken_snapshot(name: str, tmp_path: Path) -> None:
    breaker, words = BROKEN[name]
    snap_path, log = write_case(CASE, tmp_path)
    snap = _base()
    breaker(snap)
    snap_path.write_text(json.dumps(snap))
    check = run("check", "--snapshot", str(snap_path), "--from", "10.0.1.10", "--to", "10.0.2.10", "--port", "5432")
    explain = run("explain", "--snapshot", str(snap_path), str(log))
    store = tmp_path / "store"
    assert run("ingest", str(log), "--store", str(store)).exit_code == 0
    detect = run("detect", "--store", str(store), "--snapshot", str(snap_path))
    for result in (check, explain, detect):
        assert result.exit_code == 2, result.output
        assert words in result.stderr and "Traceback" not in result.output


def test_non_utf8_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"Vpcs": [{"VpcId": "vpc-\xff"}]}')
    with pytest.raises(SnapshotError) as err:
        load_snapshot(path)
    assert "is not UTF-8 text" in err.value.sentence
    _, log = write_case(CASE, tmp_path)
    result = run("explain", "--snapshot", str(path), str(log))
    assert result.exit_code == 2 and "is not UTF-8 text" in result.stderr


def test_the_reference_snapshots_still_load() -> None:
    assert load_snapshot(_base()).nacls

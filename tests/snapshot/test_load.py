"""The snapshot loader: every reference snapshot loads; bad input fails with one sentence naming the place."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from tests.policy.casefiles import case, case_ids, snapshot
from vpcflow.errors import InputError
from vpcflow.snapshot import load_snapshot

ACL_A = "acl-0a1b2c3d4e5f6000a"


@pytest.mark.parametrize("case_id", case_ids())
def test_every_reference_snapshot_loads(case_id: str) -> None:
    snap = snapshot(case_id)
    assert snap.enis and snap.groups and snap.nacls
    for eni in snap.enis.values():
        assert eni.subnet_id is None or snap.nacl_for_subnet(eni.subnet_id) is not None


def test_indexes_eni_by_primary_and_secondary_ip() -> None:
    snap = snapshot("T15")
    assert snap.eni_for_ip("10.0.2.20").eni_id == "eni-0a1b2c3d4e5f60020"  # type: ignore[union-attr]
    assert snap.eni_for_ip("10.0.2.50").eni_id == "eni-0a1b2c3d4e5f60020"  # type: ignore[union-attr]
    assert snap.eni_for_ip("203.0.113.12") is None
    assert {e.eni_id for e in snap.members("sg-0a1b2c3d4e5f60020")} >= {"eni-0a1b2c3d4e5f60020"}


def test_unassociated_subnet_uses_the_vpc_default_acl() -> None:
    snap = snapshot("T41")
    assert snap.nacl_for_subnet("subnet-0a1b2c3d4e5f6000c").acl_id == "acl-0a1b2c3d4e5f600de"  # type: ignore[union-attr]
    assert snap.nacl_for_subnet("subnet-0a1b2c3d4e5f6000a").acl_id == ACL_A  # type: ignore[union-attr]


def test_entries_sorted_by_number_whatever_the_input_order() -> None:
    raw = copy.deepcopy(case("T05")["snapshot"])
    for acl in raw["NetworkAcls"]:
        acl["Entries"].reverse()
    acl = load_snapshot(raw).nacls[ACL_A]
    numbers = [e.number for e in acl.ordered(False, 4)]
    assert numbers == sorted(numbers)


def test_list_of_objects_and_files_merge(tmp_path: Path) -> None:
    raw = case("T01")["snapshot"]
    part1 = {k: v for k, v in raw.items() if k in ("Vpcs", "Subnets", "NetworkAcls")}
    part2 = {k: v for k, v in raw.items() if k not in part1}
    f1, f2 = tmp_path / "a.json", tmp_path / "b.json"
    f1.write_text(json.dumps(part1))
    f2.write_text(json.dumps(part2))
    snap = load_snapshot([str(f1), str(f2)])
    assert set(snap.enis) == set(load_snapshot(raw).enis)
    assert snap.nacl_for_subnet("subnet-0a1b2c3d4e5f6000a") is not None


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda s: s["NetworkAcls"][0]["Entries"][0].pop("RuleNumber"), "NetworkAcls[0].Entries[0] has no RuleNumber"),
        (lambda s: s["NetworkAcls"][0]["Entries"][0].update(RuleAction="permit"), "RuleAction 'permit'"),
        (lambda s: s["SecurityGroups"][0]["IpPermissions"][0].update(IpProtocol="bogus"), "unknown IpProtocol"),
        (
            lambda s: s["NetworkInterfaces"][0].pop("NetworkInterfaceId"),
            "NetworkInterfaces[0] has no NetworkInterfaceId",
        ),
        (lambda s: s.update(Subnets={"x": 1}), "key Subnets is not a list"),
        (lambda s: s["Vpcs"][0].update(CidrBlockAssociationSet=[{"CidrBlock": "10.0.0.0/33"}]), "malformed CIDR"),
        (
            lambda s: s.update(
                SecurityGroups=[
                    g for g in s["SecurityGroups"] if g["GroupId"] != s["NetworkInterfaces"][0]["Groups"][0]["GroupId"]
                ]
            ),
            "which is not in SecurityGroups",
        ),
    ],
)
def test_malformed_snapshot_fails_in_one_sentence(mutate: object, needle: str) -> None:
    raw = copy.deepcopy(case("T01")["snapshot"])
    mutate(raw)  # type: ignore[operator]
    with pytest.raises(InputError) as err:
        load_snapshot(raw)
    assert needle in err.value.sentence
    assert err.value.sentence.endswith(".") and "\n" not in err.value.sentence


def test_file_errors_are_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "snap.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_snapshot(bad)
    with pytest.raises(InputError, match="Cannot read the snapshot"):
        load_snapshot(tmp_path / "missing.json")
    bad.write_text('{"Buckets": []}')  # an S3 listing, not EC2 describe output
    with pytest.raises(InputError, match="none of the EC2 describe keys"):
        load_snapshot(bad)

"""The policy engine on the reference scenarios' snapshots: each hop's own verdict, in path order."""

from __future__ import annotations

import copy

from tests.policy.casefiles import case, snapshot
from vpcflow.policy import Flow, Hop, evaluate_flow
from vpcflow.snapshot import load_snapshot

WEB, APP, APP2, DB = "eni-0a1b2c3d4e5f60010", "eni-0a1b2c3d4e5f60020", "eni-0a1b2c3d4e5f60021", "eni-0a1b2c3d4e5f60030"
SG_WEB, SG_APP, SG_DB = "sg-0a1b2c3d4e5f60010", "sg-0a1b2c3d4e5f60020", "sg-0a1b2c3d4e5f60030"
ACL_A, ACL_B, ACL_C = "acl-0a1b2c3d4e5f6000a", "acl-0a1b2c3d4e5f6000b", "acl-0a1b2c3d4e5f6000c"


def blockers(hops: tuple[Hop, ...]) -> list[tuple[str, str, str, int | str | None]]:
    return [(h.layer, h.direction, h.resource_id, h.rule) for h in hops if not h.allowed]


def test_path_order_and_sides_cross_subnet() -> None:
    ev = evaluate_flow(snapshot("T09"), Flow("10.0.2.20", "10.0.3.30", 6, 41234, 5432))
    assert [(h.side, h.layer, h.direction) for h in ev.request] == [
        ("src", "security-group", "outbound"),
        ("src", "network-acl", "outbound"),
        ("dst", "network-acl", "inbound"),
        ("dst", "security-group", "inbound"),
    ]
    assert [(h.side, h.layer, h.direction) for h in ev.response] == [
        ("dst", "security-group", "outbound"),
        ("dst", "network-acl", "outbound"),
        ("src", "network-acl", "inbound"),
        ("src", "security-group", "inbound"),
    ]
    assert ev.request_allowed and not ev.response_allowed
    assert blockers(ev.response) == [("network-acl", "outbound", ACL_C, "*")]
    assert ev.first_blocking_response_hop is not None and ev.first_blocking_response_hop.resource_id == ACL_C


def test_first_match_allow_before_deny() -> None:
    # T05: inbound 100 ALLOW all, 200 DENY tcp 22: the deny is dead code; only the SG blocks.
    ev = evaluate_flow(snapshot("T05"), Flow("198.51.100.7", "10.0.1.10", 6, 40000, 22))
    assert [h.layer for h in ev.request] == ["network-acl", "security-group"]  # the internet end has no hops
    assert blockers(ev.request) == [("security-group", "inbound", SG_WEB, None)]
    assert ev.request[0].rule == 100


def test_same_subnet_skips_network_acls() -> None:
    ev = evaluate_flow(snapshot("T07"), Flow("10.0.2.20", "10.0.2.21", 6, 41000, 8080))
    assert all(h.layer == "security-group" for h in ev.request + ev.response)
    assert ev.request_allowed and ev.response_allowed


def test_classic_load_balancer_applies_outbound_acl_in_its_subnet() -> None:
    ev = evaluate_flow(snapshot("T47"), Flow("10.0.1.5", "10.0.1.10", 6, 40000, 8080))
    assert blockers(ev.request) == [("network-acl", "outbound", ACL_A, "*")]
    assert not any(h.layer == "network-acl" and h.direction == "inbound" for h in ev.request)


def test_response_with_unknown_client_port_is_judged_over_the_ephemeral_range() -> None:
    ev = evaluate_flow(snapshot("T09"), Flow("10.0.2.20", "10.0.3.30", 6, None, 5432, ephemeral=(32768, 60999)))
    hop = ev.first_blocking_response_hop
    assert hop is not None and hop.rule == "*" and hop.ports == (32768, 60999)


def test_explicit_deny_rule_number_reported() -> None:
    ev = evaluate_flow(snapshot("T39"), Flow("10.0.2.20", "10.0.3.30", 6, 41234, 5432))
    assert blockers(ev.request) == [("network-acl", "inbound", ACL_C, 1)]
    ev = evaluate_flow(snapshot("T13"), Flow("203.0.113.12", "10.0.1.10", 6, 51000, 80))
    assert ev.request_allowed
    assert blockers(ev.response) == [("network-acl", "outbound", ACL_A, 90)]


def test_ipv6_uses_only_ipv6_entries() -> None:
    ev = evaluate_flow(snapshot("T27"), Flow("2001:db8::5", "2600:1f18:aa00:bb01::10", 6, 50000, 443))
    assert blockers(ev.request) == [("network-acl", "inbound", ACL_A, "*")]
    ev4 = evaluate_flow(snapshot("T27"), Flow("203.0.113.12", "10.0.1.10", 6, 50000, 443))
    assert ev4.request_allowed


def test_prefix_list_in_security_group() -> None:
    raw = copy.deepcopy(case("T21")["snapshot"])
    snap = load_snapshot(raw)
    ev = evaluate_flow(snap, Flow("10.0.2.20", "52.216.10.5", 6, 41000, 443))
    assert blockers(ev.request) == [("security-group", "outbound", SG_APP, None)]
    pl = raw["ManagedPrefixLists"][0]["PrefixListId"]
    for g in raw["SecurityGroups"]:
        if g["GroupId"] == SG_APP:
            g["IpPermissionsEgress"][0]["PrefixListIds"] = [{"PrefixListId": pl}]
    ev = evaluate_flow(load_snapshot(raw), Flow("10.0.2.20", "52.216.10.5", 6, 41000, 443))
    assert ev.request_allowed
    assert ev.request[0].rule is not None and SG_APP in str(ev.request[0].rule)


def test_other_protocols_ignore_ports() -> None:
    snap = snapshot("T23")
    assert evaluate_flow(snap, Flow("10.0.2.20", "10.0.3.30", 50)).request_allowed
    ev = evaluate_flow(snap, Flow("10.0.1.10", "10.0.3.30", 50))
    assert blockers(ev.request) == [("security-group", "inbound", SG_DB, None)]
    assert ev.request[-1].reason == "no-match"


def test_group_reference_admits_secondary_ip_but_not_public_ip() -> None:
    snap = snapshot("T15")
    assert evaluate_flow(snap, Flow("10.0.2.50", "10.0.3.30", 6, 40000, 5432)).request_allowed
    # a member reached through its public/Elastic IP is not a member (EC2SG)
    ev = evaluate_flow(snap, Flow("54.0.0.10", "10.0.3.30", 6, 40000, 5432))
    assert not ev.request_allowed


def test_stale_reference_and_middlebox_are_named() -> None:
    ev = evaluate_flow(snapshot("T19"), Flow("172.16.1.5", "10.0.3.30", 6, 40000, 5432))
    hop = ev.first_blocking_request_hop
    assert hop is not None and hop.resource_id == SG_DB and hop.reason == "stale-reference"
    ev = evaluate_flow(snapshot("T17"), Flow("10.0.2.20", "10.0.3.30", 6, 41234, 5432))
    hop = ev.first_blocking_request_hop
    assert hop is not None and hop.resource_id == SG_DB and hop.reason == "reference-not-preserved"


def test_icmp_type_matters_when_the_rule_names_one() -> None:
    raw = copy.deepcopy(case("T03")["snapshot"])
    for g in raw["SecurityGroups"]:
        if g["GroupId"] == SG_WEB:
            g["IpPermissions"].append(
                {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            )
    snap = load_snapshot(raw)
    assert evaluate_flow(snap, Flow("203.0.113.12", "10.0.1.10", 1, icmp_type=8, icmp_code=0)).request_allowed
    assert not evaluate_flow(snap, Flow("203.0.113.12", "10.0.1.10", 1, icmp_type=3, icmp_code=4)).request_allowed
    # ICMP (1) rules never admit ICMPv6 (58)
    assert not evaluate_flow(snap, Flow("203.0.113.12", "10.0.1.10", 58, icmp_type=8)).request_allowed


def test_nat_gateway_eni_has_no_security_group_hop() -> None:
    snap = snapshot("T31")
    ev = evaluate_flow(snap, Flow("10.0.1.220", "198.51.100.20", 6, 30123, 443, src_interface="eni-0a1b2c3d4e5f60220"))
    assert [h.layer for h in ev.request] == ["network-acl"]
    assert blockers(ev.response) == [("network-acl", "inbound", ACL_A, "*")]

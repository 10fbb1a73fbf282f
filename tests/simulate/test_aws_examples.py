"""The AWS documentation's example records, reproduced by matching scenarios (corpora/aws_doc_examples.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.corpora import corpus
from tests.simulate.helpers import ALLOW_ALL_ACL, eni, flow_log, nacl, perm, records, sg, snapshot
from vpcflow.simulate import scenario_from_dict, simulate

ENI = "eni-1235b8ca123456789"
SUBNET = "subnet-aaaaaaaa012345678"


def doc_lines(section: str) -> list[str]:
    data = json.loads(corpus("aws-docs", "aws_doc_examples.json").read_text())
    return [" ".join(e["line"].split()) for e in data["examples"] if e["section"] == section and e.get("is_record")]


def run(
    tmp_path: Path, snap: dict[str, Any], elements: list[dict[str, Any]], nodata: bool = False, **scenario: Any
) -> list[str]:
    scen = scenario_from_dict(
        {"start": scenario.get("start", 0), "duration": scenario.get("duration", "1h"), "elements": elements}
    )
    simulate(snap, scen, tmp_path, seed=1)
    return records(tmp_path, nodata)


def test_ssh_accept_and_rdp_reject(tmp_path: Path) -> None:
    snap = snapshot(
        [eni(ENI, "172.31.16.21", SUBNET, ["sg-ssh"])],
        [sg("sg-ssh", [perm("tcp", 22, 22, "172.31.0.0/16")])],
        [nacl("acl-1", [SUBNET], ALLOW_ALL_ACL, default=True)],
        [flow_log(ENI)],
    )
    ssh = {
        "from": "172.31.16.139",
        "to": ENI,
        "port": 22,
        "count": 1,
        "src_port": 20641,
        "packets": 20,
        "bytes": 4249,
        "start": 1418530010 - 1418529600,
        "session_seconds": 60,
        "duration": 0,
    }
    lines = run(tmp_path / "ssh", snap, [ssh], start=1418529600)
    assert doc_lines("accepted-rejected")[0] in lines

    snap["NetworkInterfaces"] = [eni(ENI, "172.31.9.12", SUBNET, ["sg-ssh"])]
    rdp = {**ssh, "from": "172.31.9.69", "port": 3389, "src_port": 49761}
    lines = run(tmp_path / "rdp", snap, [rdp], start=1418529600)
    assert doc_lines("accepted-rejected")[1] in lines
    # the security group dropped it inbound: one REJECT, on the server's ingress, and no response
    assert len([line for line in lines if "OK" in line]) == 1


def test_ping_accept_and_response_rejected_by_stateless_acl(tmp_path: Path) -> None:
    snap = snapshot(
        [eni(ENI, "172.31.16.139", SUBNET, ["sg-ping"])],
        [sg("sg-ping", [perm("icmp", -1, -1, "0.0.0.0/0")], egress=[])],  # no outbound rules: stateful reply
        [nacl("acl-1", [SUBNET], [(100, "1", "allow", False, "0.0.0.0/0")])],  # no outbound ICMP
        [flow_log(ENI)],
    )
    ping = {
        "from": "203.0.113.12",
        "to": ENI,
        "protocol": "icmp",
        "count": 1,
        "packets": 4,
        "bytes": 336,
        "response_packets": 4,
        "response_bytes": 336,
        "start": 27,
        "session_seconds": 115,
        "response_delay": 67,
        "duration": 0,
    }
    lines = run(tmp_path, snap, [ping], start=1432917000)
    expected = doc_lines("security-groups")
    assert expected[0] in lines and expected[1] in lines
    assert len(lines) == 2


def test_ping_variants_in_prose(tmp_path: Path) -> None:
    """'If your network ACL permits outbound ICMP ... two ACCEPT records'; SG denies inbound: a single REJECT."""
    base = {
        "from": "203.0.113.12",
        "to": ENI,
        "protocol": "icmp",
        "count": 1,
        "start": 30,
        "session_seconds": 3,
        "duration": 0,
    }
    snap = snapshot(
        [eni(ENI, "172.31.16.139", SUBNET, ["sg-ping"])],
        [sg("sg-ping", [perm("icmp", -1, -1, "0.0.0.0/0")])],
        [nacl("acl-1", [SUBNET], ALLOW_ALL_ACL)],
        [flow_log(ENI)],
    )
    lines = run(tmp_path / "a", snap, [base], start=1432917000)
    assert [line.split()[-2] for line in lines] == ["ACCEPT", "ACCEPT"]
    snap["SecurityGroups"] = [sg("sg-ping", [])]
    lines = run(tmp_path / "b", snap, [base], start=1432917000)
    assert [line.split()[-2] for line in lines] == ["REJECT"]


def test_nodata_row_shape(tmp_path: Path) -> None:
    snap = snapshot(
        [eni(ENI, "172.31.16.139", SUBNET, ["sg-x"])],
        [sg("sg-x", [])],
        [nacl("acl-1", [SUBNET], ALLOW_ALL_ACL)],
        [flow_log(ENI)],
    )
    lines = run(tmp_path, snap, [], nodata=True, start=1431280800, duration="20m")
    doc = doc_lines("no-data")[0]
    shape = re.compile(rf"^2 123456789010 {ENI} - - - - - - - (\d+) (\d+) - NODATA$")
    assert shape.match(doc)
    assert len(lines) == 2
    for line in lines:
        m = shape.match(line)
        assert m, line
        assert int(m[2]) - int(m[1]) == 599


def test_tcp_flag_sequence_short_connection(tmp_path: Path) -> None:
    """Group C: a connection opened and closed within one interval: client flags 3 (SYN+FIN), server 19."""
    fmt = (
        "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} "
        "${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} "
        "${tcp-flags} ${log-status}"
    )
    snap = snapshot(
        [eni(ENI, "10.0.0.62", SUBNET, ["sg-iperf"], public="54.1.2.3")],
        [sg("sg-iperf", [perm("tcp", 5001, 5001, "0.0.0.0/0")])],
        [nacl("acl-1", [SUBNET], ALLOW_ALL_ACL)],
        [flow_log(ENI, log_format=fmt)],
        cidr="10.0.0.0/16",
    )
    conn = {
        "from": "52.213.180.42",
        "to": ENI,
        "port": 5001,
        "count": 1,
        "src_port": 43638,
        "packets": 17,
        "bytes": 1260,
        "response_packets": 14,
        "response_bytes": 967,
        "start": 1566933133 - 1566933000,
        "session_seconds": 60,
        "response_delay": 0,
        "duration": 0,
    }
    lines = run(tmp_path, snap, [conn], start=1566933000)
    expected = [line for line in doc_lines("tcp-flag") if " 43638 " in line]
    assert len(expected) == 2
    assert sorted(lines) == sorted(expected)


def test_nat_gateway_records_with_packet_addresses(tmp_path: Path) -> None:
    """The NAT example: the NAT ENI's four records show the internet host only in pkt-*; the instance's two do not."""
    nat_eni = eni(
        ENI,
        "10.0.0.220",
        "subnet-public",
        [],
        instance=None,
        interface_type="nat_gateway",
        description="Interface for NAT Gateway nat-0123456789abcdef0",
        public="54.9.9.9",
    )
    inst = eni("eni-1111aaaa2222bbbb3", "10.0.1.5", "subnet-private", ["sg-app"])
    routes = [
        {
            "RouteTableId": "rtb-pub",
            "VpcId": "vpc-abcdefab012345678",
            "Associations": [{"SubnetId": "subnet-public", "Main": False}],
            "Routes": [
                {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"},
                {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"},
            ],
        },
        {
            "RouteTableId": "rtb-priv",
            "VpcId": "vpc-abcdefab012345678",
            "Associations": [{"SubnetId": "subnet-private", "Main": False}],
            "Routes": [
                {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"},
                {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0123456789abcdef0", "State": "active"},
            ],
        },
    ]
    snap = snapshot(
        [nat_eni, inst],
        [sg("sg-app", [])],
        [nacl("acl-1", ["subnet-public", "subnet-private"], ALLOW_ALL_ACL, default=True)],
        [
            flow_log(
                "vpc-abcdefab012345678",
                log_format="${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}",
            )
        ],
        cidr="10.0.0.0/16",
        subnets={"subnet-public": "10.0.0.0/24", "subnet-private": "10.0.1.0/24"},
        route_tables=routes,
    )
    lines = run(
        tmp_path,
        snap,
        [{"from": "eni-1111aaaa2222bbbb3", "to": "203.0.113.5", "port": 443, "count": 1, "start": 10, "duration": 0}],
    )
    lines = [line for line in lines if line.split()[2] != "-"]  # this format has no log-status: drop NODATA rows
    expected = [line.split(" #")[0].strip() for line in doc_lines("nat")]
    expected = [" ".join(line.split()) for line in expected]
    assert expected, "the corpus has the NAT example"
    assert sorted(lines) == sorted(expected)


def test_service_name_traffic_path_and_flow_direction(tmp_path: Path) -> None:
    """Version 5: an instance calls S3 through an internet gateway (traffic-path 8), service named in pkt-*."""
    fmt = (
        "${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${type} ${packets} "
        "${bytes} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${region} ${az-id} "
        "${sublocation-type} ${sublocation-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} "
        "${pkt-src-aws-service} ${pkt-dst-aws-service} ${traffic-path} ${flow-direction} ${log-status}"
    )
    snap = snapshot(
        [eni(ENI, "10.0.0.71", SUBNET, ["sg-app"], instance="i-0c50d5961bcb2d47b", public="3.104.1.1")],
        [sg("sg-app", [])],
        [nacl("acl-1", [SUBNET], ALLOW_ALL_ACL)],
        [flow_log(ENI, log_format=fmt)],
        cidr="10.0.0.0/16",
    )
    for raw in snap["Vpcs"] + snap["NetworkInterfaces"]:
        raw["OwnerId"] = "123456789012"
    snap["Subnets"][0].update(AvailabilityZone="ap-southeast-2a", AvailabilityZoneId="apse2-az3")
    call = {
        "from": ENI,
        "to": "52.95.128.179",
        "port": 80,
        "count": 1,
        "src_port": 34210,
        "packets": 7,
        "bytes": 471,
        "response_packets": 14,
        "response_bytes": 15044,
        "start": 1616729292 - 1616729100,
        "duration": 0,
        "session_seconds": 57,
        "response_delay": 0,
    }
    scen = scenario_from_dict(
        {"start": 1616729100, "duration": "5m", "aws_services": {"S3": ["52.95.128.0/21"]}, "elements": [call]}
    )
    simulate(snap, scen, tmp_path, seed=1)
    assert sorted(records(tmp_path)) == sorted(doc_lines("traffic-path"))

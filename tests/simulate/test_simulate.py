"""What AWS would log: views per interface, windows, flags, ephemeral ports, filters, labels, determinism."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.simulate.helpers import ALLOW_ALL_ACL, eni, flow_log, nacl, perm, read_lines, records, sg, snapshot
from vpcflow.errors import InputError
from vpcflow.ingest import load_records
from vpcflow.simulate import example_paths, load_scenario, scenario_from_dict, simulate
from vpcflow.sources.s3layout import parse_key

CLIENT, SERVER = "eni-0c000000000000001", "eni-0s000000000000002"
SUB_A, SUB_B = "subnet-a", "subnet-b"
V3 = (
    "${version} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} "
    "${start} ${end} ${action} ${tcp-flags} ${flow-direction} ${traffic-path} ${log-status}"
)


def two_tier(
    server_in: list[dict[str, Any]] | None = None, acl_b: list[tuple[int, str, str, bool, str]] | None = None, **fl: Any
) -> dict[str, Any]:
    return snapshot(
        [eni(CLIENT, "10.0.1.10", SUB_A, ["sg-c"]), eni(SERVER, "10.0.2.20", SUB_B, ["sg-s"])],
        [sg("sg-c", []), sg("sg-s", server_in if server_in is not None else [perm("tcp", 5432, 5432, "10.0.0.0/16")])],
        [nacl("acl-a", [SUB_A], ALLOW_ALL_ACL), nacl("acl-b", [SUB_B], acl_b if acl_b is not None else ALLOW_ALL_ACL)],
        [flow_log("vpc-abcdefab012345678", log_format=fl.pop("log_format", V3), **fl)],
        cidr="10.0.0.0/16",
        subnets={SUB_A: "10.0.1.0/24", SUB_B: "10.0.2.0/24"},
    )


def scen(*elements: dict[str, Any], duration: str = "30m") -> Any:
    return scenario_from_dict({"start": "2026-11-25T00:00:00Z", "duration": duration, "elements": list(elements)})


def rows(lines: list[str]) -> list[dict[str, str]]:
    names = V3.replace("${", "").replace("}", "").split()
    return [dict(zip(names, line.split(), strict=True)) for line in lines]


DB = {
    "name": "db",
    "from": CLIENT,
    "to": SERVER,
    "port": 5432,
    "count": 1,
    "start": 60,
    "duration": 0,
    "session_seconds": 5,
}


def test_internal_flow_is_logged_by_both_interfaces_with_flags(tmp_path: Path) -> None:
    simulate(two_tier(), scen(DB), tmp_path, seed=3)
    got = rows(records(tmp_path))
    views = sorted(
        (r["interface-id"], r["flow-direction"], r["srcaddr"], r["tcp-flags"], r["traffic-path"]) for r in got
    )
    assert views == [
        (CLIENT, "egress", "10.0.1.10", "3", "1"),
        (CLIENT, "ingress", "10.0.2.20", "19", "-"),
        (SERVER, "egress", "10.0.2.20", "19", "1"),
        (SERVER, "ingress", "10.0.1.10", "3", "-"),
    ]
    assert {r["action"] for r in got} == {"ACCEPT"}
    # request and response carry mirrored ports; the client's port is in the Linux ephemeral range
    client_port = int(
        next(r["srcport"] for r in got if r["flow-direction"] == "egress" and r["interface-id"] == CLIENT)
    )
    assert 32768 <= client_port <= 60999


def test_security_group_reject_is_logged_only_where_enforced(tmp_path: Path) -> None:
    simulate(two_tier(server_in=[]), scen(DB), tmp_path, seed=3)
    got = rows(records(tmp_path))
    assert sorted((r["interface-id"], r["flow-direction"], r["action"], r["tcp-flags"]) for r in got) == [
        (CLIENT, "egress", "ACCEPT", "2"),  # the SYN left the client (retried, never answered)
        (SERVER, "ingress", "REJECT", "2"),
    ]
    assert int(got[0]["packets"]) >= 2


def test_acl_without_ephemeral_ports_drops_the_response(tmp_path: Path) -> None:
    acl_b = [(100, "6", "allow", False, "10.0.0.0/16:5432"), (100, "6", "allow", True, "10.0.0.0/16:1024-32767")]
    simulate(two_tier(acl_b=acl_b), scen({**DB, "count": 20, "duration": "10m"}), tmp_path, seed=3)
    got = rows(records(tmp_path))
    rejected = [r for r in got if r["action"] == "REJECT"]
    assert rejected and all(r["interface-id"] == SERVER and r["flow-direction"] == "egress" for r in rejected)
    assert all(r["tcp-flags"] == "18" and r["srcport"] == "5432" for r in rejected)  # SYN-ACKs retried, dropped
    # the client never sees a response: no ingress on the client at all
    assert not [r for r in got if r["interface-id"] == CLIENT and r["flow-direction"] == "ingress"]


def test_ephemeral_ranges_by_client_kind(tmp_path: Path) -> None:
    els = [
        {**DB, "name": kind, "client": kind, "count": 200, "duration": "20m"}
        for kind in ("linux", "windows", "nat", "lambda")
    ]
    simulate(two_tier(), scen(*els), tmp_path, seed=5)
    labels = duckdb.sql(
        f"select element, source_object, source_line from '{tmp_path}/labels.parquet' where interface_id='{CLIENT}'"
    ).fetchall()
    cache: dict[str, list[str]] = {}
    ports: dict[str, list[int]] = {}
    for element, path, line in labels:
        lines = cache.setdefault(path, gzip.decompress(Path(path).read_bytes()).decode().splitlines())
        row = rows([lines[line]])[0]
        if row["flow-direction"] == "egress":
            ports.setdefault(element, []).append(int(row["srcport"]))
    ranges = {e: (min(p), max(p)) for e, p in ports.items()}
    assert ranges["linux"][0] >= 32768 and ranges["linux"][1] <= 60999
    assert ranges["windows"][0] >= 49152
    assert ranges["nat"][0] < 32768 and ranges["lambda"][0] < 32768


def test_aggregation_windows_sum_packets_and_bound_start_end(tmp_path: Path) -> None:
    long_session = {
        **DB,
        "packets": 1000,
        "bytes": 1_000_000,
        "session_seconds": 1500,
        "response_packets": 10,
        "response_bytes": 1000,
    }
    totals = {}
    for interval in (60, 600):
        out = tmp_path / str(interval)
        simulate(two_tier(interval=interval), scen(long_session, duration="40m"), out, seed=3)
        got = [r for r in rows(records(out)) if r["interface-id"] == CLIENT and r["flow-direction"] == "egress"]
        for r in got:
            start, end = int(r["start"]), int(r["end"])
            assert start // interval == end // interval, "a record stays inside one aggregation window"
        assert got[0]["tcp-flags"] == "2" and got[-1]["tcp-flags"] == "1"
        assert all(r["tcp-flags"] == "0" for r in got[1:-1])
        totals[interval] = (len(got), sum(int(r["packets"]) for r in got), sum(int(r["bytes"]) for r in got))
    assert totals[60][1:] == totals[600][1:] == (1000, 1_000_000)
    assert totals[60][0] > totals[600][0] >= 3


def test_traffic_type_filter_and_nodata(tmp_path: Path) -> None:
    blocked = {**DB, "name": "blocked", "port": 22, "count": 1}
    simulate(two_tier(traffic="REJECT"), scen(DB, blocked, duration="1h"), tmp_path, seed=3)
    got = rows(records(tmp_path, nodata=True))
    assert {r["action"] for r in got if r["log-status"] == "OK"} == {"REJECT"}
    nodata = [r for r in got if r["log-status"] == "NODATA"]
    # two interfaces, six 10-minute windows, one window busy for both
    assert len(nodata) == 2 * 5
    assert all(r["srcaddr"] == "-" and r["action"] == "-" for r in nodata)


def test_labels_point_at_the_lines_they_describe(tmp_path: Path) -> None:
    scan = {"name": "scan", "kind": "port_scan", "from": "10.0.1.10", "to": SERVER, "ports": "1-200"}
    simulate(two_tier(), scen(DB, scan), tmp_path, seed=3)
    labels = pq.read_table(tmp_path / "labels.parquet").to_pylist()
    assert len(labels) == len(read_lines(tmp_path))
    cache: dict[str, list[str]] = {}
    for label in labels:
        path = label["source_object"]
        lines = cache.setdefault(path, gzip.decompress(Path(path).read_bytes()).decode().splitlines())
        fields = lines[label["source_line"]].split()
        assert fields[1] == label["interface_id"]
        assert int(fields[9]) == label["start"] and fields[11] == (label["action"] or "-")
        if label["log_status"] == "OK":
            assert label["element"] in ("db", "scan")
    scans = [x for x in labels if x["element"] == "scan"]
    assert all(x["attack"] for x in scans)
    blocked = [x for x in scans if x["action"] == "REJECT"]
    assert blocked and all(x["blocked_by"] == "security-group inbound sg-s" for x in blocked)


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path) -> None:
    snap, scenario = example_paths("three-tier")
    small = load_scenario(scenario)
    from dataclasses import replace

    small = replace(small, duration=3 * 3600.0)
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        simulate(snap, small, tmp_path / name, seed=seed)

    def content(d: str) -> list[tuple[str, bytes]]:
        root = tmp_path / d
        return [(str(p.relative_to(root)), p.read_bytes()) for p in sorted(root.rglob("*.log.gz"))]

    assert content("a") == content("b")
    assert content("a") != content("c")


def test_files_parse_back_with_ingest_and_keys_parse_with_s3layout(tmp_path: Path) -> None:
    simulate(two_tier(options={"HiveCompatiblePartitions": True, "PerHourPartition": True}), scen(DB), tmp_path, seed=1)
    files = sorted(tmp_path.rglob("*.log.gz"))
    assert files
    for path in files:
        key = str(path.relative_to(tmp_path / "sim-bucket"))
        info = parse_key(key)
        assert info is not None and info.hive and info.hour == 0 and info.flow_log_id == "fl-1234abcd"
    table = load_records([str(p) for p in files])
    assert table.num_rows == len(read_lines(tmp_path))
    assert set(table.column("flow_direction").to_pylist()) <= {"ingress", "egress", None}


def test_parquet_delivery(tmp_path: Path) -> None:
    simulate(two_tier(options={"FileFormat": "parquet"}), scen(DB), tmp_path, seed=1)
    files = sorted(tmp_path.rglob("*.log.parquet"))
    assert files
    table = pq.read_table(files[0])
    assert table.column_names[:3] == ["version", "interface_id", "srcaddr"]
    assert str(table.schema.field("srcport").type) == "int32"
    assert str(table.schema.field("start").type) == "int64"
    assert str(table.schema.field("packets").type) == "int64"


def test_cloudwatch_folder_streams_per_interface_without_header(tmp_path: Path) -> None:
    simulate(two_tier(dest_type="cloud-watch-logs", destination="/vpc/flows"), scen(DB), tmp_path, seed=1)
    streams = sorted((tmp_path / "cloudwatch" / "vpc_flows").glob("*.log"))
    assert [p.stem for p in streams] == [CLIENT, SERVER]
    for p in streams:
        lines = p.read_text().splitlines()
        assert lines and not lines[0].startswith("version")
        assert all(line.split()[1] == p.stem for line in lines)


def test_bad_scenarios_fail_in_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="kind 'nope'"):
        scen({"kind": "nope", "to": SERVER})
    with pytest.raises(InputError, match="outside 0-65535"):
        scen({"to": SERVER, "port": 70000})
    with pytest.raises(InputError, match="unknown key"):
        scen({"to": SERVER, "port": 1, "colour": "red"})
    with pytest.raises(InputError, match="not a rate"):
        scen({"to": SERVER, "port": 1, "rate": "fast"})
    with pytest.raises(InputError, match="not a network interface of the snapshot"):
        simulate(two_tier(), scen({"to": "eni-0missing", "port": 1, "count": 1}), tmp_path)


def test_sweep_of_a_subnet_gets_answers_only_from_hosts_that_exist(tmp_path: Path) -> None:
    sweep = {"name": "sweep", "kind": "sweep", "from": CLIENT, "to": "10.0.2.0/27", "port": 5432}
    simulate(two_tier(), scen(sweep), tmp_path, seed=3)
    got = rows(records(tmp_path))
    probes = [r for r in got if r["interface-id"] == CLIENT and r["flow-direction"] == "egress"]
    assert sorted(r["dstaddr"] for r in probes) == sorted(f"10.0.2.{i}" for i in range(1, 31))
    answers = [r for r in got if r["interface-id"] == CLIENT and r["flow-direction"] == "ingress"]
    assert [r["srcaddr"] for r in answers] == ["10.0.2.20"]  # the only interface in that block
    assert answers[0]["tcp-flags"] == "4"  # no element of the scenario uses 5432 there: closed, RST


def test_unsupported_destination_is_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="kinesis-data-firehose"):
        simulate(two_tier(dest_type="kinesis-data-firehose"), scen(DB), tmp_path)
    assert not list(tmp_path.iterdir())


def test_traffic_to_a_secondary_address_is_logged_under_the_primary(tmp_path: Path) -> None:
    """AWS: dstaddr shows the interface's primary address; pkt-dstaddr the secondary one it was sent to."""
    snap = two_tier(log_format="${interface-id} ${srcaddr} ${dstaddr} ${pkt-dstaddr} ${flow-direction} ${action}")
    snap["NetworkInterfaces"][1]["PrivateIpAddresses"].append({"PrivateIpAddress": "10.0.2.21", "Primary": False})
    simulate(snap, scen({**DB, "to": "10.0.2.21"}), tmp_path, seed=3)
    server_in = [line for line in records(tmp_path) if line.startswith(SERVER) and " ingress " in line]
    assert server_in == [server_in[0]] and server_in[0].split()[1:4] == ["10.0.1.10", "10.0.2.20", "10.0.2.21"]


def test_transit_gateway_flow_logs_are_skipped_with_a_note(tmp_path: Path) -> None:
    snap = two_tier()
    snap["FlowLogs"].append({"FlowLogId": "fl-tgw", "ResourceId": "tgw-0123", "TrafficType": "ALL"})
    result = simulate(snap, scen(DB), tmp_path, seed=1)
    assert result.notes == ["Not simulated: fl-tgw (transit gateway)."]
    assert [f.flow_log_id for f in result.flow_logs] == ["fl-1234abcd"]


def test_private_instance_behind_an_internet_gateway_gets_no_reply(tmp_path: Path) -> None:
    snap = two_tier()
    snap["RouteTables"] = [
        {
            "RouteTableId": "rtb-1",
            "VpcId": "vpc-abcdefab012345678",
            "Associations": [{"Main": True}],
            "Routes": [
                {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"},
                {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"},
            ],
        }
    ]
    simulate(snap, scen({**DB, "to": "198.51.100.9", "port": 443}), tmp_path, seed=1)
    got = rows(records(tmp_path))
    assert [(r["interface-id"], r["flow-direction"]) for r in got] == [(CLIENT, "egress")]


def test_a_window_past_the_size_limit_is_split_into_several_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vpcflow.simulate import delivery

    monkeypatch.setattr(delivery, "MAX_FILE_BYTES", 2000)  # AWS: 75 MB; small here to exercise the split
    simulate(two_tier(), scen({**DB, "count": 60, "duration": "3m"}, duration="5m"), tmp_path, seed=1)
    files = sorted(tmp_path.rglob("*.log.gz"))
    assert len(files) > 3
    stamps = {parse_key(str(p.relative_to(tmp_path / "sim-bucket"))).timestamp for p in files}  # type: ignore[union-attr]
    assert len(stamps) == 1 and len({p.name for p in files}) == len(files)
    for p in files:
        text = gzip.decompress(p.read_bytes())
        assert len(text) <= 2000 and text.startswith(b"version ")
    labels = pq.read_table(tmp_path / "labels.parquet").to_pylist()
    assert len(labels) == len(read_lines(tmp_path))
    assert {str(x["source_object"]) for x in labels} == {str(p) for p in files}


def test_nitro_interfaces_capture_per_minute_whatever_the_setting(tmp_path: Path) -> None:
    long_session = {**DB, "packets": 300, "bytes": 300_000, "session_seconds": 500}
    scenario = scenario_from_dict(
        {"start": "2026-11-25T00:00:00Z", "duration": "20m", "nitro": [SERVER], "elements": [long_session]}
    )
    simulate(two_tier(interval=600), scenario, tmp_path, seed=3)
    got = rows(records(tmp_path, nodata=True))
    for iface, width in ((CLIENT, 600), (SERVER, 60)):
        mine = [r for r in got if r["interface-id"] == iface and r["log-status"] == "OK"]
        assert all(int(r["start"]) // width == int(r["end"]) // width for r in mine)
        nodata = [r for r in got if r["interface-id"] == iface and r["log-status"] == "NODATA"]
        assert nodata and all(int(r["end"]) - int(r["start"]) == width - 1 for r in nodata)
    server = [r for r in got if r["interface-id"] == SERVER and r["flow-direction"] == "ingress"]
    client = [r for r in got if r["interface-id"] == CLIENT and r["flow-direction"] == "egress"]
    assert len(server) >= 8 > len(client)

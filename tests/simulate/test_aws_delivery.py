"""Delivery to real endpoints: S3 objects and CloudWatch Logs streams, through moto in server mode."""

from __future__ import annotations

import gzip
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest

from tests.simulate.test_cli import run
from tests.simulate.test_simulate import CLIENT, DB, SERVER, scen, two_tier
from vpcflow.errors import AwsAccessError
from vpcflow.simulate import simulate
from vpcflow.sources.s3layout import parse_key


def test_s3_objects_named_as_aws_names_them(aws: str, tmp_path: Path) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="sim-bucket")
    snap = two_tier(destination="arn:aws:s3:::sim-bucket/team-a")
    result = simulate(snap, scen(DB), None, to_aws=True, labels=tmp_path / "labels.parquet", seed=2)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="sim-bucket")["Contents"]]
    assert len(keys) == result.flow_logs[0].files >= 1
    for key in keys:
        assert key.startswith("team-a/AWSLogs/123456789010/vpcflowlogs/us-east-1/2026/11/25/")
        info = parse_key(key)
        assert info is not None and info.flow_log_id == "fl-1234abcd"
        body = gzip.decompress(s3.get_object(Bucket="sim-bucket", Key=key)["Body"].read()).decode()
        assert body.startswith("version interface-id srcaddr")
    labels = pq.read_table(tmp_path / "labels.parquet")
    assert {str(u) for u in labels.column("source_object").to_pylist()} == {f"s3://sim-bucket/{k}" for k in keys}


def test_missing_bucket_is_one_sentence(aws: str, tmp_path: Path) -> None:
    with pytest.raises(AwsAccessError, match="sim-bucket"):
        simulate(two_tier(), scen(DB), None, to_aws=True, labels=tmp_path / "l.parquet")


def test_cloudwatch_stream_per_interface(aws: str, tmp_path: Path) -> None:
    snap = two_tier(dest_type="cloud-watch-logs", destination="/vpc/flows")
    simulate(snap, scen({**DB, "count": 3, "duration": "5m"}), None, to_aws=True, labels=tmp_path / "l.parquet", seed=2)
    logs = boto3.client("logs")
    streams = sorted(s["logStreamName"] for s in logs.describe_log_streams(logGroupName="/vpc/flows")["logStreams"])
    assert streams == [CLIENT, SERVER]
    events = logs.get_log_events(logGroupName="/vpc/flows", logStreamName=CLIENT, startFromHead=True)["events"]
    flows = [e for e in events if not e["message"].endswith("NODATA")]
    assert len(flows) == 6  # three connections: an egress request and an ingress response each
    for event in flows:
        fields = event["message"].split()
        assert fields[1] == CLIENT and not event["message"].startswith("version")
        assert event["timestamp"] == int(fields[9]) * 1000  # the event time is the record's start


def test_labels_are_never_silently_skipped(aws: str) -> None:
    from vpcflow.errors import InputError

    with pytest.raises(InputError, match="--labels"):
        simulate(two_tier(), scen(DB), None, to_aws=True)


def test_simulate_from_a_snapshot_taken_by_vpcflow_snapshot(
    aws: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live account (moto) → `vpcflow snapshot` → simulate: the shapes describe calls return are read as is."""
    ec2 = boto3.client("ec2")
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="live-logs")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.8.0.0/16"}]}
        ],
    )
    server = ec2.create_network_interface(SubnetId=subnet, Groups=[group], PrivateIpAddress="10.8.1.20")
    client = ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress="10.8.1.10")
    ec2.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="REJECT",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::live-logs",
    )
    code, _, err = run(["snapshot", "-o", str(tmp_path / "snap.json")], capsys)
    assert code == 0, err
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "start: 2026-11-25T00:00:00Z\nduration: 10m\nelements:\n"
        f"  - {{name: probe, from: {client['NetworkInterface']['NetworkInterfaceId']}, "
        f"to: {server['NetworkInterface']['NetworkInterfaceId']}, port: 22, count: 5}}\n"
    )
    result = simulate(
        tmp_path / "snap.json", __import__("vpcflow.simulate").simulate.load_scenario(scenario), tmp_path / "out"
    )
    assert result.elements[0].rejects == 5 and result.elements[0].blocked_by == {f"security-group inbound {group}"}

"""Builds AWS accounts in moto (over HTTP) with flow logs in every state the audit grades."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

GOOD_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
CIS_TEXT_TRUST = {  # the principal the CIS remediation text gives: wrong
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
WRITE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
            ],
            "Resource": "*",
        }
    ],
}


def session(region: str = "us-east-1", creds: dict[str, str] | None = None) -> boto3.session.Session:
    return boto3.session.Session(region_name=region, **(creds or {}))


@dataclass
class World:
    """Handles to what a test built, by name."""

    account: str
    ids: dict[str, str] = field(default_factory=dict)
    flow_logs: dict[str, str] = field(default_factory=dict)
    creds: dict[str, str] | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def client(self, service: str, region: str = "us-east-1") -> Any:
        """One client per service and region (making a boto3 client costs far more than a moto call)."""
        if (service, region) not in self._clients:
            self._clients[(service, region)] = session(region, self.creds).client(service)
        return self._clients[(service, region)]

    # -- building blocks ----------------------------------------------------------------------------
    def vpc(self, name: str, region: str = "us-east-1", cidr: str = "10.0.0.0/16", enis: int = 1) -> str:
        ec2 = self.client("ec2", region)
        vpc = ec2.create_vpc(
            CidrBlock=cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}]
        )["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("0.0/16", "1.0/24"))["Subnet"]["SubnetId"]
        self.ids[name] = vpc
        self.ids[f"{name}/subnet"] = subnet
        for i in range(enis):
            eni = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
            self.ids[f"{name}/eni{i}"] = eni
        return vpc

    def role(self, name: str, trust: dict[str, Any] = GOOD_TRUST, policy: dict[str, Any] | None = WRITE_POLICY) -> str:
        iam = self.client("iam")
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        if policy:
            iam.put_role_policy(RoleName=name, PolicyName="delivery", PolicyDocument=json.dumps(policy))
        return str(arn)

    def log_group(self, name: str, region: str = "us-east-1") -> None:
        self.client("logs", region).create_log_group(logGroupName=name)

    def cwl_flow_log(
        self, name: str, vpc: str, group: str, role: str, traffic: str = "REJECT", region: str = "us-east-1"
    ) -> str:
        resp = self.client("ec2", region).create_flow_logs(
            ResourceType="VPC",
            ResourceIds=[self.ids[vpc]],
            TrafficType=traffic,
            LogGroupName=group,
            DeliverLogsPermissionArn=role,
        )
        assert not resp["Unsuccessful"], resp["Unsuccessful"]
        self.flow_logs[name] = resp["FlowLogIds"][0]
        return str(resp["FlowLogIds"][0])

    def s3_flow_log(self, name: str, vpc: str, bucket: str, traffic: str = "ALL", region: str = "us-east-1") -> str:
        resp = self.client("ec2", region).create_flow_logs(
            ResourceType="VPC",
            ResourceIds=[self.ids[vpc]],
            TrafficType=traffic,
            LogDestinationType="s3",
            LogDestination=f"arn:aws:s3:::{bucket}",
        )
        assert not resp["Unsuccessful"], resp["Unsuccessful"]
        self.flow_logs[name] = resp["FlowLogIds"][0]
        return str(resp["FlowLogIds"][0])

    def bucket(self, name: str, region: str = "us-east-1") -> None:
        s3 = self.client("s3", region)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})

    def events(self, group: str, stream: str, age: timedelta, region: str = "us-east-1") -> None:
        logs = self.client("logs", region)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        ts = int((datetime.now(UTC) - age).timestamp() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[
                {"timestamp": ts, "message": "2 123456789012 eni-x 1.2.3.4 10.0.1.5 443 49152 6 1 40 1 2 REJECT OK"}
            ],
        )

    def s3_object(self, bucket: str, flow_log: str, region: str) -> None:
        now = datetime.now(UTC)
        key = (
            f"AWSLogs/{self.account}/vpcflowlogs/{region}/{now:%Y/%m/%d}/"
            f"{self.account}_vpcflowlogs_{region}_{flow_log}_{now:%Y%m%dT%H%MZ}_abcd1234.log.gz"
        )
        self.client("s3", region).put_object(Bucket=bucket, Key=key, Body=b"")


def build_mixed(account: str, creds: dict[str, str] | None = None, suffix: str = "") -> World:
    """us-east-1 and eu-west-1 with one VPC in each state the audit knows."""
    w = World(account, creds=creds)
    good = w.role("flow-logs-good")
    wrong = w.role("flow-logs-cis-text", trust=CIS_TEXT_TRUST)
    w.log_group("good-group")
    # us-east-1
    w.vpc("compliant", cidr="10.1.0.0/16")
    w.cwl_flow_log("compliant", "compliant", "good-group", good)
    w.events("good-group", f"{w.ids['compliant/eni0']}-all", timedelta(minutes=10))
    w.vpc("accept-only", cidr="10.2.0.0/16")
    w.cwl_flow_log("accept-only", "accept-only", "good-group", good, traffic="ACCEPT")
    w.vpc("failed-delivery", cidr="10.3.0.0/16")
    w.cwl_flow_log("failed-delivery", "failed-delivery", "late-group", good)  # group missing now: moto marks FAILED
    w.log_group("late-group")  # the group exists afterwards; the delivery status stays FAILED
    w.vpc("unlogged", cidr="10.4.0.0/16")
    w.vpc("role-wrong", cidr="10.5.0.0/16")
    w.cwl_flow_log("role-wrong", "role-wrong", "good-group", wrong)
    w.vpc("role-missing", cidr="10.6.0.0/16")
    w.cwl_flow_log("role-missing", "role-missing", "good-group", f"arn:aws:iam::{account}:role/deleted-long-ago")
    w.vpc("stale", cidr="10.7.0.0/16")
    w.log_group("stale-group")
    w.cwl_flow_log("stale", "stale", "stale-group", good)
    w.events("stale-group", f"{w.ids['stale/eni0']}-all", timedelta(days=3))
    # eu-west-1
    eu = "eu-west-1"
    w.bucket(f"vpcflow-test-logs-eu{suffix}", eu)
    w.vpc("s3-compliant", region=eu, cidr="10.11.0.0/16")
    fl = w.s3_flow_log("s3-compliant", "s3-compliant", f"vpcflow-test-logs-eu{suffix}", region=eu)
    w.s3_object(f"vpcflow-test-logs-eu{suffix}", fl, eu)
    w.bucket(f"vpcflow-test-doomed{suffix}", eu)
    w.vpc("bucket-gone", region=eu, cidr="10.12.0.0/16")
    w.s3_flow_log("bucket-gone", "bucket-gone", f"vpcflow-test-doomed{suffix}", traffic="REJECT", region=eu)
    w.client("s3", eu).delete_bucket(Bucket=f"vpcflow-test-doomed{suffix}")
    w.vpc("group-gone", region=eu, cidr="10.13.0.0/16")
    w.log_group("doomed-group", eu)
    w.cwl_flow_log("group-gone", "group-gone", "doomed-group", good, region=eu)
    w.client("logs", eu).delete_log_group(logGroupName="doomed-group")
    return w


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    end = time.time() + timeout
    while time.time() < end and not predicate():
        time.sleep(0.05)

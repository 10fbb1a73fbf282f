"""Give the demo's AWS account (moto, reached through AWS_ENDPOINT_URL) three VPCs in the states worth seeing.

- `shop-web`: a flow log of REJECTed traffic to CloudWatch Logs, delivered by a correct role: compliant.
- `shop-payments`: a flow log of ACCEPTed traffic only: its rejects are not recorded.
- `shop-legacy`: no flow log at all.
The account's default VPC (moto makes one, as AWS does) has none either.

It refuses to run without AWS_ENDPOINT_URL, so it never touches a real account.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import boto3

REGION = "us-east-1"
LOG_GROUP = "/shop/flow-logs"
ROLE = "shop-flow-logs-delivery"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
WRITE = {
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


def _vpc(ec2: Any, name: str, cidr: str) -> str:
    vpc = ec2.create_vpc(
        CidrBlock=cidr, TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}]
    )["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("0.0/16", "1.0/24"))
    return str(vpc)


def main() -> int:
    if not os.environ.get("AWS_ENDPOINT_URL"):
        print("demo_account.py builds a demo account in a local AWS emulator: set AWS_ENDPOINT_URL.", file=sys.stderr)
        return 2
    session = boto3.session.Session(region_name=REGION)
    ec2, iam, logs = session.client("ec2"), session.client("iam"), session.client("logs")

    role = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="delivery", PolicyDocument=json.dumps(WRITE))
    logs.create_log_group(logGroupName=LOG_GROUP)

    made = {
        "shop-web": _vpc(ec2, "shop-web", "10.1.0.0/16"),
        "shop-payments": _vpc(ec2, "shop-payments", "10.2.0.0/16"),
        "shop-legacy": _vpc(ec2, "shop-legacy", "10.3.0.0/16"),
    }
    for name, traffic in (("shop-web", "REJECT"), ("shop-payments", "ACCEPT")):
        resp = ec2.create_flow_logs(
            ResourceType="VPC",
            ResourceIds=[made[name]],
            TrafficType=traffic,
            LogGroupName=LOG_GROUP,
            DeliverLogsPermissionArn=role,
        )
        if resp["Unsuccessful"]:
            print(f"could not create the {name} flow log: {resp['Unsuccessful']}", file=sys.stderr)
            return 1
    for name, vpc in made.items():
        print(f"{name:14} {vpc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

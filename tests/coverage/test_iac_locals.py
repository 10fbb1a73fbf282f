"""Terraform: ``vpc_id`` through locals, and an ``aws_flow_log`` without its required ``traffic_type``."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_runner import run_cli
from tests.coverage.test_iac import _res
from vpcflow.coverage.iac import audit_terraform
from vpcflow.coverage.model import Code

LOCALS_TF = """
locals {
  vpc_id   = try(aws_vpc.this[0].id, "")
  chained  = local.vpc_id
  direct   = aws_vpc.other.id
}

resource "aws_vpc" "this" {
  count      = 1
  cidr_block = "10.0.0.0/16"
}

resource "aws_vpc" "other" {
  cidr_block = "10.1.0.0/16"
}

resource "aws_flow_log" "this" {
  vpc_id          = local.chained
  traffic_type    = "REJECT"
  log_destination = "arn:aws:s3:::flow-logs"
  log_destination_type = "s3"
}

resource "aws_flow_log" "other" {
  vpc_id          = local.direct
  traffic_type    = "ALL"
  log_destination = "arn:aws:s3:::flow-logs"
  log_destination_type = "s3"
}
"""

MISSING_TF = """
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_flow_log" "main" {
  vpc_id               = aws_vpc.main.id
  log_destination      = "arn:aws:s3:::flow-logs"
  log_destination_type = "s3"
}
"""


def test_vpc_id_through_locals_is_resolved(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(LOCALS_TF)
    verdicts = {v.resource.resource_id: v for v in audit_terraform(tmp_path).verdicts}
    assert verdicts["aws_vpc.this"].code == Code.COMPLIANT, verdicts["aws_vpc.this"].message
    assert verdicts["aws_vpc.other"].code == Code.COMPLIANT, verdicts["aws_vpc.other"].message


def test_a_flow_log_without_traffic_type_is_named_for_what_it_is(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(MISSING_TF)
    v = audit_terraform(tmp_path).verdicts[0]
    assert v.code == Code.TRAFFIC_TYPE_MISSING
    assert "required" in v.message and "aws_flow_log.main" in v.message
    result = run_cli("audit", "--terraform", str(tmp_path), "--format", "json")
    assert result.code == 1 and "TRAFFIC_TYPE_MISSING" in result.stdout


def test_plan_json_without_traffic_type_in_the_configuration(tmp_path: Path) -> None:
    plan = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [
                    _res("aws_vpc.main", "aws_vpc", "main", {"cidr_block": "10.0.0.0/16"}),
                    _res("aws_flow_log.main", "aws_flow_log", "main", {"traffic_type": None}),
                ]
            }
        },
        "configuration": {
            "root_module": {
                "resources": [
                    {"address": "aws_vpc.main", "type": "aws_vpc", "name": "main", "expressions": {}},
                    {
                        "address": "aws_flow_log.main",
                        "type": "aws_flow_log",
                        "name": "main",
                        "expressions": {"vpc_id": {"references": ["aws_vpc.main.id", "aws_vpc.main"]}},
                    },
                ]
            }
        },
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert audit_terraform(path).verdicts[0].code == Code.TRAFFIC_TYPE_MISSING


def test_plan_json_vpc_id_through_a_local(tmp_path: Path) -> None:
    plan = {
        "format_version": "1.2",
        "planned_values": {
            "root_module": {
                "resources": [
                    _res("aws_vpc.this", "aws_vpc", "this", {"cidr_block": "10.0.0.0/16"}, index=0),
                    _res("aws_flow_log.this", "aws_flow_log", "this", {"traffic_type": "REJECT"}),
                ]
            }
        },
        "configuration": {
            "root_module": {
                "resources": [
                    {
                        "address": "aws_flow_log.this",
                        "type": "aws_flow_log",
                        "name": "this",
                        "expressions": {
                            "vpc_id": {"references": ["local.vpc_id"]},
                            "traffic_type": {"constant_value": "REJECT"},
                        },
                    },
                ]
            }
        },
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert audit_terraform(path).verdicts[0].code == Code.COMPLIANT

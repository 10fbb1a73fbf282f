"""`vpcflow audit --terraform`: HCL directories and `terraform show -json` plans."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vpcflow.cli import main
from vpcflow.coverage.iac import audit_terraform
from vpcflow.coverage.model import Code

MAIN_TF = """
variable "flow_traffic" {
  default = "ALL"
}

resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_flow_log" "main" {
  vpc_id          = aws_vpc.main.id
  traffic_type    = var.flow_traffic
  log_destination = aws_cloudwatch_log_group.flow.arn
  iam_role_arn    = aws_iam_role.good.arn
  log_format      = "$${version} $${srcaddr} $${action}"
}

resource "aws_vpc" "accept" {
  cidr_block = "10.1.0.0/16"
}

resource "aws_flow_log" "accept" {
  vpc_id       = aws_vpc.accept.id
  traffic_type = "ACCEPT"
}

resource "aws_vpc" "bare" {
  cidr_block = "10.2.0.0/16"
}

resource "aws_default_vpc" "default" {}

resource "aws_vpc" "many" {
  count      = 2
  cidr_block = "10.3.${count.index}.0/24"
}

resource "aws_flow_log" "many" {
  count        = 2
  vpc_id       = aws_vpc.many[count.index].id
  traffic_type = "REJECT"
}

resource "aws_flow_log" "elsewhere" {
  vpc_id       = var.some_vpc_id
  traffic_type = "REJECT"
}
"""

ROLES_TF = """
resource "aws_vpc" "cis" {
  cidr_block = "10.9.0.0/16"
}

resource "aws_iam_role" "cis" {
  name = "flowlogsRole"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role" "good" {
  name               = "flow-logs"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

resource "aws_flow_log" "cis" {
  vpc_id       = aws_vpc.cis.id
  traffic_type = "REJECT"
  iam_role_arn = aws_iam_role.cis.arn
}

module "network" {
  source          = "terraform-aws-modules/vpc/aws"
  cidr            = "10.20.0.0/16"
  enable_flow_log = true
}

module "legacy" {
  source = "terraform-aws-modules/vpc/aws"
  cidr   = "10.30.0.0/16"
}
"""


def test_hcl_directory(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(MAIN_TF)
    (tmp_path / "roles.tf").write_text(ROLES_TF)
    (tmp_path / ".terraform").mkdir()
    (tmp_path / ".terraform" / "ignored.tf").write_text("this is not HCL {")
    result = audit_terraform(tmp_path)
    v = {x.resource.resource_id: x for x in result.verdicts}
    assert {k: x.code for k, x in v.items()} == {
        "aws_vpc.main": Code.COMPLIANT,
        "aws_vpc.accept": Code.ACCEPT_ONLY,
        "aws_vpc.bare": Code.NO_FLOW_LOG,
        "aws_default_vpc.default": Code.NO_FLOW_LOG,
        "aws_vpc.many": Code.COMPLIANT,
        "aws_vpc.cis": Code.ROLE_INVALID,
        "module.network": Code.COMPLIANT,
        "module.legacy": Code.NO_FLOW_LOG,
    }
    assert "ec2.amazonaws.com" in v["aws_vpc.cis"].message
    assert v["aws_vpc.main"].evidence[0].traffic_type == "ALL"  # from the variable's default
    assert any("var.some_vpc_id" in n for n in v["aws_vpc.bare"].notes)
    assert v["aws_vpc.accept"].resource.region == "main.tf"


def _res(address: str, rtype: str, name: str, values: dict[str, Any], index: Any = None) -> dict[str, Any]:
    r = {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "schema_version": 0,
        "values": values,
        "sensitive_values": {},
    }
    if index is not None:
        r["index"] = index
    return r


PLAN = {
    "format_version": "1.2",
    "terraform_version": "1.9.5",
    "planned_values": {
        "root_module": {
            "resources": [
                _res("aws_vpc.app", "aws_vpc", "app", {"cidr_block": "10.0.0.0/16"}),
                _res(
                    "aws_vpc.existing",
                    "aws_vpc",
                    "existing",
                    {"cidr_block": "10.5.0.0/16", "id": "vpc-0123456789abcdef0"},
                ),
                _res(
                    "aws_flow_log.existing",
                    "aws_flow_log",
                    "existing",
                    {"vpc_id": "vpc-0123456789abcdef0", "traffic_type": "ACCEPT", "log_destination_type": "s3"},
                ),
                _res(
                    "aws_iam_role.flow",
                    "aws_iam_role",
                    "flow",
                    {
                        "name": "flow",
                        "assume_role_policy": json.dumps(
                            {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Principal": {"Service": "ec2.amazonaws.com"},
                                        "Action": "sts:AssumeRole",
                                    }
                                ],
                            }
                        ),
                    },
                ),
            ],
            "child_modules": [
                {
                    "address": "module.network",
                    "resources": [
                        _res(
                            "module.network.aws_vpc.this[0]", "aws_vpc", "this", {"cidr_block": "10.20.0.0/16"}, index=0
                        ),
                        _res(
                            "module.network.aws_flow_log.this[0]",
                            "aws_flow_log",
                            "this",
                            {"traffic_type": "ALL", "log_destination_type": "cloud-watch-logs"},
                            index=0,
                        ),
                    ],
                },
                {
                    "address": "module.legacy",
                    "resources": [
                        _res(
                            "module.legacy.aws_vpc.this[0]", "aws_vpc", "this", {"cidr_block": "10.30.0.0/16"}, index=0
                        )
                    ],
                },
                {
                    "address": "module.app_logs",
                    "resources": [
                        _res(
                            "module.app_logs.aws_flow_log.this",
                            "aws_flow_log",
                            "this",
                            {"traffic_type": "REJECT", "log_destination_type": "cloud-watch-logs"},
                        )
                    ],
                },
            ],
        }
    },
    "configuration": {
        "root_module": {
            "resources": [
                {
                    "address": "aws_vpc.app",
                    "mode": "managed",
                    "type": "aws_vpc",
                    "name": "app",
                    "expressions": {"cidr_block": {"constant_value": "10.0.0.0/16"}},
                },
                {
                    "address": "aws_flow_log.existing",
                    "mode": "managed",
                    "type": "aws_flow_log",
                    "name": "existing",
                    "expressions": {
                        "vpc_id": {"references": ["aws_vpc.existing.id", "aws_vpc.existing"]},
                        "iam_role_arn": {"references": ["aws_iam_role.flow.arn", "aws_iam_role.flow"]},
                    },
                },
            ],
            "module_calls": {
                "network": {
                    "source": "terraform-aws-modules/vpc/aws",
                    "module": {
                        "resources": [
                            {
                                "address": "aws_flow_log.this",
                                "mode": "managed",
                                "type": "aws_flow_log",
                                "name": "this",
                                "expressions": {"vpc_id": {"references": ["local.vpc_id"]}},
                            }
                        ]
                    },
                },
                "legacy": {"source": "terraform-aws-modules/vpc/aws", "module": {"resources": []}},
                "app_logs": {
                    "source": "./modules/flow-logs",
                    "expressions": {"vpc_id": {"references": ["aws_vpc.app.id", "aws_vpc.app"]}},
                    "module": {
                        "resources": [
                            {
                                "address": "aws_flow_log.this",
                                "mode": "managed",
                                "type": "aws_flow_log",
                                "name": "this",
                                "expressions": {"vpc_id": {"references": ["var.vpc_id"]}},
                            }
                        ]
                    },
                },
            },
        }
    },
}


def test_plan_json_resolves_modules_and_references(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(PLAN))
    result = audit_terraform(path)
    v = {x.resource.resource_id: x for x in result.verdicts}
    assert {k: x.code for k, x in v.items()} == {
        "aws_vpc.app": Code.COMPLIANT,  # through module.app_logs' var.vpc_id
        "aws_vpc.existing": Code.ACCEPT_ONLY,  # by its known id
        "module.network.aws_vpc.this[0]": Code.COMPLIANT,  # local.vpc_id: the module's only VPC
        "module.legacy.aws_vpc.this[0]": Code.NO_FLOW_LOG,
    }
    with pytest.raises(SystemExit) as ex:
        main(["audit", "--terraform", str(path), "--format", "json"])
    assert ex.value.code == 1
    data = json.loads(capsys.readouterr().out)
    assert {x["verdict"] for x in data["verdicts"]} == {"COMPLIANT", "ACCEPT_ONLY", "NO_FLOW_LOG"}


def test_bad_terraform_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.tf").write_text('resource "aws_vpc" "x" {')
    with pytest.raises(SystemExit) as ex:
        main(["audit", "--terraform", str(tmp_path)])
    assert ex.value.code == 2 and "Cannot parse" in capsys.readouterr().err
    other = tmp_path / "x.json"
    other.write_text("{}")
    with pytest.raises(SystemExit) as ex:
        main(["audit", "--terraform", str(other)])
    assert ex.value.code == 2 and "terraform show -json" in capsys.readouterr().err

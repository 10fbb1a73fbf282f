"""Reading delivery roles the way IAM does."""

from __future__ import annotations

from vpcflow.coverage.iam_eval import RoleFacts, assess_cwl_role, assess_trust, decide, parse_document

ACCOUNT = "123456789012"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
WRITE = {
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": "arn:aws:logs:*:*:log-group:flow*",
        }
    ]
}


def test_trust_principal_and_conditions() -> None:
    problems, notes = assess_trust(
        TRUST, principal="vpc-flow-logs.amazonaws.com", account_id=ACCOUNT, source_arn_example=None
    )
    assert problems == [] and "confused-deputy" in notes[0]
    wrong = {
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    }
    problems, _ = assess_trust(
        wrong, principal="vpc-flow-logs.amazonaws.com", account_id=ACCOUNT, source_arn_example=None
    )
    assert "ec2.amazonaws.com" in problems[0]
    other_account = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["vpc-flow-logs.amazonaws.com"]},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": "999999999999"}},
            }
        ]
    }
    problems, _ = assess_trust(
        other_account, principal="vpc-flow-logs.amazonaws.com", account_id=ACCOUNT, source_arn_example=None
    )
    assert "999999999999" in problems[0]
    arn = f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc-flow-log/fl-1"
    scoped = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:ec2:*:{ACCOUNT}:vpc-flow-log/*"}},
            }
        ]
    }
    assert assess_trust(
        scoped, principal="vpc-flow-logs.amazonaws.com", account_id=ACCOUNT, source_arn_example=arn
    ) == ([], [])


def test_permissions_with_wildcards_denies_and_boundaries() -> None:
    facts = RoleFacts(f"arn:aws:iam::{ACCOUNT}:role/r", TRUST, [WRITE])
    ok = assess_cwl_role(facts, account_id=ACCOUNT, log_groups=[("us-east-1", "flow-logs")])
    assert ok.ok and any("DescribeLogStreams" in n for n in ok.notes)
    bad = assess_cwl_role(facts, account_id=ACCOUNT, log_groups=[("us-east-1", "other")])
    assert not bad.ok and "logs:CreateLogStream" in bad.problems[0]
    deny = {"Statement": [{"Effect": "Deny", "Action": "logs:Put*", "Resource": "*"}]}
    denied = assess_cwl_role(
        RoleFacts(facts.arn, TRUST, [WRITE, deny]), account_id=ACCOUNT, log_groups=[("us-east-1", "flow-logs")]
    )
    assert not denied.ok and "logs:PutLogEvents" in denied.problems[0]
    boundary = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    bounded = assess_cwl_role(
        RoleFacts(facts.arn, TRUST, [WRITE], boundary), account_id=ACCOUNT, log_groups=[("us-east-1", "flow-logs")]
    )
    assert not bounded.ok and "boundary" in bounded.problems[0]
    foreign = assess_cwl_role(
        RoleFacts("arn:aws:iam::999999999999:role/r", TRUST, [WRITE]),
        account_id=ACCOUNT,
        log_groups=[("us-east-1", "flow-logs")],
    )
    assert not foreign.ok and "own account" in foreign.problems[-1]


def test_documents_and_not_action() -> None:
    assert parse_document("%7B%22Statement%22%3A%5B%5D%7D") == {"Statement": []}
    not_action = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert decide([not_action], "logs:PutLogEvents", "arn:aws:logs:us-east-1:1:log-group:x:log-stream:y").allowed
    assert not decide([not_action], "iam:PassRole", "*").allowed
    conditional = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "logs:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            }
        ]
    }
    d = decide([conditional], "logs:PutLogEvents", "x")
    assert d.allowed and d.conditional

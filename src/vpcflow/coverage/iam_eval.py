"""Does a delivery role work? Its trust policy and permission policies, read the way IAM reads them.

vpcflow evaluates the role's own documents (inline, attached managed, permissions boundary) rather than
calling ``iam:SimulatePrincipalPolicy``, so the audit needs only read access and gives the same answer in
every account. Service control policies and session policies are out of its sight and named as such.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

VPC_FLOW_LOGS_PRINCIPAL = "vpc-flow-logs.amazonaws.com"
LOG_DELIVERY_PRINCIPAL = "delivery.logs.amazonaws.com"

# What CloudWatch Logs delivery needs (AWS VPC User Guide, "IAM role for publishing flow logs to
# CloudWatch Logs"). Without the first two nothing is written; the others are listed by AWS and their
# absence is reported as a note. CreateLogGroup lets AWS re-create a deleted log group.
CWL_REQUIRED_ACTIONS: tuple[str, ...] = ("logs:CreateLogStream", "logs:PutLogEvents")
CWL_RECOMMENDED_ACTIONS: tuple[str, ...] = ("logs:DescribeLogStreams", "logs:DescribeLogGroups", "logs:CreateLogGroup")


def parse_document(doc: Any) -> dict[str, Any]:
    """A policy document as a dict, whether IAM returned it parsed, as JSON text or URL-encoded."""
    if isinstance(doc, dict):
        return doc
    if isinstance(doc, str):
        text = doc
        if text.lstrip().startswith("%7B") or "%22" in text:
            text = unquote(text)
        try:
            value = json.loads(text)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}
    return {}


def statements(doc: Any) -> list[dict[str, Any]]:
    stmts = parse_document(doc).get("Statement", [])
    if isinstance(stmts, dict):
        stmts = [stmts]
    return [s for s in stmts if isinstance(s, dict)]


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


@lru_cache(maxsize=4096)
def _glob(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("^" + "".join(parts) + "$", re.IGNORECASE if case_insensitive else 0)


def matches(pattern: str, value: str, *, case_insensitive: bool = False) -> bool:
    return bool(_glob(pattern, case_insensitive).match(value))


def _statement_applies(stmt: dict[str, Any], action: str, resource: str) -> bool:
    if "Action" in stmt:
        action_ok = any(matches(p, action, case_insensitive=True) for p in _as_list(stmt["Action"]))
    elif "NotAction" in stmt:
        action_ok = not any(matches(p, action, case_insensitive=True) for p in _as_list(stmt["NotAction"]))
    else:
        action_ok = False
    if not action_ok:
        return False
    if "Resource" in stmt:
        return any(matches(p, resource) for p in _as_list(stmt["Resource"]))
    if "NotResource" in stmt:
        return not any(matches(p, resource) for p in _as_list(stmt["NotResource"]))
    return False


@dataclass
class Decision:
    allowed: bool
    conditional: bool = False  # allowed only by statements with conditions vpcflow does not evaluate


def decide(documents: Iterable[Any], action: str, resource: str) -> Decision:
    """Explicit deny wins, then any allow; an allow whose statement has a Condition is marked conditional."""
    allow = False
    unconditional = False
    for doc in documents:
        for stmt in statements(doc):
            if not _statement_applies(stmt, action, resource):
                continue
            effect = str(stmt.get("Effect", "")).lower()
            if effect == "deny" and not stmt.get("Condition"):
                return Decision(False)
            if effect == "allow":
                allow = True
                unconditional = unconditional or not stmt.get("Condition")
    return Decision(allow, conditional=allow and not unconditional)


@dataclass
class RoleFacts:
    """What IAM returned for one role."""

    arn: str
    trust_policy: Any
    identity_policies: list[Any] = field(default_factory=list)
    boundary_policy: Any = None


@dataclass
class RoleAssessment:
    ok: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _principal_services(stmt: dict[str, Any]) -> list[str]:
    principal = stmt.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        return _as_list(principal.get("Service"))
    return []


def _condition_values(cond: dict[str, Any], key: str) -> list[tuple[str, list[str]]]:
    out = []
    for operator, block in cond.items():
        if not isinstance(block, dict):
            continue
        for k, v in block.items():
            if k.lower() == key.lower():
                out.append((operator, _as_list(v)))
    return out


def assess_trust(
    trust_policy: Any, *, principal: str, account_id: str, source_arn_example: str | None
) -> tuple[list[str], list[str]]:
    """Problems and notes about who may assume the role. ``principal`` is the service that must."""
    problems: list[str] = []
    notes: list[str] = []
    candidates = []
    for stmt in statements(trust_policy):
        if str(stmt.get("Effect", "")).lower() != "allow":
            continue
        actions = _as_list(stmt.get("Action"))
        if not any(matches(a, "sts:AssumeRole", case_insensitive=True) for a in actions):
            continue
        services = _principal_services(stmt)
        if any(matches(s, principal, case_insensitive=True) for s in services):
            candidates.append(stmt)
    if not candidates:
        named = sorted({s for st in statements(trust_policy) for s in _principal_services(st)})
        trusted = ", ".join(named) if named else "no AWS service"
        return [f"trust policy does not let {principal} assume the role (it trusts {trusted})"], notes
    usable = []
    for stmt in candidates:
        cond = stmt.get("Condition") or {}
        blocked = None
        for _op, values in _condition_values(cond, "aws:SourceAccount"):
            if not any(matches(v, account_id) for v in values):
                blocked = f"trust condition aws:SourceAccount allows {', '.join(values)}, not {account_id}"
        if source_arn_example:
            for _op, values in _condition_values(cond, "aws:SourceArn"):
                if not any(matches(v, source_arn_example) for v in values):
                    blocked = f"trust condition aws:SourceArn ({', '.join(values)}) does not match {source_arn_example}"
        if blocked:
            problems.append(blocked)
        else:
            usable.append(stmt)
    if not usable:
        return problems, notes
    if not any(
        _condition_values(s.get("Condition") or {}, "aws:SourceAccount")
        or _condition_values(s.get("Condition") or {}, "aws:SourceArn")
        for s in usable
    ):
        notes.append("trust policy has no aws:SourceAccount/aws:SourceArn condition (confused-deputy protection)")
    return [], notes


def assess_cwl_role(
    facts: RoleFacts, *, account_id: str, log_groups: list[tuple[str, str]], flow_log_arn: str | None = None
) -> RoleAssessment:
    """Can ``vpc-flow-logs.amazonaws.com`` assume this role and write to each ``(region, log group)``?"""
    problems, notes = assess_trust(
        facts.trust_policy, principal=VPC_FLOW_LOGS_PRINCIPAL, account_id=account_id, source_arn_example=flow_log_arn
    )
    role_account = facts.arn.split(":")[4] if facts.arn.count(":") >= 5 else None
    if role_account and role_account != account_id:
        problems.append(f"role is in account {role_account}; a flow log's role must be in its own account {account_id}")
    partition = facts.arn.split(":")[1] if facts.arn.startswith("arn:") else "aws"
    docs = facts.identity_policies
    for region, group in log_groups:
        group_arn = f"arn:{partition}:logs:{region}:{account_id}:log-group:{group}"
        for action in CWL_REQUIRED_ACTIONS + CWL_RECOMMENDED_ACTIONS:
            if action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                resource = f"{group_arn}:log-stream:eni-0123456789abcdef0-all"
            elif action == "logs:DescribeLogGroups":
                resource = f"arn:{partition}:logs:{region}:{account_id}:log-group:*"
            else:
                resource = f"{group_arn}:*"
            d = decide(docs, action, resource)
            if d.allowed and facts.boundary_policy is not None:
                b = decide([facts.boundary_policy], action, resource)
                if not b.allowed:
                    d = Decision(False)
                    if action in CWL_REQUIRED_ACTIONS:
                        problems.append(f"permissions boundary does not allow {action} on {group}")
                        continue
            if not d.allowed:
                if action in CWL_REQUIRED_ACTIONS:
                    problems.append(f"role policies do not allow {action} on log group {group}")
                else:
                    notes.append(f"role policies do not allow {action} on log group {group}")
            elif d.conditional:
                notes.append(f"{action} on {group} is allowed only under a condition vpcflow does not evaluate")
    return RoleAssessment(ok=not problems, problems=_dedupe(problems), notes=_dedupe(notes))


def assess_firehose_role(facts: RoleFacts, *, account_id: str) -> RoleAssessment:
    """A cross-account Firehose source role is assumed by ``delivery.logs.amazonaws.com``."""
    problems, notes = assess_trust(
        facts.trust_policy, principal=LOG_DELIVERY_PRINCIPAL, account_id=account_id, source_arn_example=None
    )
    return RoleAssessment(ok=not problems, problems=problems, notes=notes)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))

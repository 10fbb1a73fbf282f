"""Rules and findings: what a detection is (SQL plus metadata) and what it reports."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
"""In increasing order; ``--fail-on`` and escalation compare by position."""

VIEWS: tuple[str, ...] = ("flows", "rejects", "health")
"""The relations a rule may read: every record, the REJECT records, the NODATA/SKIPDATA records."""


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    description: str = ""


@dataclass(frozen=True)
class Technique:
    """A MITRE ATT&CK technique the rule detects."""

    id: str
    name: str
    tactic: str


@dataclass(frozen=True)
class RuleTest:
    """Labelled records a rule must fire on (``expect: fire``) or stay silent on (``expect: none``)."""

    name: str
    expect: str
    records: tuple[dict[str, Any], ...]
    severity: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    threat_list: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One detection: a DuckDB SQL template over ``flows``/``rejects``/``health`` and what it means."""

    id: str
    title: str
    description: str
    severity: str
    sql: str
    path: Path
    summary: str = ""
    escalation: str = ""
    category: str = "detection"
    techniques: tuple[Technique, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    false_positives: tuple[str, ...] = ()
    remediation: str = ""
    references: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    evidence_from: str = "flows"
    evidence_match: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    about_rejects: bool = True
    tests: tuple[RuleTest, ...] = ()

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}


@dataclass
class Finding:
    """One finding, the shape of ``vpcflow detect`` output (DESIGN.md, Finding)."""

    rule_id: str
    title: str
    severity: str
    first_seen: datetime | None
    last_seen: datetime | None
    entities: dict[str, Any]
    counts: dict[str, Any]
    summary: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    explanation: list[dict[str, Any]] | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            self.id = finding_id(self.rule_id, self.entities, self.details.get("bin_start"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "rule_id": self.rule_id,
            "title": self.title,
            "summary": self.summary,
            "severity": self.severity,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "entities": self.entities,
            "counts": self.counts,
            "details": self.details,
            "evidence": self.evidence,
        }
        if self.explanation is not None:
            out["explanation"] = self.explanation
        return out


def finding_id(rule_id: str, entities: dict[str, Any], bin_start: Any = None) -> str:
    """A stable id: the same rule, entities and time bin give the same id on every run and engine.

    Security Hub updates a finding in place when its Id repeats, so re-running detect over a longer
    period updates findings rather than duplicating them.
    """
    key = json.dumps([rule_id, sorted((k, str(v)) for k, v in entities.items()), str(bin_start or "")])
    return hashlib.sha256(key.encode()).hexdigest()[:32]

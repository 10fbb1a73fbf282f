"""What the HTML report shows, as typed values: gathered from DuckDB and the other commands, then rendered.

Every collection here is bounded (top-N lists, time buckets, a cap of findings per rule), so the report's
size depends on those bounds and not on how many records the store holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from vpcflow.detect.model import Technique  # the rule's own: the report shows it as it is

INTENT_ORDER = ("likely-misconfiguration", "unexplained", "benign", "intended-block")
"""What needs a person first: broken traffic of your own, then what the snapshot cannot explain."""


@dataclass(frozen=True)
class Count:
    """A label and how many records carry it (a source address, a port, an interface, a verdict)."""

    label: str
    records: int


@dataclass(frozen=True)
class Traffic:
    """The summary line of the store over the report's period."""

    first_record: datetime | None
    last_record: datetime | None
    records: int
    accepted: int
    rejected: int
    accounts: tuple[str, ...]
    vpcs: int
    vpcs_from: str  # "records", or "snapshot" when the records lack vpc-id and a snapshot maps the ENIs
    interfaces: int
    transit_gateway_records: int


@dataclass(frozen=True)
class QuarantinedLine:
    source: str
    line: int | None
    reason: str
    text: str


@dataclass(frozen=True)
class SilentSubject:
    """An interface or account that stopped logging before the end of the data (the log-silent rule)."""

    scope: str
    subject: str
    last_seen: datetime | None
    silent_hours: int


@dataclass(frozen=True)
class Health:
    nodata_rows: int
    skipdata_rows: int
    skipdata_interfaces: tuple[Count, ...]
    quarantined_lines: int
    quarantine_samples: tuple[QuarantinedLine, ...]
    silent: tuple[SilentSubject, ...] | None  # None: detections were not run, so silence was not judged


@dataclass(frozen=True)
class CoverageItem:
    """A resource the audit graded non-compliant, and the command that fixes it."""

    account_id: str
    region: str
    resource_type: str
    resource_id: str
    name: str | None
    verdict: str
    message: str
    enable_command: str


@dataclass(frozen=True)
class Coverage:
    source: str  # the audit file's name
    resources: int
    by_verdict: tuple[Count, ...]
    non_compliant: tuple[CoverageItem, ...]
    errors: tuple[str, ...]
    enable_all: str  # one command for every non-compliant resource


@dataclass(frozen=True)
class Series:
    name: str
    counts: tuple[int, ...]  # one per bucket of the timeline


@dataclass(frozen=True)
class Timeline:
    """Rejected records per time bucket, one series per intent (with a snapshot) or per direction."""

    bucket_seconds: int
    starts: tuple[datetime, ...]
    series: tuple[Series, ...]
    by: str  # "intent" or "direction"


@dataclass(frozen=True)
class HeatCell:
    source: str
    port: str
    records: int


@dataclass(frozen=True)
class Charts:
    timeline: Timeline
    top_sources: tuple[Count, ...]
    top_ports: tuple[Count, ...]
    heat_sources: tuple[str, ...]
    heat_ports: tuple[str, ...]
    heat_cells: tuple[HeatCell, ...]
    by_interface: tuple[Count, ...]


@dataclass(frozen=True)
class CauseLink:
    """A cause a finding's rejected evidence belongs to, and where the report shows it."""

    anchor: str
    intent: str
    code: str


@dataclass(frozen=True)
class FindingView:
    severity: str
    rule_id: str
    title: str
    summary: str
    techniques: tuple[Technique, ...]
    first_seen: datetime | None
    last_seen: datetime | None
    entities: tuple[tuple[str, str], ...]
    evidence: tuple[tuple[str, ...], ...]  # rows in the order of Findings.evidence_columns
    cause_ids: tuple[str, ...] = ()  # with a snapshot: the causes of its rejected evidence (explain's ids)
    causes: tuple[CauseLink, ...] = ()  # those of them the report's causes section shows


@dataclass(frozen=True)
class RuleOutcome:
    """A rule that did not simply run: skipped, failed, or with findings left out past the cap."""

    rule_id: str
    status: str
    message: str


@dataclass(frozen=True)
class Findings:
    findings: tuple[FindingView, ...]
    evidence_columns: tuple[str, ...]
    by_severity: tuple[Count, ...]
    rules_run: int
    outcomes: tuple[RuleOutcome, ...]


@dataclass(frozen=True)
class Resource:
    """An account resource a cause names, with the names and descriptions the account gave it."""

    resource_id: str
    name: str | None
    description: str | None


@dataclass(frozen=True)
class Blocker:
    layer: str
    direction: str
    resource: Resource
    rule: str | None
    groups: tuple[Resource, ...]  # every group on the interface, when more than the blocking resource
    interface: Resource | None  # the interface it guards, when the cause is about one


@dataclass(frozen=True)
class Fix:
    summary: str
    aws_cli: str | None
    terraform: str | None
    warning: str | None


@dataclass(frozen=True)
class CauseView:
    cause_id: str
    intent: str
    verdict: str
    packet: str
    code: str
    message: str
    records: int
    tuples: int
    sources: int
    destinations: int
    top_sources: tuple[Count, ...]
    top_destinations: tuple[Count, ...]
    top_ports: tuple[Count, ...]
    first_seen: str | None
    last_seen: str | None
    blockers: tuple[Blocker, ...]
    examples: tuple[str, ...]
    fixes: tuple[Fix, ...]


@dataclass(frozen=True)
class Causes:
    records: int
    by_intent: tuple[Count, ...]
    causes: tuple[CauseView, ...]  # misconfigurations first, then largest first
    omitted: int = 0  # causes past the report's cap (counted, not shown)
    omitted_records: int = 0


@dataclass(frozen=True)
class Report:
    store: str
    generated_at: datetime
    since: datetime | None
    until: datetime | None
    snapshot: str | None
    traffic: Traffic
    health: Health
    charts: Charts
    coverage: Coverage | None
    findings: Findings | None
    causes: Causes | None
    notes: tuple[str, ...]

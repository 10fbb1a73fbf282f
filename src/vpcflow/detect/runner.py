"""Running rules on an engine: render, run, shape findings, attach evidence, apply suppressions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from vpcflow.detect.config import DetectConfig, Suppression, today
from vpcflow.detect.loader import search_path
from vpcflow.detect.model import Finding, Rule, severity_rank
from vpcflow.detect.render import render
from vpcflow.engines.base import Engine
from vpcflow.errors import InputError

EVIDENCE_COLUMNS: tuple[str, ...] = (
    "account_id",
    "interface_id",
    "flow_direction",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "tcp_flags",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log_status",
    "reject_reason",
    "source_object",
    "source_line",
)
"""The record fields a finding's evidence shows, with provenance so a record can be found again."""

RESERVED = ("first_seen", "last_seen", "severity")
KEYS_TABLE = "vpcflow_finding_keys"
EVIDENCE_BATCH = 500

Explainer = Callable[[Finding], "list[dict[str, Any]] | None"]


@dataclass
class RuleRun:
    """How one rule went: the run summary the CLI prints on stderr and JSON keeps."""

    rule_id: str
    status: str  # ok | skipped | error
    findings: int = 0
    suppressed: int = 0
    seconds: float = 0.0
    message: str = ""


@dataclass
class DetectResult:
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    runs: list[RuleRun] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def rule_params(rule: Rule, config: DetectConfig, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rule's defaults overlaid with the configuration's values; an unknown name is an error."""
    params = rule.defaults()
    for source in (config.params.get(rule.id, {}), extra or {}):
        for name, value in source.items():
            if name not in params:
                known = ", ".join(sorted(params)) or "none"
                raise InputError(f"Rule {rule.id} has no parameter {name!r} (its parameters: {known}).")
            params[name] = value
    return params


def check_config(rules: Iterable[Rule], config: DetectConfig) -> None:
    """Fail before running anything when the configuration names a rule or parameter that does not exist."""
    by_id = {r.id: r for r in rules}
    for rule_id in sorted(set(config.params) | config.disabled | set(config.severity)):
        if rule_id not in by_id:
            raise InputError(f"The configuration names rule {rule_id!r}, which is not loaded; --list-rules lists them.")
    for rule_id in config.params:
        rule_params(by_id[rule_id], config)


def used_columns(rules: Iterable[Rule], config: DetectConfig) -> set[str]:
    """Every column the rules (and the evidence) read, for engines that load records once."""
    from sqlglot import exp

    from vpcflow.engines.base import parse

    columns = set(EVIDENCE_COLUMNS) | {"date", "hour"}
    for rule in rules:
        try:
            tree = parse(rendered_sql(rule, config))
        except InputError:
            continue  # reported when the rule runs
        columns |= {c.name for c in tree.find_all(exp.Column)}
        columns |= set(rule.evidence_match)
    return columns


def rendered_sql(rule: Rule, config: DetectConfig, extra: dict[str, Any] | None = None) -> str:
    return render(
        rule.sql, rule_params(rule, config, extra), internal_cidrs=config.internal_cidrs, search_path=search_path(rule)
    )


def _plain(value: Any) -> Any:
    """Engine values as plain JSON-able Python: Decimals to int/float, floats rounded for engine parity."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else round(float(value), 2)
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, str) and value.endswith(" UTC"):  # Athena's timestamp with time zone
        value = value[: -len(" UTC")]
    return value


def _timestamp(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    text = str(value).replace("T", " ").removesuffix(" UTC").removesuffix("Z")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _format(template: str, row: dict[str, Any]) -> str:
    shown = _Blank({k: (v.isoformat(sep=" ") if isinstance(v, datetime) else v) for k, v in row.items()})
    try:
        return template.format_map(shown)
    except (ValueError, IndexError):
        return template


def finding_from_row(rule: Rule, row: dict[str, Any], config: DetectConfig) -> Finding:
    row = {k: _plain(v) for k, v in row.items()}
    severity = str(row.get("severity") or rule.severity).lower()
    floor = config.severity.get(rule.id)
    if floor is not None:
        severity = floor
    entities = {k: row.get(k) for k in rule.entities}
    counts = {k: row.get(k) for k in rule.counts}
    details = {k: v for k, v in row.items() if k not in entities and k not in counts and k not in RESERVED}
    for k, v in details.items():
        if isinstance(v, datetime):
            details[k] = v
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        severity=severity,
        first_seen=_timestamp(row.get("first_seen")),
        last_seen=_timestamp(row.get("last_seen")),
        entities=entities,
        counts=counts,
        summary=_format(rule.summary, row) if rule.summary else rule.title,
        details={k: (str(_timestamp(v)) if k == "bin_start" and v is not None else v) for k, v in details.items()},
    )


def attach_evidence(engine: Engine, rule: Rule, findings: Sequence[Finding], limit: int) -> None:
    """Add up to ``limit`` records to each finding: the records of its entities within its time span."""
    match = [m for m in rule.evidence_match]
    if limit <= 0 or not findings or not match:
        return
    cols = ", ".join(f'e."{c}"' if c == "end" else f"e.{c}" for c in EVIDENCE_COLUMNS)
    on = " AND ".join([f"e.{m} = k.{m}" for m in match] + ["e.start >= k.fs", "e.start <= k.ls"])
    sql = (
        f"SELECT * FROM (SELECT k.fid, {cols}, row_number() OVER (PARTITION BY k.fid "
        f"ORDER BY e.start, e.source_object, e.source_line) AS rn FROM {rule.evidence_from} AS e "
        f"JOIN {KEYS_TABLE} AS k ON {on}) AS x WHERE rn <= {int(limit)}"
    )
    for start in range(0, len(findings), EVIDENCE_BATCH):
        batch = list(findings[start : start + EVIDENCE_BATCH])
        keys = []
        for i, f in enumerate(batch):
            if f.first_seen is None or f.last_seen is None:
                continue
            key: dict[str, Any] = {"fid": i, "fs": f.first_seen, "ls": f.last_seen}
            key.update({m: f.entities.get(m, f.details.get(m)) for m in match})
            keys.append(key)
        if not keys:
            continue
        engine.register(KEYS_TABLE, pa.Table.from_pylist(keys))
        rows = engine.query(sql)
        by_fid: dict[int, list[dict[str, Any]]] = {}
        for r in sorted(rows, key=lambda r: (r["fid"], r["rn"])):
            record = {c: _plain(r.get(c)) for c in EVIDENCE_COLUMNS}
            by_fid.setdefault(int(r["fid"]), []).append(record)
        for i, f in enumerate(batch):
            f.evidence = by_fid.get(i, [])


def run_rules(
    engine: Engine,
    rules: Iterable[Rule],
    config: DetectConfig,
    *,
    threat_list: pa.Table | None = None,
    evidence: int = 3,
    explainer: Explainer | None = None,
    on_rule: Callable[[Rule], None] | None = None,
    now: date | None = None,
) -> DetectResult:
    """Run every enabled rule; one failing rule is reported and the others still run."""
    result = DetectResult()
    day = now or today()
    active: list[Suppression] = []
    for s in config.suppressions:
        if s.active(day):
            active.append(s)
        else:
            result.warnings.append(f"suppression '{s.reason}' expired on {s.expires} and was ignored")
    if threat_list is not None:
        engine.register("threat_list", threat_list)
    rules = list(rules)
    prepare = getattr(engine, "prepare", None)
    if prepare is not None:
        prepare(used_columns(rules, config))
    for rule in rules:
        if on_rule:
            on_rule(rule)
        if rule.id in config.disabled:
            result.runs.append(RuleRun(rule.id, "skipped", message="disabled in the configuration"))
            continue
        if "threat_list" in rule.requires and threat_list is None:
            result.runs.append(RuleRun(rule.id, "skipped", message="needs --threat-list"))
            continue
        started = time.perf_counter()
        try:
            rows = engine.query(rendered_sql(rule, config))
            findings = [finding_from_row(rule, row, config) for row in rows]
            kept: list[Finding] = []
            suppressed = 0
            for f in findings:
                by = next((s for s in active if s.matches(f)), None)
                if by is None:
                    kept.append(f)
                else:
                    result.suppressed.append((f, by))
                    suppressed += 1
            attach_evidence(engine, rule, kept, evidence)
            if explainer is not None and rule.about_rejects:
                for f in kept:
                    if any(e.get("action") == "REJECT" for e in f.evidence):
                        f.explanation = explainer(f)
        except InputError as err:
            result.runs.append(RuleRun(rule.id, "error", seconds=time.perf_counter() - started, message=err.sentence))
            continue
        result.findings.extend(kept)
        result.runs.append(
            RuleRun(rule.id, "ok", findings=len(kept), suppressed=suppressed, seconds=time.perf_counter() - started)
        )
    result.findings.sort(key=lambda f: (-severity_rank(f.severity), f.rule_id, f.first_seen or datetime.min, f.id))
    return result

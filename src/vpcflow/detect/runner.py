"""Running rules on an engine: render, run, shape findings, attach evidence, apply suppressions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pyarrow as pa
from sqlglot import exp

from vpcflow.detect.config import DetectConfig, Suppression, param_type_error, today
from vpcflow.detect.loader import catalog_dir, search_path
from vpcflow.detect.model import SEVERITIES, Finding, Rule, severity_rank
from vpcflow.detect.render import render
from vpcflow.detect.shaping import finding_maker, plain_rows
from vpcflow.engines.base import Engine, RunStopped, parse
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

KEYS_TABLE = "vpcflow_finding_keys"
EVIDENCE_BATCH = 500
DEFAULT_MAX_FINDINGS = 10_000
"""Findings kept per rule: past this a rule needs tuning, and the output would be unreadable anyway."""
TOTAL_COLUMN = "vpcflow_total"
SEVERITY_ORDER = (
    "CASE lower(CAST(severity AS VARCHAR)) "
    + " ".join(f"WHEN '{name}' THEN {rank}" for rank, name in enumerate(reversed(SEVERITIES)))
    + f" ELSE {len(SEVERITIES)} END"
)

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
    total: int = 0  # rows the rule returned, before suppressions and the cap
    truncated: int = 0  # findings past --max-findings: counted, not returned
    bytes_scanned: int | None = None  # engines that bill by scan (Athena): the rule's queries, evidence included


@dataclass
class DetectResult:
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    runs: list[RuleRun] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stopped: str = ""  # why the run ended before its last rule (the engine's scan budget), else empty


def rule_params(rule: Rule, config: DetectConfig, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The rule's defaults overlaid with the configuration's values; an unknown name is an error."""
    params = rule.defaults()
    for source in (config.params.get(rule.id, {}), extra or {}):
        for name, value in source.items():
            if name not in params:
                known = ", ".join(sorted(params)) or "none"
                raise InputError(f"Rule {rule.id} has no parameter {name!r} (its parameters: {known}).")
            if why := param_type_error(params[name], value):
                raise InputError(f"Rule {rule.id} parameter {name} must be {why}.")
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
    for i, sup in enumerate(config.suppressions, start=1):
        if not any(sup.applies_to(rule_id) for rule_id in by_id):
            raise InputError(
                f"Suppression {i} ({sup.reason}) names rule {sup.rule!r}, which matches no loaded rule; "
                "--list-rules lists them."
            )


def used_columns(rules: Iterable[Rule], config: DetectConfig) -> set[str]:
    """Every column the rules (and the evidence) read, for engines that load records once."""
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


def attach_evidence(engine: Engine, rule: Rule, findings: Sequence[Finding], limit: int) -> None:
    """Add up to ``limit`` records to each finding: the records of its entities within its time span.

    One query per batch of findings (engines that take a large key table get them all at once): each
    query is a join over the records, so its count, not the findings', sets the cost. Batches are cut
    in time order, so an engine that reads by time (Athena's date partitions) reads each day about once.
    """
    match = [m for m in rule.evidence_match]
    if limit <= 0 or not findings or not match:
        return
    cols = ", ".join(f'e."{c}"' if c == "end" else f"e.{c}" for c in EVIDENCE_COLUMNS)
    on = " AND ".join([f"e.{m} = k.{m}" for m in match] + ["e.start >= k.fs", "e.start <= k.ls"])
    # first records first; every shown column breaks ties, so the choice never rests on an engine's row order
    first = ("start", "source_object", "source_line")
    order = ", ".join(
        f'e."{c}" NULLS LAST' if c == "end" else f"e.{c} NULLS LAST"
        for c in (*first, *(c for c in EVIDENCE_COLUMNS if c not in first))
    )
    sql = (
        f"SELECT * FROM (SELECT k.fid, {cols}, row_number() OVER (PARTITION BY k.fid "
        f"ORDER BY {order}) AS rn FROM {rule.evidence_from} AS e "
        f"JOIN {KEYS_TABLE} AS k ON {on}) AS x WHERE rn <= {int(limit)} ORDER BY fid, rn"
    )
    size = int(getattr(engine, "evidence_batch", EVIDENCE_BATCH))
    timed = sorted(
        (f for f in findings if f.first_seen is not None and f.last_seen is not None),
        key=lambda f: (f.first_seen, f.last_seen),
    )
    for start in range(0, len(timed), size):
        batch = timed[start : start + size]
        keys: dict[str, list[Any]] = {"fid": list(range(len(batch)))}
        keys["fs"] = [f.first_seen for f in batch]
        keys["ls"] = [f.last_seen for f in batch]
        for m in match:
            keys[m] = [f.entities.get(m, f.details.get(m)) for f in batch]
        engine.register(KEYS_TABLE, pa.table(keys))
        for row in plain_rows(engine.query(sql)):
            finding = batch[int(row.pop("fid"))]
            del row["rn"]
            finding.evidence.append(row)


def ranked_sql(rule: Rule, sql: str, limit: int) -> str:
    """The rule's query with its row count, most important rows first, cut to ``limit`` rows (0: not cut).

    Most important: highest severity, then the rule's first count (attempts, ports, records), then the
    earliest; entities break ties so every engine keeps the same rows.
    """
    tree = parse(sql)
    if not isinstance(tree, exp.Query):
        raise InputError(f"Rule {rule.id} must be a SELECT query.")
    names = set(tree.named_selects)
    order = [SEVERITY_ORDER] if "severity" in names else []
    order += [f'"{c}" DESC NULLS LAST' for c in rule.counts[:1] if c in names]
    order += [f'"{c}" NULLS LAST' for c in ("first_seen",) if c in names]
    order += [f'"{c}" NULLS FIRST' for c in rule.entities if c in names]
    return (
        f"SELECT *, count(*) OVER () AS {TOTAL_COLUMN} FROM ({sql}) AS vpcflow_rule"
        + (f" ORDER BY {', '.join(order)}" if order else "")
        + (f" LIMIT {int(limit)}" if limit > 0 else "")
    )


def run_rules(
    engine: Engine,
    rules: Iterable[Rule],
    config: DetectConfig,
    *,
    threat_list: pa.Table | None = None,
    evidence: int = 3,
    max_findings: int = DEFAULT_MAX_FINDINGS,
    explainer: Explainer | None = None,
    on_rule: Callable[[Rule], None] | None = None,
    now: date | None = None,
) -> DetectResult:
    """Run every enabled rule; one failing rule is reported and the others still run.

    A rule keeps at most ``max_findings`` findings (0: all), the most severe and largest first; the rest
    are counted in its run and named in a warning, never dropped silently.
    """
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
    lock_down = getattr(engine, "lock_down", None)
    if lock_down is not None and any(r.path.parent != catalog_dir() for r in rules):
        lock_down()  # rules from --rules run read-only: no files, no extension installs (issue 13)
    for index, rule in enumerate(rules):
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
            kept, run = _run_rule(
                engine, rule, config, [s for s in active if s.applies_to(rule.id)], max_findings, result
            )
            attach_evidence(engine, rule, kept, evidence)
            if explainer is not None and rule.about_rejects:
                for f in kept:
                    if any(e.get("action") == "REJECT" for e in f.evidence):
                        f.explanation = explainer(f)
        except InputError as err:
            result.runs.append(RuleRun(rule.id, "error", seconds=time.perf_counter() - started, message=err.sentence))
            continue
        except RunStopped as stop:
            result.stopped = stop.sentence
            result.runs += [RuleRun(r.id, "skipped", message=stop.sentence) for r in rules[index:]]
            break
        run.seconds = time.perf_counter() - started
        result.findings.extend(kept)
        result.runs.append(run)
        if run.truncated:
            result.warnings.append(
                f"rule {rule.id} produced {run.total:,} findings; the {run.findings:,} most severe and largest "
                f"are kept and {run.truncated:,} left out (raise --max-findings, tune the rule or suppress)"
            )
    result.findings.sort(key=lambda f: (-severity_rank(f.severity), f.rule_id, f.first_seen or datetime.min, f.id))
    return result


def _run_rule(
    engine: Engine,
    rule: Rule,
    config: DetectConfig,
    suppressions: list[Suppression],
    max_findings: int,
    result: DetectResult,
) -> tuple[list[Finding], RuleRun]:
    """One rule's rows to findings: suppressed ones to ``result``, the rest kept up to the cap.

    With no suppression for the rule the engine cuts the rows itself; otherwise every row is fetched,
    so that suppressed findings do not use up the cap.
    """
    sql = rendered_sql(rule, config)
    if max_findings > 0:
        sql = ranked_sql(rule, sql, 0 if suppressions else max_findings)
    rows = plain_rows(engine.query(sql))
    run = RuleRun(rule.id, "ok", total=len(rows))
    if max_findings > 0 and rows:
        run.total = int(rows[0][TOTAL_COLUMN])
        for row in rows:
            del row[TOTAL_COLUMN]
    make = finding_maker(rule, config)
    kept: list[Finding] = []
    for row in rows:
        if suppressions:
            entities = {k: row.get(k) for k in rule.entities}
            by = next((s for s in suppressions if s.matches_entities(rule.id, entities)), None)
            if by is not None:
                result.suppressed.append((make(row), by))
                run.suppressed += 1
                continue
        if max_findings > 0 and len(kept) >= max_findings:
            continue
        kept.append(make(row))
    run.findings = len(kept)
    run.truncated = run.total - run.suppressed - run.findings
    return kept, run

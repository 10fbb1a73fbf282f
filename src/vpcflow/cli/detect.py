"""``vpcflow detect``: run the detection catalog (and the user's rules) over flow logs.

A thin wrapper: options become a DetectConfig, an engine and a rule list; the library runs them; this
module prints the findings in the chosen format and sets the exit code: 1 when a finding reaches
``--fail-on`` (``low`` by default, so a pipeline gates on findings as on every vpcflow command; ``none``
reports without failing), 2 on bad input.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vpcflow.cli.output import (
    detail,
    dumps,
    emit_rows,
    format_option,
    note,
    progress,
    resolve_format,
    verbosity_options,
    warn,
)
from vpcflow.detect.config import load_config
from vpcflow.detect.loader import load_rules
from vpcflow.detect.model import SEVERITIES, Rule, severity_rank
from vpcflow.detect.runner import DEFAULT_MAX_FINDINGS, DetectResult, Explainer, check_config, rendered_sql, run_rules
from vpcflow.detect.testing import run_all_tests
from vpcflow.detect.threats import load_threat_list
from vpcflow.engines.athena_scan import GB, ScanMeter
from vpcflow.engines.base import Engine

if TYPE_CHECKING:
    from vpcflow.engines.athena import AthenaEngine
from vpcflow.errors import InputError, PartialFailure
from vpcflow.timeparse import parse_utc

FORMATS = ("table", "json", "jsonl", "ocsf", "asff")
DEFAULT_FAIL_ON = "low"
"""Exit 1 on findings of this severity or more unless told otherwise: info findings are notes, not problems."""


def _when(value: str | None, option: str) -> datetime | None:
    """Naive UTC, as the store's timestamps are."""
    return parse_utc(value, option).replace(tzinfo=None) if value else None


def _select(rules: list[Rule], only: tuple[str, ...]) -> list[Rule]:
    if not only:
        return rules
    import fnmatch

    chosen = [r for r in rules if any(fnmatch.fnmatchcase(r.id, pat) for pat in only)]
    if not chosen:
        raise InputError(f"No rule matches --only {', '.join(only)}; 'vpcflow detect --list-rules' lists them.")
    return chosen


def _engine(opts: dict[str, Any], since: datetime | None, until: datetime | None) -> Engine:
    name = opts["engine"]
    if name == "duckdb":
        from vpcflow.engines.duckdb import DuckDBEngine

        if opts["files"]:
            from vpcflow.detect.testing import connect_table
            from vpcflow.ingest import load_records

            table = load_records(
                list(opts["files"]),
                log_format=opts["log_format"],
                on_problem=lambda s: warn(f"vpcflow: {s}"),
            )
            return DuckDBEngine(connect_table(_with_partitions(table)), since=since, until=until)
        if not opts["store_dir"]:
            raise InputError("Give --store DIR (or flow-log FILEs) to run detections with DuckDB.")
        return DuckDBEngine.for_store(opts["store_dir"], since=since, until=until)
    if name == "spark":
        from vpcflow.engines.spark import SparkEngine, SparkOptions
        from vpcflow.engines.spark_session import SparkSettings, parse_conf

        settings = SparkSettings(master=opts["spark_master"], conf=parse_conf(opts["spark_conf"]))
        return SparkEngine.create(
            SparkOptions(
                store_dir=opts["store_dir"],
                path=opts["path"],
                settings=settings,
                log_format=opts["log_format"],
                parquet_default=opts["input_format"] == "parquet",
                since=since,
                until=until,
            )
        )
    return _athena_engine(opts, since, until)


def _athena_engine(
    opts: dict[str, Any], since: datetime | None, until: datetime | None, *, checked: bool = True
) -> AthenaEngine:
    """Athena bills every byte a query scans: a run without a start date must be asked for (--all-time).
    Unchecked, the engine only renders SQL (--show-sql)."""
    from vpcflow.engines.athena import AthenaEngine
    from vpcflow.engines.athena_ddl import PartitionScheme

    if checked and not (opts["workgroup"] or opts["output"]):
        raise InputError("--engine athena needs --workgroup or --output s3://bucket/prefix/ for query results.")
    if checked and since is None and not opts["all_time"]:
        raise InputError(
            "--engine athena needs --since (each rule scans every day from then on), or --all-time to scan the whole table."
        )
    budget = opts["max_scan_gb"]
    return AthenaEngine(
        database=opts["database"],
        table=opts["table"],
        workgroup=opts["workgroup"],
        output=opts["output"],
        log_format=opts["log_format"],
        partitions=PartitionScheme(opts["athena_layout"], opts["athena_hourly"]),
        since=since,
        until=until,
        meter=ScanMeter(budget=int(budget * GB) if budget is not None else None),
    )


def _report_spark(engine: Engine) -> None:
    """The session really in use (master, shuffle partitions) and the files it reads, on stderr."""
    from vpcflow.engines.spark import SparkEngine

    if isinstance(engine, SparkEngine) and engine.info is not None:
        note(f"vpcflow: {engine.info.describe()}; {len(engine.files)} delivery file(s) in the window.")


def _spark_after_run(engine: Engine, result: DetectResult, opts: dict[str, Any]) -> None:
    """What the Spark read left out, and the findings written with --findings-out."""
    from vpcflow.engines.spark import SparkEngine

    if not isinstance(engine, SparkEngine):
        return
    for w in engine.warnings:
        warn(w)
    if opts["findings_out"]:
        n = engine.write_findings(result.findings, opts["findings_out"], opts["findings_format"])
        note(f"vpcflow: wrote {n} findings to {opts['findings_out']} ({opts['findings_format']}, by day).")


def _scan_meter(engine: Engine) -> ScanMeter | None:
    """The bytes-scanned count of an engine that bills by scan (Athena), else None."""
    if engine.name != "athena":
        return None
    from vpcflow.engines.athena import AthenaEngine

    return engine.meter if isinstance(engine, AthenaEngine) else None


def _with_partitions(table: Any) -> Any:
    """Records read from files lack the store's date/hour columns; add them so rules see the contract."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if "date" not in table.column_names:
        table = table.append_column("date", pc.strftime(table["start"], format="%Y-%m-%d"))
    if "hour" not in table.column_names:
        table = table.append_column("hour", pc.cast(pc.hour(table["start"]), pa.int32()))
    return table


def _explainer(snapshot: str | None) -> Explainer | None:
    if not snapshot:
        return None
    from vpcflow.detect.explain import make_explainer

    return make_explainer(snapshot)


def _print_findings(
    result: DetectResult, rules: dict[str, Rule], fmt: str, opts: dict[str, Any], scanned: int | None = None
) -> None:
    from vpcflow.report import findings as writers

    findings = result.findings
    if fmt == "jsonl":
        sys.stdout.write(writers.jsonl(findings))
    elif fmt == "json":
        click.echo(
            dumps(
                {
                    "findings": [f.to_dict() for f in findings],
                    "rules": [r.__dict__ for r in result.runs],
                    "suppressed": [
                        {"id": f.id, "rule_id": f.rule_id, "reason": s.reason} for f, s in result.suppressed
                    ],
                    "warnings": result.warnings,
                    **({"bytes_scanned": scanned} if scanned is not None else {}),
                }
            )
        )
    elif fmt == "ocsf":
        for f in findings:
            click.echo(dumps(writers.to_ocsf(f, rules.get(f.rule_id)), indent=None))
    elif fmt == "asff":
        out = []
        region = opts["asff_region"] or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        for f in findings:
            account = opts["asff_account"] or writers.asff_account(f, None)
            if not account or not region:
                raise InputError(
                    "ASFF needs an AWS account and region: pass --asff-account and --asff-region "
                    "(the account that imports the findings)."
                )
            out.append(writers.to_asff(f, rules.get(f.rule_id), account_id=account, region=region))
        click.echo(dumps(out))
    else:
        rows = [
            {
                "severity": f.severity,
                "rule": f.rule_id,
                "first_seen": f.first_seen.strftime("%Y-%m-%d %H:%M") if f.first_seen else "",
                "summary": f.summary,
            }
            for f in findings
        ]
        # last_seen, entities and counts are in --format json; the table keeps what fits a terminal
        emit_rows(rows, "table", columns=["severity", "rule", "first_seen", "summary"], title="Findings")


@click.command("detect")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--store", "store_dir", type=click.Path(file_okay=False), help="Store folder (from vpcflow ingest).")
@click.option("--engine", type=click.Choice(["duckdb", "spark", "athena"]), default="duckdb", show_default=True)
@click.option(
    "--spark-master",
    default=None,
    help="Spark master URL when no session is running (default: spark-submit's, else local[*]).",
)
@click.option(
    "--spark-conf",
    multiple=True,
    metavar="KEY=VALUE",
    help="Spark: a setting passed through to the session (repeatable).",
)
@click.option(
    "--path", default=None, help="Spark: a delivery path (s3a://bucket/AWSLogs/… or a folder) instead of --store."
)
@click.option(
    "--input-format",
    type=click.Choice(["text", "parquet"]),
    default="text",
    help="Spark --path: the format of files whose names do not say (AWS's names end in .log.gz or .parquet).",
)
@click.option(
    "--findings-out",
    default=None,
    metavar="URI|DIR",
    help="Spark: also write the findings there (s3a://… or a folder), one folder per day; a re-run replaces its days.",
)
@click.option(
    "--findings-format",
    type=click.Choice(["parquet", "jsonl"]),
    default="parquet",
    show_default=True,
    help="Spark --findings-out: Parquet or JSON lines.",
)
@click.option("--workgroup", default=None, help="Athena workgroup.")
@click.option("--output", default=None, help="Athena query result location, s3://bucket/prefix/.")
@click.option("--database", default="default", show_default=True, help="Athena database of the flow-log table.")
@click.option("--table", default="vpc_flow_logs", show_default=True, help="Athena table (see 'vpcflow athena ddl').")
@click.option(
    "--athena-layout",
    type=click.Choice(["default", "hive"]),
    default="default",
    help="Athena: the table's S3 layout (for partition pruning).",
)
@click.option(
    "--athena-hourly", is_flag=True, help="Athena: the table has hourly partitions (vpcflow athena ddl --hourly)."
)
@click.option(
    "--max-scan-gb",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Athena: stop before a rule would take the data scanned past this many GB (10^9 bytes).",
)
@click.option("--all-time", is_flag=True, help="Athena: scan the whole table (otherwise --since is required).")
@click.option("--log-format", default=None, help="The flow log's format string (${version} ${account-id} …).")
@click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="A folder of your own rules (repeatable).",
)
@click.option("--no-catalog", is_flag=True, help="Run only the rules given with --rules.")
@click.option("--only", multiple=True, help="Run only these rule ids (globs allowed, repeatable).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="YAML: parameters, internal CIDRs, suppressions.",
)
@click.option("--param", "params", multiple=True, help="Set a rule parameter: RULE_ID.NAME=VALUE (repeatable).")
@click.option(
    "--threat-list",
    "threat_lists",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Known-bad IPs/CIDRs (text or CSV; repeatable).",
)
@click.option("--since", default=None, help="Only records starting at or after this UTC time.")
@click.option("--until", default=None, help="Only records starting before this UTC time.")
@click.option(
    "--snapshot", type=click.Path(exists=True), help="A snapshot: findings about rejects carry their explanation."
)
@click.option(
    "--evidence", default=3, show_default=True, type=click.IntRange(0, 100), help="Records shown per finding."
)
@click.option(
    "--max-findings",
    default=DEFAULT_MAX_FINDINGS,
    show_default=True,
    type=click.IntRange(0),
    help="Findings kept per rule, most severe and largest first (0: all); the rest are counted in a warning.",
)
@click.option(
    "--fail-on",
    type=click.Choice([*SEVERITIES, "none"]),
    default=DEFAULT_FAIL_ON,
    show_default=True,
    help="Exit 1 if a finding at or above this severity exists; 'none' always exits 0 when the run succeeds.",
)
@click.option("--asff-account", default=None, help="ASFF: the account that imports the findings.")
@click.option("--asff-region", default=None, help="ASFF: the Security Hub region.")
@click.option("--list-rules", is_flag=True, help="List the rules and their parameters, and exit.")
@click.option("--test-rules", is_flag=True, help="Run every rule's labelled test records, and exit (1 on a failure).")
@click.option(
    "--show-sql", default=None, metavar="RULE_ID", help="Print a rule's rendered SQL for the engine, and exit."
)
@format_option(choices=FORMATS)
@verbosity_options
@click.pass_context
def command(ctx: click.Context, fmt: str | None, **opts: Any) -> None:
    """Run detections (port scans, sweeps, brute force, internal rejects, spikes, threat lists, log health)."""
    config = load_config(opts["config_path"])
    for assignment in opts["params"]:
        config.set_param(assignment)
    loaded = load_rules([Path(d) for d in opts["rule_dirs"]], include_catalog=not opts["no_catalog"])
    check_config(loaded, config)
    rules = _select(loaded, opts["only"])
    by_id = {r.id: r for r in rules}

    if opts["list_rules"]:
        rows = [
            {
                "id": r.id,
                "severity": r.severity,
                "title": r.title,
                "mitre": ", ".join(t.id for t in r.techniques),
                "parameters": ", ".join(f"{k}={v}" for k, v in {**r.defaults(), **config.params.get(r.id, {})}.items()),
            }
            for r in rules
        ]
        emit_rows(
            rows,
            resolve_format(fmt if fmt in ("table", "json", "jsonl") else None),
            columns=list(rows[0]) if rows else None,
        )
        return
    if opts["test_rules"]:
        outcomes = run_all_tests(rules, config)
        failed = [o for o in outcomes if not o.passed]
        emit_rows(
            [
                {"rule": o.rule_id, "test": o.test, "result": "pass" if o.passed else "FAIL", "message": o.message}
                for o in outcomes
            ],
            resolve_format(fmt if fmt in ("table", "json", "jsonl") else None),
            columns=["rule", "test", "result", "message"],
        )
        if failed:
            ctx.exit(1)
        return
    if opts["show_sql"]:
        rule = by_id.get(opts["show_sql"])
        if rule is None:
            raise InputError(f"No rule {opts['show_sql']!r}; 'vpcflow detect --list-rules' lists them.")
        import sqlglot

        from vpcflow.engines.base import parse

        sql = rendered_sql(rule, config)
        if opts["engine"] == "athena":  # the text Athena receives: the table read through the date window
            window = _when(opts["since"], "--since"), _when(opts["until"], "--until")
            text = _athena_engine(opts, *window, checked=False).to_trino(sql)
            click.echo(sqlglot.parse_one(text, read="trino").sql(dialect="trino", pretty=True))
            return
        dialect = {"duckdb": "duckdb", "spark": "spark"}[opts["engine"]]
        click.echo(parse(sql).sql(dialect=dialect, pretty=True))
        return

    since, until = _when(opts["since"], "--since"), _when(opts["until"], "--until")
    if opts["findings_out"] and opts["engine"] != "spark":
        raise InputError("--findings-out writes through Spark: use it with --engine spark.")
    if opts["max_scan_gb"] is not None and opts["engine"] != "athena":
        raise InputError("--max-scan-gb applies to --engine athena, the engine that bills by the data scanned.")
    threats = load_threat_list(opts["threat_lists"]) if opts["threat_lists"] else None
    explainer = _explainer(opts["snapshot"])
    engine = _engine(opts, since, until)
    meter = _scan_meter(engine)
    _report_spark(engine)
    try:
        with progress("running detections", total=len(rules)) as steps:
            started: list[Rule] = []

            def on_rule(rule: Rule) -> None:
                if started:
                    steps.advance()
                started.append(rule)
                steps.describe(f"running {rule.id}")
                if meter is not None:
                    meter.start_rule(rule.id)

            result = run_rules(
                engine,
                rules,
                config,
                threat_list=threats,
                evidence=opts["evidence"],
                max_findings=opts["max_findings"],
                explainer=explainer,
                on_rule=on_rule,
            )
        _spark_after_run(engine, result, opts)
    finally:
        engine.close()

    if meter is not None:
        for r in result.runs:
            r.bytes_scanned = meter.by_rule.get(r.rule_id, 0)
    _print_findings(result, by_id, resolve_format(fmt), opts, meter.total if meter is not None else None)
    _report_runs(result, opts["engine"])
    if meter is not None:
        note(f"vpcflow: {meter.summary()}.")
    if result.stopped:
        raise PartialFailure(result.stopped)
    errors = [r for r in result.runs if r.status == "error"]
    if errors:
        raise PartialFailure(
            f"{len(errors)} of {len(result.runs)} rules failed: {', '.join(r.rule_id for r in errors)}."
        )
    if fails(result, opts["fail_on"]):
        ctx.exit(1)


def fails(result: DetectResult, fail_on: str) -> bool:
    """Whether the run gates a pipeline: a finding at or above ``fail_on`` (never with ``none``)."""
    if fail_on == "none":
        return False
    return any(severity_rank(f.severity) >= severity_rank(fail_on) for f in result.findings)


def _report_runs(result: DetectResult, engine: str) -> None:
    """stderr: warnings and failures always, skipped rules and the summary unless --quiet, timings with -v."""
    for w in result.warnings:
        warn(w)
    for r in result.runs:
        if r.status == "error":
            warn(f"vpcflow: rule {r.rule_id} failed: {r.message}")
        elif r.status == "skipped" and not (result.stopped and r.message == result.stopped):
            note(f"vpcflow: rule {r.rule_id} skipped: {r.message}")  # a stop is said once, by the caller
        else:
            detail(f"vpcflow: rule {r.rule_id}: {r.findings} findings, {r.suppressed} suppressed, {r.seconds:.2f} s")
    ran = sum(1 for r in result.runs if r.status == "ok")
    note(f"vpcflow: {ran} rules ran on {engine}: {len(result.findings)} findings, {len(result.suppressed)} suppressed.")

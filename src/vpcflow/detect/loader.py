"""Loading rules: ``*.sql`` files whose metadata sits in a leading ``/* --- YAML --- */`` comment or in a
sidecar ``<name>.yaml``. Files whose name starts with ``_`` are shared SQL fragments, not rules.

Keeping the metadata inside the SQL file keeps a rule one reviewable file that still runs as plain SQL
(the front matter is a comment); the sidecar form suits rules generated or shared with other tools.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from vpcflow.detect.model import SEVERITIES, VIEWS, Parameter, Rule, RuleTest, Technique
from vpcflow.errors import InputError

_FRONT = re.compile(r"\A\s*/\*\s*---\s*\n(?P<meta>.*?)\n\s*---\s*\*/\s*\n?", re.S)
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def catalog_dir() -> Path:
    """The folder of the rules that ship with vpcflow."""
    return Path(str(resources.files("vpcflow.detect") / "rules"))


def split_front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    match = _FRONT.match(text)
    if not match:
        return None, text
    meta = yaml.safe_load(match.group("meta")) or {}
    return meta, text[match.end() :]


def _tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,)


def _rule_from(meta: dict[str, Any], sql: str, path: Path) -> Rule:
    where = f"rule {path.name}"
    if not isinstance(meta, dict):
        raise InputError(f"The metadata of {where} is not a YAML mapping.")
    for key in ("id", "title", "severity"):
        if not meta.get(key):
            raise InputError(f"The metadata of {where} lacks '{key}'.")
    rule_id = str(meta["id"])
    if not _ID.match(rule_id):
        raise InputError(f"Rule id {rule_id!r} in {path.name} must be lower-case letters, digits, '.', '_' or '-'.")
    severity = str(meta["severity"]).lower()
    if severity not in SEVERITIES:
        raise InputError(f"Rule {rule_id} has severity {severity!r}; use one of {', '.join(SEVERITIES)}.")
    params = meta.get("parameters") or {}
    if not isinstance(params, dict):
        raise InputError(f"The parameters of rule {rule_id} must be a mapping of name to default.")
    parameters = tuple(
        Parameter(
            name,
            spec.get("default") if isinstance(spec, dict) else spec,
            str(spec.get("description", "")) if isinstance(spec, dict) else "",
        )
        for name, spec in params.items()
    )
    techniques = tuple(
        Technique(str(t.get("id", "")), str(t.get("name", "")), str(t.get("tactic", "")))
        for t in _tuple(meta.get("mitre"))
        if isinstance(t, dict)
    )
    evidence = meta.get("evidence") or {}
    evidence_from = str(evidence.get("from", "flows"))
    if evidence_from not in VIEWS:
        raise InputError(f"Rule {rule_id}: evidence.from must be one of {', '.join(VIEWS)}.")
    tests = []
    for i, t in enumerate(_tuple(meta.get("tests"))):
        if not isinstance(t, dict) or t.get("expect") not in ("fire", "none"):
            raise InputError(f"Rule {rule_id}: test {i + 1} needs 'expect: fire' or 'expect: none'.")
        tests.append(
            RuleTest(
                name=str(t.get("name", f"test {i + 1}")),
                expect=str(t["expect"]),
                records=tuple(_tuple(t.get("records"))),
                severity=t.get("severity"),
                params=dict(t.get("params") or {}),
                threat_list=tuple(str(x) for x in _tuple(t.get("threat_list"))),
            )
        )
    return Rule(
        id=rule_id,
        title=str(meta["title"]),
        description=str(meta.get("description", "")).strip(),
        severity=severity,
        sql=sql.strip(),
        path=path,
        summary=str(meta.get("summary", "")),
        escalation=str(meta.get("escalation", "")).strip(),
        category=str(meta.get("category", "detection")),
        techniques=techniques,
        parameters=parameters,
        false_positives=tuple(str(x) for x in _tuple(meta.get("false_positives"))),
        remediation=str(meta.get("remediation", "")).strip(),
        references=tuple(str(x) for x in _tuple(meta.get("references"))),
        entities=tuple(str(x) for x in _tuple(meta.get("entities"))),
        counts=tuple(str(x) for x in _tuple(meta.get("counts"))),
        evidence_from=evidence_from,
        evidence_match=tuple(str(x) for x in _tuple(evidence.get("match"))),
        requires=tuple(str(x) for x in _tuple(meta.get("requires"))),
        about_rejects=bool(meta.get("about_rejects", True)),
        tests=tuple(tests),
    )


def load_rule(path: Path) -> Rule:
    """One rule from its ``.sql`` file (front matter) or its sidecar ``.yaml``."""
    try:
        text = path.read_text()
    except OSError as err:
        raise InputError(f"Cannot read rule file {path}: {err.strerror}.") from err
    try:
        meta, sql = split_front_matter(text)
        if meta is None:
            for suffix in (".yaml", ".yml"):
                sidecar = path.with_suffix(suffix)
                if sidecar.exists():
                    meta = yaml.safe_load(sidecar.read_text())
                    break
    except yaml.YAMLError as err:
        raise InputError(f"The metadata of rule {path.name} is not valid YAML: {err}.") from err
    if meta is None:
        raise InputError(f"Rule {path.name} has no metadata: add a /* --- ... --- */ block or {path.stem}.yaml.")
    return _rule_from(meta, sql, path)


def load_rules(dirs: Iterable[Path] = (), *, include_catalog: bool = True) -> list[Rule]:
    """The catalog's rules and those in ``dirs``; a user rule with a catalog rule's id replaces it."""
    folders = ([catalog_dir()] if include_catalog else []) + [Path(d) for d in dirs]
    by_id: dict[str, Rule] = {}
    for folder in folders:
        if not folder.is_dir():
            raise InputError(f"Rules folder {folder} does not exist.")
        seen: dict[str, Path] = {}
        for path in sorted(folder.glob("*.sql")):
            if path.name.startswith("_"):
                continue
            rule = load_rule(path)
            if rule.id in seen:
                raise InputError(
                    f"Rule id {rule.id} is defined twice in {folder}: {seen[rule.id].name} and {path.name}."
                )
            seen[rule.id] = path
            by_id[rule.id] = rule
    return list(by_id.values())


def search_path(rule: Rule) -> list[Path]:
    """Where a rule's ``{% include %}`` looks: its own folder, then the catalog's shared fragments."""
    return [rule.path.parent, catalog_dir()]

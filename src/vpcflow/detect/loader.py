"""Loading rules: ``*.sql`` files whose metadata sits in a leading ``/* --- YAML --- */`` comment or in a
sidecar ``<name>.yaml``. Files whose name starts with ``_`` are shared SQL fragments, not rules.

Keeping the metadata inside the SQL file keeps a rule one reviewable file that still runs as plain SQL
(the front matter is a comment); the sidecar form suits rules generated or shared with other tools.
Either way the metadata is checked against one JSON Schema (``rule.schema.json``), so a misspelt key
is an error naming it rather than a setting silently dropped, and each key has one way of being written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from vpcflow.detect.model import Parameter, Rule, RuleTest, Technique
from vpcflow.errors import InputError

_FRONT = re.compile(r"\A\s*/\*\s*---\s*\n(?P<meta>.*?)\n\s*---\s*\*/\s*\n?", re.S)


RULE_SCHEMA: dict[str, Any] = json.loads((resources.files("vpcflow.detect") / "rule.schema.json").read_text())
_VALIDATOR = jsonschema.Draft202012Validator(RULE_SCHEMA)


def check_metadata(meta: Any, where: str) -> None:
    """Fail with one sentence naming the first key that breaks the schema (an unknown key first)."""
    errors = sorted(_VALIDATOR.iter_errors(meta), key=lambda e: (e.validator != "additionalProperties", list(e.path)))
    if not errors:
        return
    err = errors[0]
    at = ".".join(str(p) for p in err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = set(err.schema.get("properties", {}))
        unknown = sorted(str(k) for k in err.instance if k not in known)
        inside = f" in {at}" if at else ""
        raise InputError(
            f"The metadata of {where} has unknown key {unknown[0]!r}{inside} (known: {', '.join(sorted(known))})."
        )
    raise InputError(f"The metadata of {where}: {at or 'the top level'}: {_short(err)}.")


_TYPE_WORDS = {
    "object": "a mapping (for a parameter: {default: ..., description: ...})",
    "array": "a list",
    "string": "a text",
    "boolean": "true or false",
}


def _short(err: jsonschema.ValidationError) -> str:
    """The schema error in words a rule author reads (the value shortened)."""
    if err.validator == "required":
        return str(err.message).replace("is a required property", "is required")
    value = repr(err.instance)
    value = value if len(value) <= 60 else value[:57] + "..."
    expected = {
        "type": "must be " + _TYPE_WORDS.get(str(err.validator_value), str(err.validator_value)),
        "enum": f"must be one of {', '.join(map(str, err.validator_value))}",
        "pattern": f"must match {err.validator_value}",
        "minLength": "must not be empty",
    }.get(str(err.validator), str(err.message))
    return f"{value} {expected}"


def catalog_dir() -> Path:
    """The folder of the rules that ship with vpcflow."""
    return Path(str(resources.files("vpcflow.detect") / "rules"))


def split_front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    match = _FRONT.match(text)
    if not match:
        return None, text
    meta = yaml.safe_load(match.group("meta")) or {}
    return meta, text[match.end() :]


def _rule_from(meta: dict[str, Any], sql: str, path: Path) -> Rule:
    check_metadata(meta, f"rule {path.name}")
    rule_id = str(meta["id"])
    severity = str(meta["severity"])
    parameters = tuple(
        Parameter(name, spec["default"], spec.get("description", ""))
        for name, spec in (meta.get("parameters") or {}).items()
    )
    techniques = tuple(Technique(t["id"], t["name"], t["tactic"]) for t in meta.get("mitre") or [])
    evidence = meta.get("evidence") or {}
    evidence_from = str(evidence.get("from", "flows"))
    tests = tuple(
        RuleTest(
            name=t["name"],
            expect=t["expect"],
            records=tuple(t["records"]),
            severity=t.get("severity"),
            params=dict(t.get("params") or {}),
            threat_list=tuple(t.get("threat_list") or ()),
        )
        for t in meta.get("tests") or []
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
        false_positives=tuple(meta.get("false_positives") or ()),
        remediation=str(meta.get("remediation", "")).strip(),
        references=tuple(meta.get("references") or ()),
        entities=tuple(meta.get("entities") or ()),
        counts=tuple(meta.get("counts") or ()),
        evidence_from=evidence_from,
        evidence_match=tuple(evidence.get("match") or ()),
        requires=tuple(meta.get("requires") or ()),
        about_rejects=bool(meta.get("about_rejects", True)),
        tests=tests,
    )


def load_rule(path: Path) -> Rule:
    """One rule from its ``.sql`` file (front matter) or its sidecar ``.yaml``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"Cannot read rule file {path}: it is not UTF-8 text (byte {err.start}).") from err
    except OSError as err:
        raise InputError(f"Cannot read rule file {path}: {err.strerror}.") from err
    sidecars = [p for p in (path.with_suffix(".yaml"), path.with_suffix(".yml")) if p.exists()]
    try:
        meta, sql = split_front_matter(text)
        if meta is not None and sidecars:
            raise InputError(
                f"Rule {path.name} has metadata in its front matter and in {sidecars[0].name}: keep one of them."
            )
        if meta is None and sidecars:
            if len(sidecars) > 1:
                raise InputError(f"Rule {path.name} has two sidecars, {sidecars[0].name} and {sidecars[1].name}.")
            meta = yaml.safe_load(sidecars[0].read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise InputError(f"The metadata of rule {path.name} is not UTF-8 text (byte {err.start}).") from err
    except yaml.YAMLError as err:
        problem = " ".join(str(err).split())
        raise InputError(f"The metadata of rule {path.name} is not valid YAML: {problem}.") from err
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

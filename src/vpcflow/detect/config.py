"""The detect configuration file: parameters per rule, disabled rules, internal address space and
suppressions (allowlists by CIDR, ENI, port and rule for known scanners, bastions, health checkers).

```yaml
internal_cidrs: [10.0.0.0/16, 10.1.0.0/16]        # default: RFC 1918, 100.64.0.0/10, fc00::/7
rules:
  port-scan-vertical: {min_ports: 20}              # parameter overrides
  reject-spike-source: {enabled: false}
  brute-force-auth: {severity: medium}             # floor/override of the rule's severity
suppress:
  - reason: Qualys scanner                         # required: why this is not a finding
    rule: "port-*"                                 # glob on rule id (default: every rule)
    source: [64.39.96.0/20]                        # CIDRs matched against the finding's srcaddr
    destination: [10.0.5.10/32]                    # ... against dstaddr
    cidr: [203.0.113.0/24]                         # ... against any address entity
    eni: [eni-0abc]                                # ... against interface_id
    port: [9100]                                   # ... against dstport / service_port / accepted_port
    expires: 2026-12-31                            # optional: ignored after this date
```
Every key given must match (AND); a list matches when any element does.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from vpcflow.detect.model import SEVERITIES, Finding
from vpcflow.detect.render import RFC1918_AND_ULA
from vpcflow.errors import InputError

ADDRESS_ENTITIES = ("srcaddr", "dstaddr", "matched_ip", "subject")
PORT_ENTITIES = ("dstport", "service_port", "accepted_port")


@dataclass
class Suppression:
    reason: str
    rule: str = "*"
    source: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    destination: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    cidr: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    eni: list[str] = field(default_factory=list)
    port: list[int] = field(default_factory=list)
    expires: date | None = None

    def active(self, today: date) -> bool:
        return self.expires is None or today <= self.expires

    def matches(self, finding: Finding) -> bool:
        return self.matches_entities(finding.rule_id, finding.entities)

    def applies_to(self, rule_id: str) -> bool:
        return fnmatch.fnmatchcase(rule_id, self.rule)

    def matches_entities(self, rule_id: str, ent: dict[str, Any]) -> bool:
        """Whether a finding of ``rule_id`` with these entities is suppressed (no Finding needed)."""
        if not self.applies_to(rule_id):
            return False
        if self.source and not _in(ent.get("srcaddr"), self.source):
            return False
        if self.destination and not _in(ent.get("dstaddr"), self.destination):
            return False
        if self.cidr and not any(_in(ent.get(k), self.cidr) for k in ADDRESS_ENTITIES):
            return False
        if self.eni and ent.get("interface_id") not in self.eni and ent.get("subject") not in self.eni:
            return False
        return not (self.port and not any(ent.get(k) in self.port for k in PORT_ENTITIES))


def _in(value: Any, nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    if not value:
        return False
    try:
        addr = ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return any(addr.version == n.version and addr in n for n in nets)


@dataclass
class DetectConfig:
    internal_cidrs: list[str] = field(default_factory=lambda: list(RFC1918_AND_ULA))
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    disabled: set[str] = field(default_factory=set)
    severity: dict[str, str] = field(default_factory=dict)
    suppressions: list[Suppression] = field(default_factory=list)

    def set_param(self, assignment: str) -> None:
        """Apply ``rule.param=value`` from the command line (value parsed as YAML: 10, [22, 80], text)."""
        key, sep, raw = assignment.partition("=")
        rule_id, dot, name = key.rpartition(".")
        if not sep or not dot or not rule_id or not name:
            raise InputError(f"--param {assignment!r} must look like RULE_ID.PARAMETER=VALUE.")
        try:
            value = yaml.safe_load(raw)
        except (yaml.YAMLError, ValueError) as err:
            raise InputError(
                f"--param {key}: {raw!r} is not a value (a number, true/false, a text or a list like [22, 80])."
            ) from err
        self.params.setdefault(rule_id, {})[name] = value


def _nets(value: Any, where: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    items = value if isinstance(value, list) else [value]
    try:
        return [ipaddress.ip_network(str(v), strict=False) for v in items]
    except ValueError as err:
        raise InputError(f"{where}: {err}.") from err


def _ports(value: Any, where: str) -> list[int]:
    items = value if isinstance(value, list) else [value]
    bad = [p for p in items if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 65535]
    if bad or not items:
        raise InputError(
            f"{where}: port must be a port number 0-65535 or a list of them, not {bad[0] if bad else value!r}."
        )
    return list(items)


def _expires(value: Any, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InputError(f"{where}: expires {value!r} is not a date like 2026-12-31.")


def _strings(value: Any, where: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or any(not isinstance(v, str | int) or isinstance(v, bool) for v in items):
        raise InputError(f"{where} must be a text or a list of texts.")
    return [str(v) for v in items]


SUPPRESSION_KEYS = frozenset({"reason", "rule", "source", "destination", "cidr", "eni", "port", "expires"})


def _suppression(entry: Any, where: str) -> Suppression:
    if not isinstance(entry, dict):
        raise InputError(f"{where} must be a mapping with at least 'reason'.")
    unknown = set(entry) - SUPPRESSION_KEYS
    if unknown:
        raise InputError(
            f"{where} has unknown keys: {', '.join(sorted(map(str, unknown)))} "
            f"(known: {', '.join(sorted(SUPPRESSION_KEYS))})."
        )
    if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
        raise InputError(f"{where} needs a 'reason' saying why it is not a finding.")
    rule = entry.get("rule", "*")
    if not isinstance(rule, str) or not rule:
        raise InputError(f"{where}: rule must be a rule id or a glob such as 'port-*'.")
    return Suppression(
        reason=entry["reason"],
        rule=rule,
        source=_nets(entry["source"], f"{where} source") if "source" in entry else [],
        destination=_nets(entry["destination"], f"{where} destination") if "destination" in entry else [],
        cidr=_nets(entry["cidr"], f"{where} cidr") if "cidr" in entry else [],
        eni=_strings(entry["eni"], f"{where} eni") if "eni" in entry else [],
        port=_ports(entry["port"], where) if "port" in entry else [],
        expires=_expires(entry.get("expires"), where),
    )


CONFIG_KEYS = frozenset({"internal_cidrs", "rules", "suppress"})


def parse_config(data: Any, source: str = "config") -> DetectConfig:
    """Check every key and value of a parsed configuration; one sentence naming the first mistake."""
    if data is None:
        return DetectConfig()
    if not isinstance(data, dict):
        raise InputError(f"{source} must be a YAML mapping with internal_cidrs, rules and suppress.")
    unknown = set(data) - CONFIG_KEYS
    if unknown:
        raise InputError(
            f"{source} has unknown keys: {', '.join(sorted(map(str, unknown)))} (known: {', '.join(sorted(CONFIG_KEYS))})."
        )
    cfg = DetectConfig()
    if "internal_cidrs" in data:
        cidrs = data["internal_cidrs"]
        if not isinstance(cidrs, list):
            raise InputError(f"{source}: internal_cidrs must be a list of CIDR blocks, such as [10.0.0.0/16].")
        _nets(cidrs, f"{source} internal_cidrs")
        cfg.internal_cidrs = [str(c) for c in cidrs]
    rules = data.get("rules") or {}
    if not isinstance(rules, dict):
        raise InputError(
            f"{source}: rules must be a mapping of rule id to its settings, such as {{port-scan-vertical: {{min_ports: 20}}}}."
        )
    for rule_id, settings in rules.items():
        where = f"{source} rules.{rule_id}"
        if settings is None:
            settings = {}
        if not isinstance(settings, dict):
            raise InputError(
                f"{where} must be a mapping of settings (parameters, enabled, severity), not {settings!r}."
            )
        settings = dict(settings)
        enabled = settings.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise InputError(f"{where}.enabled must be true or false, not {enabled!r}.")
        if not enabled:
            cfg.disabled.add(str(rule_id))
        if "severity" in settings:
            sev = str(settings.pop("severity")).lower()
            if sev not in SEVERITIES:
                raise InputError(f"{where}.severity {sev!r} is not one of {', '.join(SEVERITIES)}.")
            cfg.severity[str(rule_id)] = sev
        cfg.params[str(rule_id)] = settings
    suppress = data.get("suppress") or []
    if not isinstance(suppress, list):
        raise InputError(f"{source}: suppress must be a list of entries, each with a reason.")
    for i, entry in enumerate(suppress, start=1):
        cfg.suppressions.append(_suppression(entry, f"{source} suppress entry {i}"))
    return cfg


def read_text(path: str | Path, what: str) -> str:
    """A user's file as UTF-8 text, or one sentence saying why it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"Cannot read {what} {path}: it is not UTF-8 text (byte {err.start}).") from err
    except OSError as err:
        raise InputError(f"Cannot read {what} {path}: {err.strerror}.") from err


def load_config(path: str | Path | None) -> DetectConfig:
    if path is None:
        return DetectConfig()
    text = read_text(path, "config")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InputError(f"Config {path} is not valid YAML{at}: {problem}.") from err
    except ValueError as err:  # a well-formed but impossible date, such as 2026-02-30
        raise InputError(f"Config {path} holds an impossible value: {err} (expires must be a real date).") from err
    return parse_config(data, str(path))


def param_type_error(default: Any, value: Any) -> str | None:
    """Why ``value`` cannot stand for a parameter whose default is ``default`` (None when it can).

    The default's type is the parameter's type: a count stays a number, a port list stays a list.
    """
    if default is None or value is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(value, bool):
        return f"a {_kind(default)}, not {str(value).lower()}"
    if isinstance(default, int):
        return None if isinstance(value, int) else f"a whole number, not {value!r}"
    if isinstance(default, float):
        return None if isinstance(value, int | float) else f"a number, not {value!r}"
    if isinstance(default, str):
        return None if isinstance(value, str) else f"a text, not {value!r}"
    if isinstance(default, list):
        if not isinstance(value, list):
            return f"a list such as {default[:3]!r}, not {value!r}"
        for item in value:
            if default and (why := param_type_error(default[0], item)):
                return f"a list whose items are each {why.split(', not')[0]}"
    return None


def _kind(default: Any) -> str:
    return {int: "whole number", float: "number", str: "text", list: "list"}.get(type(default), type(default).__name__)


def today() -> date:
    return datetime.now().date()

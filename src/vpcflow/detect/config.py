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
        self.params.setdefault(rule_id, {})[name] = yaml.safe_load(raw)


def _nets(value: Any, where: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    items = value if isinstance(value, list) else [value]
    try:
        return [ipaddress.ip_network(str(v), strict=False) for v in items]
    except ValueError as err:
        raise InputError(f"{where}: {err}.") from err


def parse_config(data: Any, source: str = "config") -> DetectConfig:
    if data is None:
        return DetectConfig()
    if not isinstance(data, dict):
        raise InputError(f"{source} must be a YAML mapping with internal_cidrs, rules and suppress.")
    unknown = set(data) - {"internal_cidrs", "rules", "suppress"}
    if unknown:
        raise InputError(f"{source} has unknown keys: {', '.join(sorted(unknown))}.")
    cfg = DetectConfig()
    if "internal_cidrs" in data:
        cidrs = data["internal_cidrs"] or []
        _nets(cidrs, f"{source} internal_cidrs")
        cfg.internal_cidrs = [str(c) for c in cidrs]
    for rule_id, settings in (data.get("rules") or {}).items():
        settings = dict(settings or {})
        if settings.pop("enabled", True) is False:
            cfg.disabled.add(str(rule_id))
        if "severity" in settings:
            sev = str(settings.pop("severity")).lower()
            if sev not in SEVERITIES:
                raise InputError(f"{source}: rule {rule_id} severity {sev!r} is not one of {', '.join(SEVERITIES)}.")
            cfg.severity[str(rule_id)] = sev
        cfg.params[str(rule_id)] = settings
    for i, entry in enumerate(data.get("suppress") or [], start=1):
        where = f"{source} suppress entry {i}"
        if not isinstance(entry, dict) or not str(entry.get("reason", "")).strip():
            raise InputError(f"{where} needs a 'reason' saying why it is not a finding.")
        unknown = set(entry) - {"reason", "rule", "source", "destination", "cidr", "eni", "port", "expires"}
        if unknown:
            raise InputError(f"{where} has unknown keys: {', '.join(sorted(unknown))}.")
        expires = entry.get("expires")
        if isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError as err:
                raise InputError(f"{where}: expires must be a date like 2026-12-31.") from err
        ports = entry.get("port", [])
        cfg.suppressions.append(
            Suppression(
                reason=str(entry["reason"]),
                rule=str(entry.get("rule", "*")),
                source=_nets(entry["source"], where) if "source" in entry else [],
                destination=_nets(entry["destination"], where) if "destination" in entry else [],
                cidr=_nets(entry["cidr"], where) if "cidr" in entry else [],
                eni=[str(e) for e in (entry["eni"] if isinstance(entry.get("eni"), list) else [entry["eni"]])]
                if "eni" in entry
                else [],
                port=[int(p) for p in (ports if isinstance(ports, list) else [ports])],
                expires=expires if isinstance(expires, date) else None,
            )
        )
    return cfg


def load_config(path: str | Path | None) -> DetectConfig:
    if path is None:
        return DetectConfig()
    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise InputError(f"Cannot read config {path}: {err.strerror}.") from err
    except yaml.YAMLError as err:
        raise InputError(f"Config {path} is not valid YAML: {err}.") from err
    return parse_config(data, str(path))


def today() -> date:
    return datetime.now().date()

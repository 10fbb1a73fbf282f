"""The traffic scenario: who talks to whom, how much and when, and which parts are attacks.

A scenario is YAML (or the same structure as a dict). Every element names what produced its records,
so each simulated record carries its ground truth. Errors are one sentence naming the element.

```yaml
name: my-vpc
start: 2026-11-25T00:00:00Z     # first second simulated (UTC)
duration: 1d                    # 90s, 15m, 6h, 1d
names: {web: eni-0a1b2c3d4e5f60001}
aws_services: {S3: [52.95.128.0/21]}   # optional: fills pkt-src-aws-service / pkt-dst-aws-service
nitro: all                             # optional: interfaces on Nitro instances capture per 60 s (or a list)
elements:
  - {name: web, kind: web, from: internet, to: web, port: 443, rate: 2/s}
  - {name: ssh-brute, kind: brute_force, from: 198.51.100.7, to: bastion, port: 22, count: 300, start: 10h, duration: 15m}
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from vpcflow.errors import InputError
from vpcflow.simulate import addr
from vpcflow.timeparse import parse_utc

KINDS = (
    "connections",
    "web",
    "port_scan",
    "sweep",
    "brute_force",
    "internet_noise",
    "blocked_service",
    "dropped_response",
    "stragglers",
)
"""Element kinds: plain traffic, the attacks detections must find, and the misconfigurations explain must name."""

ATTACK_KINDS = frozenset({"port_scan", "sweep", "brute_force", "internet_noise"})

EPHEMERAL: dict[str, tuple[int, int]] = {
    "linux": (32768, 60999),
    "windows": (49152, 65535),
    "nat": (1024, 65535),
    "elb": (1024, 65535),
    "lambda": (1024, 65535),
    "scanner": (1024, 65535),
}
"""Client ephemeral port ranges by kind of client (AWS network-ACL guide; modern Linux 32768-60999)."""

PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|m|h|d)\s*$")


@dataclass(frozen=True)
class Expectation:
    """What a misconfiguration element is meant to break: the layer and, optionally, the resource and rule."""

    packet: str  # "request" | "response"
    layer: str | None = None
    resource_id: str | None = None
    rule: int | str | None = None


@dataclass(frozen=True)
class Element:
    """One line of the scenario, normalised: every generator reads these fields and nothing else."""

    name: str
    kind: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    protocol: int
    ports: tuple[int, ...]
    client: str
    count: int | None
    rate: float | None  # sessions per second
    start: float  # seconds after the scenario start
    duration: float | None  # None: until the scenario ends
    packets: tuple[int, int] | None
    bytes: tuple[int, int] | None
    response_packets: tuple[int, int] | None
    response_bytes: tuple[int, int] | None
    session_seconds: tuple[float, float] | None
    src_port: int | None
    response_delay: float | None
    rhythm: str  # "flat" | "daily"
    attack: bool
    expect: Expectation | None = None
    sources_per_hour: int | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    start: float  # Unix seconds
    duration: float
    seed: int | None
    names: Mapping[str, str] = field(default_factory=dict)
    elements: tuple[Element, ...] = ()
    aws_services: tuple[tuple[str, int, int], ...] = ()  # (service, first address, size) for pkt-*-aws-service
    nitro: tuple[str, ...] = ()  # interfaces on Nitro instances (60-second capture whatever the setting); "all"

    @property
    def end(self) -> float:
        return self.start + self.duration


def parse_seconds(value: Any, what: str) -> float:
    """``90``, ``"90s"``, ``"15m"``, ``"6h"``, ``"1d"`` as seconds."""
    if isinstance(value, bool):
        raise InputError(f"{what} must be a duration such as 90s, 15m, 6h or 1d.")
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise InputError(f"{what} {value!r} is not a duration such as 90s, 15m, 6h or 1d.")
    return float(match.group(1)) * _UNIT[match.group(2)]


def parse_time(value: Any, what: str) -> float:
    """An ISO-8601 time (UTC if no zone) or Unix seconds."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if text.isdigit():
        return float(text)
    return parse_utc(text, what).timestamp()


def _rate(value: Any, what: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _RATE.match(str(value))
    if not match:
        raise InputError(f"{what} {value!r} is not a rate such as 5/s, 120/m or 300/h.")
    return float(match.group(1)) / _UNIT[match.group(2)]


def _span(value: Any, what: str, cast: type = int) -> tuple[Any, Any] | None:
    """A number or a ``[low, high]`` pair (inclusive)."""
    if value is None:
        return None
    if isinstance(value, list | tuple) and len(value) == 2:
        lo, hi = cast(value[0]), cast(value[1])
    elif isinstance(value, int | float) and not isinstance(value, bool):
        lo = hi = cast(value)
    else:
        raise InputError(f"{what} must be a number or a [low, high] pair, not {value!r}.")
    if lo < 0 or hi < lo:
        raise InputError(f"{what} [{lo}, {hi}] must be a non-negative range, low first.")
    return lo, hi


def parse_ports(value: Any, what: str) -> tuple[int, ...]:
    """``22``, ``"1-1024"``, ``[22, 80, "8000-8100"]``."""
    items = value if isinstance(value, list | tuple) else [value]
    ports: list[int] = []
    for item in items:
        text = str(item).strip()
        lo, sep, hi = text.partition("-")
        try:
            first, last = int(lo), int(hi) if sep else int(lo)
        except ValueError as err:
            raise InputError(f"{what} {item!r} is not a port or a port range such as 1-1024.") from err
        if not 0 <= first <= last <= 65535:
            raise InputError(f"{what} {item!r} is outside 0-65535.")
        ports.extend(range(first, last + 1))
    return tuple(ports)


def _endpoints(value: Any, what: str) -> tuple[str, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    out = tuple(str(i).strip() for i in items if str(i).strip())
    if not out:
        raise InputError(f"{what} is empty: name an ENI, an IP, a CIDR or 'internet'.")
    return out


_DEFAULT_PORT = {"brute_force": 22, "sweep": 22, "web": 443}
_KNOWN_KEYS = frozenset(
    {
        "name",
        "kind",
        "from",
        "to",
        "protocol",
        "port",
        "ports",
        "client",
        "count",
        "rate",
        "start",
        "duration",
        "packets",
        "bytes",
        "response_packets",
        "response_bytes",
        "session_seconds",
        "src_port",
        "response_delay",
        "rhythm",
        "attack",
        "expect",
        "sources_per_hour",
    }
)


def _element(raw: Any, index: int, scenario_duration: float) -> Element:
    if not isinstance(raw, Mapping):
        raise InputError(f"Scenario element {index + 1} is not a mapping of keys such as kind, from, to.")
    name = str(raw.get("name") or f"{raw.get('kind', 'element')}-{index + 1}")
    where = f"Element {name!r}:"
    kind = str(raw.get("kind") or "connections")
    if kind not in KINDS:
        raise InputError(f"{where} kind {kind!r} is not one of {', '.join(KINDS)}.")
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise InputError(f"{where} unknown key(s) {', '.join(unknown)}.")
    proto_raw = raw.get("protocol", "tcp")
    protocol = PROTOCOLS.get(str(proto_raw).lower()) if not str(proto_raw).isdigit() else int(str(proto_raw))
    if protocol is None or not 0 <= protocol <= 255:
        raise InputError(f"{where} protocol {proto_raw!r} is not tcp, udp, icmp or an IANA number.")
    if kind in ("port_scan",) and "ports" not in raw and "port" not in raw:
        ports: tuple[int, ...] = tuple(range(1, 1025))
    elif protocol == 1:
        ports = (0,)
    else:
        port_value = raw.get("ports", raw.get("port", _DEFAULT_PORT.get(kind)))
        if port_value is None:
            if kind != "internet_noise":
                raise InputError(f"{where} needs a port (or ports).")
            port_value = [22, 23, 80, 443, 445, 1433, 3306, 3389, 5900, 6379, 8080, 8443, 9200]
        ports = parse_ports(port_value, f"{where} port")
    client = str(raw.get("client") or ("scanner" if kind in ("port_scan", "sweep", "internet_noise") else "linux"))
    if client not in EPHEMERAL:
        raise InputError(f"{where} client {client!r} is not one of {', '.join(EPHEMERAL)}.")
    count = raw.get("count")
    rate = _rate(raw["rate"], f"{where} rate") if "rate" in raw else None
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        raise InputError(f"{where} count must be a whole number.")
    start = parse_seconds(raw.get("start", 0), f"{where} start")
    duration = parse_seconds(raw["duration"], f"{where} duration") if "duration" in raw else None
    if start >= scenario_duration:
        raise InputError(f"{where} starts after the scenario ends.")
    expect = None
    if kind in ("blocked_service", "dropped_response") or "expect" in raw:
        exp = raw.get("expect") or {}
        if not isinstance(exp, Mapping):
            raise InputError(f"{where} expect must be a mapping of layer, resource_id and rule.")
        expect = Expectation(
            packet="response" if kind == "dropped_response" else str(exp.get("packet", "request")),
            layer=exp.get("layer"),
            resource_id=exp.get("resource_id"),
            rule=exp.get("rule"),
        )
    src_port = raw.get("src_port")
    if src_port is not None and not (isinstance(src_port, int) and 0 <= src_port <= 65535):
        raise InputError(f"{where} src_port must be a port number.")
    rhythm = str(raw.get("rhythm") or ("daily" if kind == "web" else "flat"))
    if rhythm not in ("flat", "daily"):
        raise InputError(f"{where} rhythm must be flat or daily.")
    return Element(
        name=name,
        kind=kind,
        sources=_endpoints(raw.get("from", "internet"), f"{where} from"),
        targets=_endpoints(raw.get("to"), f"{where} to") if raw.get("to") is not None else (),
        protocol=protocol,
        ports=ports,
        client=client,
        count=count,
        rate=rate,
        start=start,
        duration=duration,
        packets=_span(raw.get("packets"), f"{where} packets"),
        bytes=_span(raw.get("bytes"), f"{where} bytes"),
        response_packets=_span(raw.get("response_packets"), f"{where} response_packets"),
        response_bytes=_span(raw.get("response_bytes"), f"{where} response_bytes"),
        session_seconds=_span(raw.get("session_seconds"), f"{where} session_seconds", float),
        src_port=src_port,
        response_delay=parse_seconds(raw["response_delay"], f"{where} response_delay")
        if "response_delay" in raw
        else None,
        rhythm=rhythm,
        attack=bool(raw.get("attack", kind in ATTACK_KINDS)),
        expect=expect,
        sources_per_hour=raw.get("sources_per_hour"),
    )


def scenario_from_dict(data: Any, source: str = "the scenario") -> Scenario:
    """Validate a scenario structure; every error is one sentence naming the offending element."""
    if not isinstance(data, Mapping):
        raise InputError(f"{source} is not a mapping with start, duration and elements.")
    start = parse_time(data.get("start", "2026-11-25T00:00:00Z"), "start")
    duration = parse_seconds(data.get("duration", "1d"), "duration")
    if duration <= 0:
        raise InputError("The scenario duration must be positive.")
    raw_elements = data.get("elements") or []
    if not isinstance(raw_elements, Sequence) or isinstance(raw_elements, str):
        raise InputError(f"{source}: elements must be a list.")
    elements = tuple(_element(raw, i, duration) for i, raw in enumerate(raw_elements))
    names = [e.name for e in elements]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{source}: element names must be unique; repeated: {', '.join(dupes)}.")
    aliases = data.get("names") or {}
    if not isinstance(aliases, Mapping):
        raise InputError(f"{source}: names must map a short name to an ENI, IP or CIDR.")
    services = data.get("aws_services") or {}
    if not isinstance(services, Mapping):
        raise InputError(f"{source}: aws_services must map a service name (S3, EC2 ...) to CIDR blocks.")
    blocks = []
    for service, cidrs in services.items():
        for cidr in cidrs if isinstance(cidrs, list | tuple) else [cidrs]:
            first, size = addr.network(str(cidr))
            blocks.append((str(service), first, size))
    nitro_raw = data.get("nitro")
    if nitro_raw is None or nitro_raw is False:
        nitro: tuple[str, ...] = ()
    elif nitro_raw is True or nitro_raw == "all":
        nitro = ("all",)
    else:
        nitro = tuple(str(x) for x in (nitro_raw if isinstance(nitro_raw, list) else [nitro_raw]))
    seed = data.get("seed")
    return Scenario(
        name=str(data.get("name") or "scenario"),
        start=start,
        duration=duration,
        seed=int(seed) if seed is not None else None,
        names={str(k): str(v) for k, v in aliases.items()},
        elements=elements,
        aws_services=tuple(sorted(blocks, key=lambda b: (b[1], -b[2]))),
        nitro=nitro,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario YAML (or JSON) file."""
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as err:
        raise InputError(f"Cannot read scenario {p}: {err.strerror or err}.") from err
    except yaml.YAMLError as err:
        raise InputError(f"Scenario {p} is not valid YAML: {str(err).splitlines()[0]}.") from err
    return scenario_from_dict(data, str(p))

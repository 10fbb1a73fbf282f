"""Scenario elements → sessions: one row per connection (or probe, or stray packet), as numpy columns.

A session is the request direction (client → server) plus, when the policy lets the request through,
its response. Generators draw sessions for one time chunk at a time, from a random stream keyed by
(seed, element, chunk), so a run is reproducible with ``--seed`` and memory stays bounded whatever the
scenario's length: a chunk's sessions never depend on another chunk's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from vpcflow.errors import InputError
from vpcflow.simulate import addr
from vpcflow.simulate.scenario import EPHEMERAL, Element, Scenario
from vpcflow.simulate.topology import Topology

# session modes
FULL = 0  # request, then a response when the request is allowed
PROBE = 1  # one SYN (or datagram); a closed-port reset or an open-port SYN-ACK comes back if allowed
ONEWAY = 2  # packets with no response: stragglers after a close

# flag values AWS reports
FIN, SYN, RST, SYN_ACK = 1, 2, 4, 18

_NOISE_PORT_WEIGHTS = {22: 30, 23: 12, 80: 10, 443: 8, 445: 10, 1433: 4, 3306: 4, 3389: 12, 5900: 3, 6379: 3}


@dataclass
class Sessions:
    """Columns of sessions; every array has the same length."""

    element: npt.NDArray[np.int32]
    src: npt.NDArray[np.uint32]
    dst: npt.NDArray[np.uint32]
    sport: npt.NDArray[np.int32]
    dport: npt.NDArray[np.int32]
    protocol: npt.NDArray[np.int32]
    mode: npt.NDArray[np.int8]
    t0: npt.NDArray[np.float64]
    duration: npt.NDArray[np.float64]
    req_packets: npt.NDArray[np.int64]
    req_bytes: npt.NDArray[np.int64]
    resp_packets: npt.NDArray[np.int64]
    resp_bytes: npt.NDArray[np.int64]
    resp_delay: npt.NDArray[np.float64]
    explicit: npt.NDArray[np.bool_]  # packets/bytes given literally: keep them whatever the verdict
    req_flags: npt.NDArray[np.int16]  # flags for ONEWAY sessions (FIN or RST); -1 elsewhere

    def __len__(self) -> int:
        return len(self.element)

    def take(self, index: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> Sessions:
        return Sessions(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: Sequence[Sessions]) -> Sessions:
        if not parts:
            return empty_sessions()
        return Sessions(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Sessions)})


def empty_sessions() -> Sessions:
    z = np.zeros(0)
    return Sessions(
        element=z.astype(np.int32),
        src=z.astype(np.uint32),
        dst=z.astype(np.uint32),
        sport=z.astype(np.int32),
        dport=z.astype(np.int32),
        protocol=z.astype(np.int32),
        mode=z.astype(np.int8),
        t0=z.astype(np.float64),
        duration=z.astype(np.float64),
        req_packets=z.astype(np.int64),
        req_bytes=z.astype(np.int64),
        resp_packets=z.astype(np.int64),
        resp_bytes=z.astype(np.int64),
        resp_delay=z.astype(np.float64),
        explicit=z.astype(bool),
        req_flags=z.astype(np.int16),
    )


def rng_for(seed: int, *keys: object) -> np.random.Generator:
    """An independent random stream per (seed, keys): the same inputs always draw the same numbers."""
    digest = hashlib.sha256(repr((seed, *keys)).encode()).digest()
    return np.random.default_rng(np.frombuffer(digest, dtype=np.uint32))


# ----------------------------------------------------------------------------------------------------
# endpoints


@dataclass(frozen=True)
class Endpoint:
    """Where one end of an element's traffic is: fixed addresses, a CIDR to draw from, or the internet."""

    fixed: npt.NDArray[np.uint32]  # addresses to pick among (ENIs, IPs)
    cidrs: tuple[tuple[int, int], ...] = ()  # (first, size) blocks to draw hosts from
    internet: bool = False

    def hosts(self) -> npt.NDArray[np.uint32]:
        """Every address this endpoint stands for, in order (a sweep's targets)."""
        parts = [self.fixed]
        for first, size in self.cidrs:
            lo, hi = (first + 1, first + size - 1) if size > 2 else (first, first + size)
            parts.append(np.arange(lo, hi, dtype=np.uint64).astype(np.uint32))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint32)

    def draw(
        self, rng: np.random.Generator, n: int, pool: npt.NDArray[np.uint32] | None = None
    ) -> npt.NDArray[np.uint32]:
        if self.internet:
            if pool is not None and len(pool):
                return pool[rng.integers(0, len(pool), size=n)]
            return addr.random_internet(rng, n)
        choices = self.hosts() if self.cidrs else self.fixed
        if len(choices) == 0:
            raise InputError("An endpoint stands for no address.")
        return choices[rng.integers(0, len(choices), size=n)]


def resolve_endpoint(specs: Sequence[str], scenario: Scenario, topo: Topology, what: str) -> Endpoint:
    """ENI IDs, names from the scenario's ``names``, IPs, CIDRs or ``internet``."""
    fixed: list[int] = []
    cidrs: list[tuple[int, int]] = []
    internet = False
    for spec in specs:
        value = scenario.names.get(spec, spec)
        if value == "internet":
            internet = True
        elif value.startswith("eni-"):
            if value not in topo.interfaces:
                raise InputError(f"{what} names {value}, which is not a network interface of the snapshot.")
            fixed.append(topo.interfaces[value].ip)
        elif "/" in value and not value.endswith("/32"):
            cidrs.append(addr.network(value))
        else:
            try:
                fixed.append(addr.ip_to_int(value.removesuffix("/32")))
            except InputError as err:
                raise InputError(
                    f"{what} {spec!r} is not an ENI of the snapshot, a name, an IP, a CIDR or 'internet'."
                ) from err
    if internet and (fixed or cidrs):
        raise InputError(f"{what} mixes 'internet' with addresses; give them as separate elements.")
    return Endpoint(np.array(fixed, dtype=np.uint32), tuple(cidrs), internet)


# ----------------------------------------------------------------------------------------------------
# timing


def _rhythm_weight(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Daily rhythm: quiet at 02:00 UTC, busiest at 14:00 (mean 1, range 0.2-1.8)."""
    hours = (t % 86400.0) / 3600.0
    return 1.0 - 0.8 * np.cos(2 * np.pi * (hours - 2.0) / 24.0)


def _expected_weight(lo: float, hi: float, rhythm: str) -> float:
    if hi <= lo:
        return 0.0
    if rhythm == "flat":
        return hi - lo
    grid = np.linspace(lo, hi, 65)
    return float(np.trapezoid(_rhythm_weight(grid), grid))


def _draw_times(rng: np.random.Generator, n: int, lo: float, hi: float, rhythm: str) -> npt.NDArray[np.float64]:
    if n == 0:
        return np.zeros(0)
    if rhythm == "flat":
        return np.sort(rng.uniform(lo, hi, size=n))
    out: list[npt.NDArray[np.float64]] = []
    have = 0
    while have < n:
        cand = rng.uniform(lo, hi, size=2 * (n - have) + 16)
        keep = cand[rng.uniform(0, 1.8, size=len(cand)) < _rhythm_weight(cand)]
        out.append(keep)
        have += len(keep)
    return np.sort(np.concatenate(out)[:n])


# ----------------------------------------------------------------------------------------------------
# per-element plans


@dataclass
class Plan:
    """An element made concrete: its endpoints, active span and how many sessions fall in each chunk."""

    index: int
    element: Element
    src: Endpoint
    dst: Endpoint
    lo: float
    hi: float
    ordered_times: npt.NDArray[np.float64] | None = None  # scans, sweeps, brute force: fixed sequences
    ordered_dst: npt.NDArray[np.uint32] | None = None
    ordered_port: npt.NDArray[np.int32] | None = None
    chunk_counts: dict[int, int] | None = None  # count-based random elements
    attacker: npt.NDArray[np.uint32] | None = None  # one fixed source drawn from 'internet'
    source_pool: npt.NDArray[np.uint32] | None = None


def make_plans(scenario: Scenario, topo: Topology, seed: int, chunk: float) -> list[Plan]:
    plans = []
    for i, el in enumerate(scenario.elements):
        lo = scenario.start + el.start
        hi = min(scenario.end, lo + el.duration) if el.duration is not None else scenario.end
        where = f"Element {el.name!r}"
        if not el.targets and el.kind != "internet_noise":
            raise InputError(f"{where} needs 'to'.")
        src = resolve_endpoint(el.sources, scenario, topo, f"{where} from")
        dst = resolve_endpoint(el.targets or ("internet",), scenario, topo, f"{where} to")
        if el.kind == "internet_noise" and not el.targets:
            raise InputError(f"{where} needs 'to': the interfaces the internet scans.")
        plan = Plan(i, el, src, dst, lo, hi)
        rng = rng_for(seed, "plan", i, el.name)
        if src.internet and el.kind in ("port_scan", "sweep", "brute_force"):
            plan.attacker = addr.random_internet(rng, 1)
        if src.internet and el.kind == "internet_noise":
            per_hour = el.sources_per_hour or 400
            plan.source_pool = addr.random_internet(rng, max(1, int(per_hour * max(1.0, (hi - lo) / 3600.0))))
        if el.kind in ("port_scan", "sweep", "brute_force"):
            _order(plan, rng)
        elif el.count is not None and hi <= lo:
            plan.chunk_counts = {int(lo // chunk): el.count}  # duration 0: every session at exactly 'start'
        elif el.count is not None:
            starts = np.arange(np.floor(lo / chunk) * chunk, hi, chunk)
            weights = np.array([_expected_weight(max(lo, s), min(hi, s + chunk), el.rhythm) for s in starts])
            total = weights.sum()
            counts = rng.multinomial(el.count, weights / total) if total > 0 else np.zeros(len(starts), int)
            plan.chunk_counts = {int(s // chunk): int(c) for s, c in zip(starts, counts, strict=True)}
        plans.append(plan)
    return plans


def _order(plan: Plan, rng: np.random.Generator) -> None:
    """Scans, sweeps and brute force run as one ordered sequence across the element's span."""
    el = plan.element
    if el.kind == "port_scan":
        ports = rng.permutation(np.array(el.ports, dtype=np.int32))
        n = len(ports)
        plan.ordered_port = ports
        plan.ordered_dst = plan.dst.draw(rng, 1).repeat(n)
    elif el.kind == "sweep":
        hosts = plan.dst.hosts() if not plan.dst.internet else addr.random_internet(rng, el.count or 256)
        n = len(hosts)
        plan.ordered_dst = hosts
        plan.ordered_port = np.array(el.ports, dtype=np.int32)[rng.integers(0, len(el.ports), size=n)]
    else:
        n = el.count if el.count is not None else round((el.rate or 1.0) * (plan.hi - plan.lo))
        plan.ordered_dst = plan.dst.draw(rng, n)
        plan.ordered_port = np.array(el.ports, dtype=np.int32)[rng.integers(0, len(el.ports), size=n)]
    if el.count is not None and el.kind != "brute_force":
        n = min(n, el.count)
        plan.ordered_dst, plan.ordered_port = plan.ordered_dst[:n], plan.ordered_port[:n]
    span = plan.hi - plan.lo
    default_span = {"port_scan": 120.0, "sweep": 300.0, "brute_force": 900.0}[el.kind]
    if el.duration is None:
        span = min(span, default_span)
    plan.ordered_times = plan.lo + (np.arange(n) + rng.uniform(0, 1, size=n)) * (span / max(n, 1))


def generate(plan: Plan, seed: int, chunk_index: int, chunk: float) -> Sessions:
    """The element's sessions starting in chunk ``chunk_index`` (``[i*chunk, (i+1)*chunk)``)."""
    el = plan.element
    c_lo, c_hi = chunk_index * chunk, (chunk_index + 1) * chunk
    lo, hi = max(plan.lo, c_lo), min(plan.hi, c_hi)
    rng = rng_for(seed, "chunk", plan.index, el.name, chunk_index)
    if plan.ordered_times is not None:
        assert plan.ordered_dst is not None and plan.ordered_port is not None
        sel = (plan.ordered_times >= c_lo) & (plan.ordered_times < c_hi)
        t0 = plan.ordered_times[sel]
        dst = plan.ordered_dst[sel]
        dport = plan.ordered_port[sel]
        n = len(t0)
        src = plan.attacker.repeat(n) if plan.attacker is not None else plan.src.draw(rng, n)
    else:
        instant = plan.hi <= plan.lo and c_lo <= plan.lo < c_hi
        if hi <= lo and not instant:
            return empty_sessions()
        if plan.chunk_counts is not None:
            n = plan.chunk_counts.get(chunk_index, 0)
        else:
            n = int(rng.poisson((el.rate or 0.0) * _expected_weight(lo, hi, el.rhythm)))
        t0 = np.full(n, plan.lo) if instant else _draw_times(rng, n, lo, hi, el.rhythm)
        src = plan.src.draw(rng, n, plan.source_pool)
        dst = plan.dst.draw(rng, n)
        if el.kind == "internet_noise":
            dport = _noise_ports(rng, el.ports, n)
        else:
            dport = np.array(el.ports, dtype=np.int32)[rng.integers(0, len(el.ports), size=n)]
    return _fill(el, plan.index, rng, t0, src, dst, dport.astype(np.int32))


def _noise_ports(rng: np.random.Generator, ports: Sequence[int], n: int) -> npt.NDArray[np.int32]:
    weights = np.array([_NOISE_PORT_WEIGHTS.get(p, 2) for p in ports], dtype=float)
    return np.array(ports, dtype=np.int32)[rng.choice(len(ports), size=n, p=weights / weights.sum())]


def _span_draw(
    rng: np.random.Generator, span: tuple[int, int] | None, default: tuple[int, int], n: int
) -> npt.NDArray[np.int64]:
    lo, hi = span or default
    return rng.integers(lo, hi + 1, size=n, dtype=np.int64)


def _fill(
    el: Element,
    index: int,
    rng: np.random.Generator,
    t0: npt.NDArray[np.float64],
    src: npt.NDArray[np.uint32],
    dst: npt.NDArray[np.uint32],
    dport: npt.NDArray[np.int32],
) -> Sessions:
    n = len(t0)
    lo_port, hi_port = EPHEMERAL[el.client]
    if el.src_port is not None:
        sport = np.full(n, el.src_port, dtype=np.int32)
    elif el.kind == "port_scan":
        sport = np.full(n, int(rng.integers(lo_port, hi_port + 1)), dtype=np.int32)  # one socket, as nmap does
    else:
        sport = rng.integers(lo_port, hi_port + 1, size=n).astype(np.int32)
    if el.protocol == 1:
        sport[:] = 0
    tcp = el.protocol == 6
    mode = FULL
    req_flags = np.full(n, -1, dtype=np.int16)
    if el.kind in ("port_scan", "sweep", "internet_noise"):
        mode = PROBE
        req_p = _span_draw(rng, el.packets, (1, 1), n)
        req_b = req_p * _span_draw(rng, None, (40, 44) if tcp else (28, 60), n)
        resp_p = _span_draw(rng, el.response_packets, (1, 1), n)
        resp_b = resp_p * 40
        dur = np.zeros(n)
    elif el.kind == "stragglers":
        mode = ONEWAY
        # late packets from the server's port back to the client's ephemeral port, after the close
        src, dst, sport, dport = dst, src, dport, sport
        req_p = _span_draw(rng, el.packets, (1, 2), n)
        req_b = req_p * 40 if el.bytes is None else _span_draw(rng, el.bytes, (40, 80), n)
        resp_p = np.zeros(n, dtype=np.int64)
        resp_b = np.zeros(n, dtype=np.int64)
        req_flags = np.where(rng.uniform(size=n) < 0.5, FIN, RST).astype(np.int16) if tcp else req_flags
        dur = rng.uniform(0, 2, size=n)
    else:
        if el.protocol == 1:
            dflt_req, dflt_resp, per_req, per_resp = (4, 4), (4, 4), (84, 84), (84, 84)
        elif el.kind == "brute_force":
            dflt_req, dflt_resp, per_req, per_resp = (14, 24), (12, 22), (150, 260), (180, 320)
        elif tcp:
            dflt_req, dflt_resp, per_req, per_resp = (4, 30), (4, 60), (60, 420), (60, 1400)
        else:
            dflt_req, dflt_resp, per_req, per_resp = (1, 2), (1, 2), (60, 120), (80, 500)
        req_p = _span_draw(rng, el.packets, dflt_req, n)
        resp_p = _span_draw(rng, el.response_packets, dflt_resp, n)
        req_b = (
            _span_draw(rng, el.bytes, (0, 0), n) if el.bytes is not None else req_p * _span_draw(rng, None, per_req, n)
        )
        resp_b = (
            _span_draw(rng, el.response_bytes, (0, 0), n)
            if el.response_bytes is not None
            else resp_p * _span_draw(rng, None, per_resp, n)
        )
        lo_s, hi_s = el.session_seconds or ((1.0, 6.0) if el.kind == "brute_force" else (0.05, 20.0))
        dur = rng.uniform(lo_s, hi_s, size=n) if hi_s > lo_s else np.full(n, lo_s)
    explicit = np.full(n, el.packets is not None, dtype=bool)
    delay = np.full(n, el.response_delay) if el.response_delay is not None else rng.uniform(0.0005, 0.05, size=n)
    return Sessions(
        element=np.full(n, index, dtype=np.int32),
        src=src.astype(np.uint32),
        dst=dst.astype(np.uint32),
        sport=sport.astype(np.int32),
        dport=dport.astype(np.int32),
        protocol=np.full(n, el.protocol, dtype=np.int32),
        mode=np.full(n, mode, dtype=np.int8),
        t0=t0.astype(np.float64),
        duration=dur.astype(np.float64),
        req_packets=req_p.astype(np.int64),
        req_bytes=req_b.astype(np.int64),
        resp_packets=resp_p.astype(np.int64),
        resp_bytes=resp_b.astype(np.int64),
        resp_delay=delay.astype(np.float64),
        explicit=explicit,
        req_flags=req_flags,
    )

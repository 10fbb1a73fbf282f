"""Sessions and verdicts → what each logging interface sees → flow-log records, all in numpy/Arrow batches.

Three steps, each vectorised over a whole chunk of sessions:

1. *Views.* Every interface on a session's path logs its own view: the client's egress request, the
   server's ingress request, the server's egress response, the client's ingress response (and the NAT
   gateway's four records when the path crosses one). A view exists only if the packets reach that
   interface; its action is REJECT when a filter on that interface's side dropped them.
2. *Pieces.* A view's packets are spread over 60-second capture windows: the first window gets the
   opening flags (SYN, SYN-ACK), the last the closing ones (FIN), as AWS ORs flags over a window.
3. *Records.* For each flow log, the pieces of the interfaces it covers, filtered by its traffic type,
   are summed per (interface, 5-tuple, direction, action, aggregation window); quiet interfaces get a
   NODATA row per window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vpcflow.simulate import addr
from vpcflow.simulate.generators import FIN, FULL, ONEWAY, PROBE, RST, SYN, SYN_ACK, Sessions
from vpcflow.simulate.topology import FlowLogSpec, Interface, Topology
from vpcflow.simulate.verdict import NO_ROUTE, UNREACHABLE, VIA_NAT, Verdicts

CAPTURE = 60  # seconds: the finest capture window; 600-second logs sum ten of them
INGRESS, EGRESS = 0, 1
REQUEST, RESPONSE, STRAGGLER = 0, 1, 2
PACKET_KINDS = ("request", "response", "straggler", "nodata")
# traffic-path codes (egress only): 1 same VPC (NAT gateways included), 2 internet gateway, 8 IGW on Nitro
PATH_SAME_VPC, PATH_IGW, PATH_IGW_NITRO = 1, 2, 8

VIEW_DTYPES: dict[str, type[np.generic]] = {
    "eni": np.int32,
    "direction": np.int8,
    "src": np.uint32,
    "dst": np.uint32,
    "pkt_src": np.uint32,
    "pkt_dst": np.uint32,
    "sport": np.int32,
    "dport": np.int32,
    "protocol": np.int32,
    "packets": np.int64,
    "bytes": np.int64,
    "t_first": np.float64,
    "t_last": np.float64,
    "flags_first": np.int16,
    "flags_last": np.int16,
    "reject": np.bool_,
    "traffic_path": np.int8,
    "element": np.int32,
    "kind": np.int8,
    "blocker": np.int32,
}
VIEW_FIELDS = tuple(VIEW_DTYPES)


@dataclass
class Interfaces:
    """The topology's interfaces as arrays, so an address column maps to interface indexes in one call."""

    items: list[Interface]
    sorted_ips: npt.NDArray[np.uint32]
    order: npt.NDArray[np.int32]  # the interface index of each sorted address

    @staticmethod
    def of(topo: Topology) -> Interfaces:
        """Every address an interface answers to (primary and secondary) maps to that interface."""
        items = list(topo.interfaces.values())
        index = {e.id: i for i, e in enumerate(items)}
        pairs = sorted((ip, index[e.id]) for ip, e in topo.by_ip.items())
        ips = np.array([p[0] for p in pairs], dtype=np.uint32)
        owner = np.array([p[1] for p in pairs], dtype=np.int32)
        return Interfaces(items, ips, owner)

    def lookup(self, ips: npt.NDArray[np.uint32]) -> npt.NDArray[np.int32]:
        """Interface index per address, -1 where the address is no interface's."""
        if not len(self.items):
            return np.full(len(ips), -1, dtype=np.int32)
        pos = np.searchsorted(self.sorted_ips, ips)
        pos = np.minimum(pos, len(self.sorted_ips) - 1)
        hit = self.sorted_ips[pos] == ips
        return np.where(hit, self.order[pos], -1).astype(np.int32)


# ----------------------------------------------------------------------------------------------------
# 1. views


def _shape(
    s: Sessions, v: Verdicts, listening: npt.NDArray[np.uint64]
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    npt.NDArray[np.int16],
    npt.NDArray[np.int16],
    npt.NDArray[np.int16],
    npt.NDArray[np.int16],
    npt.NDArray[np.bool_],
    npt.NDArray[np.bool_],
    npt.NDArray[np.bool_],
]:
    """Packets, duration and flags as the verdict shapes them: a blocked SYN is retried, a probe answered."""
    via_nat = v.path == VIA_NAT
    req_ok = v.req_c & v.req_s & (~via_nat | (v.nat_req_in & v.nat_req_out)) & (v.path != NO_ROUTE)
    resp_ok = v.resp_s & v.resp_c & (~via_nat | (v.nat_resp_in & v.nat_resp_out))
    tcp = s.protocol == 6
    full, probe, oneway = s.mode == FULL, s.mode == PROBE, s.mode == ONEWAY
    key = (s.dst.astype(np.uint64) << np.uint64(16)) | s.dport.astype(np.uint64)
    open_port = np.isin(key, listening) if len(listening) else np.zeros(len(s), dtype=bool)
    has_resp = req_ok & (full | (probe & (tcp | open_port)))

    req_p, req_b = s.req_packets.copy(), s.req_bytes.copy()
    resp_p, resp_b = s.resp_packets.copy(), s.resp_bytes.copy()
    dur = s.duration.copy()
    n = len(s)
    zeros = np.zeros(n, dtype=np.int16)
    f_req_first, f_req_last = zeros.copy(), zeros.copy()
    f_resp_first, f_resp_last = zeros.copy(), zeros.copy()

    # TCP sessions whose handshake never completes: the client retries its SYN (and the server its
    # SYN-ACK when only the response is dropped) with exponential back-off: 1, 3, 7 ... seconds.
    retries = s.sport.astype(np.int64) % 3 + 1  # 1-3 retries, varying from connection to connection
    stalled = full & tcp & ~(req_ok & resp_ok) & ~s.explicit
    req_p = np.where(stalled, 1 + retries, req_p)
    req_b = np.where(stalled, (1 + retries) * 60, req_b)
    resp_p = np.where(stalled & has_resp, 1 + retries, resp_p)
    resp_b = np.where(stalled & has_resp, (1 + retries) * 60, resp_b)
    dur = np.where(stalled, (2.0**retries) - 1.0, dur)
    stalled_any = full & tcp & ~(req_ok & resp_ok)
    f_req_first = np.where(full & tcp, SYN, f_req_first)
    f_req_last = np.where(full & tcp & ~stalled_any, FIN, f_req_last)
    f_resp_first = np.where(full & tcp, SYN_ACK, f_resp_first)
    f_resp_last = np.where(full & tcp & ~stalled_any, FIN, f_resp_last)

    # probes: a SYN; an open port answers SYN-ACK (and the scanner resets), a closed one RST
    answered_open = probe & tcp & has_resp & open_port
    req_p = np.where(answered_open & ~s.explicit, req_p + 1, req_p)
    req_b = np.where(answered_open & ~s.explicit, req_b + 40, req_b)
    f_req_first = np.where(probe & tcp, SYN, f_req_first)
    f_req_last = np.where(answered_open, RST, f_req_last)
    f_resp_first = np.where(probe & tcp, np.where(open_port, SYN_ACK, RST), f_resp_first)

    f_req_first = np.where(oneway & tcp, s.req_flags, f_req_first).astype(np.int16)
    return (
        req_p,
        req_b,
        resp_p,
        resp_b,
        dur,
        f_req_first,
        f_req_last,
        f_resp_first,
        f_resp_last,
        req_ok,
        resp_ok,
        has_resp,
    )


def build_views(
    s: Sessions, v: Verdicts, ifaces: Interfaces, nat_ifaces: list[Interface], listening: npt.NDArray[np.uint64]
) -> dict[str, npt.NDArray[Any]]:
    """Every record-to-be of every interface on every session's path, before windowing."""
    req_p, req_b, resp_p, resp_b, dur, frf, frl, fsf, fsl, _req_ok, _resp_ok, has_resp = _shape(s, v, listening)
    client = ifaces.lookup(s.src)
    server = ifaces.lookup(s.dst)
    nat_idx = np.full(len(s), -1, dtype=np.int32)
    if nat_ifaces:
        nat_map = np.array([ifaces.items.index(n) for n in nat_ifaces], dtype=np.int32)
        nat_idx = np.where(v.nat >= 0, nat_map[np.maximum(v.nat, 0)], -1).astype(np.int32)
    nat_ip = np.zeros(len(s), dtype=np.uint32)
    if nat_ifaces:
        ips = np.array([n.ip for n in nat_ifaces], dtype=np.uint32)
        nat_ip = np.where(v.nat >= 0, ips[np.maximum(v.nat, 0)], 0).astype(np.uint32)
    via_nat = v.path == VIA_NAT
    direct = ~via_nat
    reachable = v.path != UNREACHABLE
    oneway = s.mode == ONEWAY
    t_req0 = s.t0
    t_req1 = s.t0 + dur
    t_resp0 = s.t0 + s.resp_delay
    t_resp1 = np.maximum(t_req1, t_resp0)  # the last reply leaves with (or just after) the last request
    same_vpc_server = server >= 0
    path_out = np.where(
        via_nat | same_vpc_server | (client >= 0) & (server >= 0), PATH_SAME_VPC, PATH_IGW_NITRO
    ).astype(np.int8)
    req_kind = np.where(oneway, STRAGGLER, REQUEST).astype(np.int8)

    parts: list[dict[str, npt.NDArray[Any]]] = []

    def add(
        mask: npt.NDArray[np.bool_],
        eni: npt.NDArray[np.int32],
        direction: int,
        src: npt.NDArray[np.uint32],
        dst: npt.NDArray[np.uint32],
        pkt_src: npt.NDArray[np.uint32],
        pkt_dst: npt.NDArray[np.uint32],
        response: bool,
        reject: npt.NDArray[np.bool_],
        traffic_path: npt.NDArray[np.int8] | int,
    ) -> None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        tp = np.broadcast_to(np.asarray(traffic_path, dtype=np.int8), mask.shape)
        parts.append(
            {
                "eni": eni[idx],
                "direction": np.full(len(idx), direction, dtype=np.int8),
                "src": src[idx],
                "dst": dst[idx],
                "pkt_src": pkt_src[idx],
                "pkt_dst": pkt_dst[idx],
                "sport": (s.dport if response else s.sport)[idx],
                "dport": (s.sport if response else s.dport)[idx],
                "protocol": s.protocol[idx],
                "packets": (resp_p if response else req_p)[idx],
                "bytes": (resp_b if response else req_b)[idx],
                "t_first": (t_resp0 if response else t_req0)[idx],
                "t_last": (t_resp1 if response else t_req1)[idx],
                "flags_first": (fsf if response else frf)[idx],
                "flags_last": (fsl if response else frl)[idx],
                "reject": reject[idx],
                "traffic_path": (tp if direction == EGRESS else np.full(mask.shape, -1, dtype=np.int8))[idx],
                "element": s.element[idx],
                "kind": (np.full(len(s), RESPONSE, dtype=np.int8) if response else req_kind)[idx],
                "blocker": (v.resp_blocker if response else v.req_blocker)[idx],
            }
        )

    has_client, has_server = client >= 0, server >= 0
    # the client's egress request (an ENI always logs what it sends, even if nothing routes it further)
    add(has_client & reachable, client, EGRESS, s.src, s.dst, s.src, s.dst, False, ~v.req_c, path_out)
    # direct paths: the server's ingress request, its egress response, the client's ingress response
    add(direct & has_server & v.req_c & reachable, server, INGRESS, s.src, s.dst, s.src, s.dst, False, ~v.req_s, -1)
    add(direct & has_server & has_resp, server, EGRESS, s.dst, s.src, s.dst, s.src, True, ~v.resp_s, path_out)
    add(direct & has_client & has_resp & v.resp_s, client, INGRESS, s.dst, s.src, s.dst, s.src, True, ~v.resp_c, -1)
    # through a NAT gateway: its interface logs the private leg with pkt-* naming the internet host
    at_nat = via_nat & (nat_idx >= 0)
    add(at_nat & v.req_c, nat_idx, INGRESS, s.src, nat_ip, s.src, s.dst, False, ~v.nat_req_in, -1)
    add(at_nat & v.req_c & v.nat_req_in, nat_idx, EGRESS, nat_ip, s.dst, nat_ip, s.dst, False, ~v.nat_req_out, PATH_IGW)
    add(at_nat & has_resp, nat_idx, INGRESS, s.dst, nat_ip, s.dst, nat_ip, True, ~v.nat_resp_in, -1)
    add(
        at_nat & has_resp & v.nat_resp_in,
        nat_idx,
        EGRESS,
        nat_ip,
        s.src,
        s.dst,
        s.src,
        True,
        ~v.nat_resp_out,
        PATH_SAME_VPC,
    )
    add(
        at_nat & has_client & has_resp & v.nat_resp_in & v.nat_resp_out,
        client,
        INGRESS,
        s.dst,
        s.src,
        s.dst,
        s.src,
        True,
        ~v.resp_c,
        -1,
    )
    if not parts:
        return {k: np.zeros(0, dtype=t) for k, t in VIEW_DTYPES.items()}
    return {k: np.concatenate([p[k] for p in parts]) for k in VIEW_FIELDS}


# ----------------------------------------------------------------------------------------------------
# 2. pieces: one per view per 60-second capture window


def split_windows(views: dict[str, npt.NDArray[Any]]) -> dict[str, npt.NDArray[Any]]:
    """Spread each view's packets over the capture windows it spans; first and last get the flags."""
    packets = views["packets"].astype(np.int64)
    keep = packets > 0
    views = {k: a[keep] for k, a in views.items()}
    packets = packets[keep]
    t_first = views["t_first"].astype(np.float64)
    t_last = np.where(packets > 1, views["t_last"].astype(np.float64), t_first)
    w_first = np.floor(t_first / CAPTURE).astype(np.int64)
    w_last = np.floor(t_last / CAPTURE).astype(np.int64)
    k = w_last - w_first + 1
    rep = np.repeat(np.arange(len(k)), k)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
    window = w_first[rep] + offset
    first = offset == 0
    last = offset == (k[rep] - 1)
    lo = np.maximum(t_first[rep], window * CAPTURE)
    hi = np.minimum(t_last[rep], window * CAPTURE + (CAPTURE - 1e-6))
    span = np.maximum(t_last - t_first, 1e-9)[rep]
    frac_hi = np.where(last, 1.0, ((window + 1) * CAPTURE - t_first[rep]) / span)
    frac_lo = np.where(first, 0.0, (lo - t_first[rep]) / span)
    p = packets[rep]
    fixed = np.where(k[rep] >= 2, 2, p)  # first and last piece get one packet each
    extra = p - fixed
    alloc = np.floor(extra * frac_hi).astype(np.int64) - np.floor(extra * frac_lo).astype(np.int64)
    pk = alloc + np.where((first | last) & (k[rep] >= 2), 1, 0) + np.where(k[rep] < 2, fixed, 0)
    b = views["bytes"].astype(np.int64)[rep]
    cum_hi = np.cumsum(pk)
    start_of_view = np.repeat(np.cumsum(packets) - packets, k)
    before = cum_hi - pk - start_of_view
    total_before = np.floor(b * before / p).astype(np.int64)
    total_after = np.floor(b * (before + pk) / p).astype(np.int64)
    flags = np.where(first, views["flags_first"][rep], 0) | np.where(last, views["flags_last"][rep], 0)
    out = {
        name: views[name][rep] for name in VIEW_FIELDS if name not in ("t_first", "t_last", "flags_first", "flags_last")
    }
    out.update(
        packets=pk,
        bytes=total_after - total_before,
        start=np.floor(lo).astype(np.int64),
        end=np.floor(hi).astype(np.int64),
        tcp_flags=flags.astype(np.int32),
        window=window,
    )
    nonzero = pk > 0
    return {name: a[nonzero] for name, a in out.items()}


# ----------------------------------------------------------------------------------------------------
# 3. records of one flow log


def intervals(flow_log: FlowLogSpec, nitro: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Each interface's aggregation interval: the flow log's, but never over 60 s on a Nitro instance."""
    return np.where(nitro, min(flow_log.interval, CAPTURE), flow_log.interval).astype(np.int64)


def aggregate(
    pieces: dict[str, npt.NDArray[Any]],
    flow_log: FlowLogSpec,
    covered: npt.NDArray[np.bool_],
    nitro: npt.NDArray[np.bool_] | None = None,
) -> pa.Table:
    """The flow log's records: its interfaces' pieces summed per 5-tuple, direction, action and window.

    The eleven grouping fields are packed into four integers first: hashing four int64 keys is several
    times faster than eleven columns, and unpacking them afterwards is exact.
    """
    eni = pieces["eni"].astype(np.int64)
    mask = covered[eni] if len(eni) else np.zeros(0, dtype=bool)
    if flow_log.traffic_type == "ACCEPT":
        mask &= ~pieces["reject"].astype(bool)
    elif flow_log.traffic_type == "REJECT":
        mask &= pieces["reject"].astype(bool)
    c = {k: a[mask] for k, a in pieces.items()}
    per_eni = intervals(flow_log, nitro if nitro is not None else np.zeros(len(covered), dtype=bool))
    agg = c["window"] * CAPTURE // per_eni[c["eni"].astype(np.int64)]
    base = int(agg.min()) if len(agg) else 0
    span = int(agg.max()) - base + 1 if len(agg) else 1
    k1 = ((c["eni"].astype(np.int64) * 2 + c["direction"]) * 2 + c["reject"]) * 256 + c["protocol"]
    key_a = k1 * span + (agg - base)
    key_b = ((c["src"].astype(np.uint64) << np.uint64(32)) | c["dst"].astype(np.uint64)).view(np.int64)
    key_c = ((c["pkt_src"].astype(np.uint64) << np.uint64(32)) | c["pkt_dst"].astype(np.uint64)).view(np.int64)
    key_d = (c["sport"].astype(np.int64) << 16) | c["dport"].astype(np.int64)
    # Most pieces are alone in their group: find the few that share a key (a 64-bit hash, then an exact
    # group-by on just those), which costs a sort instead of hashing every row in a group-by.
    h = (
        (key_a.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        ^ (key_b.view(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F))
        ^ (key_c.view(np.uint64) * np.uint64(0x165667B19E3779F9))
        ^ (key_d.view(np.uint64) * np.uint64(0x27D4EB2F165667C5))
    )
    ordered = np.sort(h)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    shared = np.isin(h, repeated) if len(repeated) else np.zeros(len(h), dtype=bool)
    alone = ~shared
    flags = c["tcp_flags"]
    single = {
        "a": key_a[alone],
        "b": key_b[alone],
        "c": key_c[alone],
        "d": key_d[alone],
        "packets_sum": c["packets"][alone],
        "bytes_sum": c["bytes"][alone],
        "start_min": c["start"][alone],
        "end_max": c["end"][alone],
        "flags": flags[alone],
        "traffic_path_max": c["traffic_path"][alone],
        "element_min": c["element"][alone],
        "kind_min": c["kind"][alone],
        "blocker_max": c["blocker"][alone],
    }
    table = pa.table(
        {
            "a": key_a[shared],
            "b": key_b[shared],
            "c": key_c[shared],
            "d": key_d[shared],
            "packets": c["packets"][shared],
            "bytes": c["bytes"][shared],
            "start": c["start"][shared],
            "end": c["end"][shared],
            "f1": flags[shared] & 1,
            "f2": flags[shared] & 2,
            "f4": flags[shared] & 4,
            "f16": flags[shared] & 16,
            "traffic_path": c["traffic_path"][shared],
            "element": c["element"][shared],
            "kind": c["kind"][shared],
            "blocker": c["blocker"][shared],
        }
    )
    grouped = table.group_by(["a", "b", "c", "d"], use_threads=False).aggregate(
        [
            ("packets", "sum"),
            ("bytes", "sum"),
            ("start", "min"),
            ("end", "max"),
            ("f1", "max"),
            ("f2", "max"),
            ("f4", "max"),
            ("f16", "max"),
            ("traffic_path", "max"),
            ("element", "min"),
            ("kind", "min"),
            ("blocker", "max"),
        ]
    )
    merged_flags = (
        grouped["f1_max"].to_numpy()
        | grouped["f2_max"].to_numpy()
        | grouped["f4_max"].to_numpy()
        | grouped["f16_max"].to_numpy()
    )
    g = {
        name: np.concatenate([single[name], grouped[name].to_numpy().astype(single[name].dtype)])
        for name in single
        if name != "flags"
    }
    g["flags"] = np.concatenate([single["flags"], merged_flags.astype(single["flags"].dtype)])
    a = g["a"]
    b = g["b"].view(np.uint64)
    cc = g["c"].view(np.uint64)
    d = g["d"]
    k1 = a // span
    low32 = np.uint64(0xFFFFFFFF)
    flags_or = g["flags"].astype(np.int32)
    return pa.table(
        {
            "eni": k1 // 1024,
            "direction": (k1 // 512) % 2,
            "reject": ((k1 // 256) % 2).astype(bool),
            "protocol": (k1 % 256).astype(np.int32),
            "agg": a % span + base,
            "src": (b >> np.uint64(32)).astype(np.uint32),
            "dst": (b & low32).astype(np.uint32),
            "pkt_src": (cc >> np.uint64(32)).astype(np.uint32),
            "pkt_dst": (cc & low32).astype(np.uint32),
            "sport": (d >> 16).astype(np.int32),
            "dport": (d & 0xFFFF).astype(np.int32),
            "packets": g["packets_sum"],
            "bytes": g["bytes_sum"],
            "start": g["start_min"],
            "end": g["end_max"],
            "tcp_flags": flags_or,
            "traffic_path": g["traffic_path_max"],
            "element": g["element_min"],
            "kind": g["kind_min"],
            "blocker": g["blocker_max"],
        }
    )


def nodata(
    active: npt.NDArray[np.int64],
    covered_idx: npt.NDArray[np.int64],
    flow_log: FlowLogSpec,
    lo: float,
    hi: float,
    n_ifaces: int,
    nitro: npt.NDArray[np.bool_] | None = None,
) -> pa.Table:
    """A NODATA row per covered interface per aggregation window of [lo, hi) with no traffic at all.

    ``active`` holds ``window60 * n_ifaces + eni`` for every piece of the chunk (any action). Each row
    carries its interface's interval (60 s on Nitro, else the flow log's).
    """
    per_eni = intervals(flow_log, nitro if nitro is not None else np.zeros(n_ifaces, dtype=bool))
    parts = []
    for interval in np.unique(per_eni[covered_idx]).tolist() if len(covered_idx) else []:
        group = covered_idx[per_eni[covered_idx] == interval]
        windows = np.arange(int(np.ceil(lo / interval)), int(np.ceil(hi / interval)), dtype=np.int64)
        if not len(windows):
            continue
        busy = np.unique((active // n_ifaces) * CAPTURE // interval * n_ifaces + active % n_ifaces)
        grid = (windows[:, None] * n_ifaces + group[None, :]).reshape(-1)
        quiet = grid[~np.isin(grid, busy)]
        parts.append((quiet % n_ifaces, quiet // n_ifaces, np.full(len(quiet), interval, dtype=np.int64)))
    if not parts:
        return pa.table({"eni": np.zeros(0, np.int64), "agg": np.zeros(0, np.int64), "interval": np.zeros(0, np.int64)})
    return pa.table(
        {
            "eni": np.concatenate([p[0] for p in parts]),
            "agg": np.concatenate([p[1] for p in parts]),
            "interval": np.concatenate([p[2] for p in parts]),
        }
    )


# ----------------------------------------------------------------------------------------------------
# canonical columns


def interface_columns(ifaces: Interfaces) -> dict[str, pa.Array]:
    """Per-interface metadata as Arrow arrays, to ``take`` by interface index."""
    items = ifaces.items

    def col(values: list[str | None]) -> pa.Array:
        return pa.array(values, type=pa.string())

    return {
        "account_id": col([i.account_id for i in items]),
        "interface_id": col([i.id for i in items]),
        "vpc_id": col([i.vpc_id or None for i in items]),
        "subnet_id": col([i.subnet_id or None for i in items]),
        "instance_id": col([i.instance_id for i in items]),
        "region": col([i.region for i in items]),
        "az_id": col([None if i.az_id == "-" else i.az_id for i in items]),
        "interface_type": col([None if i.interface_type == "interface" else i.interface_type for i in items]),
        "_own_ip": col([i.ip_text for i in items]),
    }


TRUTH_COLUMNS = ("_element", "_kind", "_reject", "_blocker")
ALWAYS = ("interface_id", "start", "end", "action", "log_status", *TRUTH_COLUMNS)
"""Columns every record table has: delivery sorts and splits on them, labels and tallies read them."""


def to_records(
    agg: pa.Table,
    quiet: pa.Table,
    flow_log: FlowLogSpec,
    meta: dict[str, pa.Array],
    version: int,
    columns: set[str] | None = None,
    services: tuple[tuple[str, int, int], ...] = (),
) -> pa.Table:
    """Canonical record columns (catalog names; NULL where AWS writes '-') plus the truth columns.

    Only ``columns`` (default: the flow log's format) and ``ALWAYS`` are built: formatting addresses
    is the costliest step, and a default-format log never needs the packet addresses.
    """
    wanted = set(columns if columns is not None else flow_log.layout.columns) | set(ALWAYS)
    n_ok, n_nd = agg.num_rows, quiet.num_rows
    eni = pa.array(np.concatenate([agg["eni"].to_numpy(), quiet["eni"].to_numpy()]).astype(np.int64))
    quiet_interval = quiet["interval"].to_numpy() if n_nd else np.zeros(0, dtype=np.int64)
    window_start = quiet["agg"].to_numpy() * quiet_interval
    reject = agg["reject"].combine_chunks()

    def ip(name: str) -> pa.Array:
        return pa.concat_arrays([addr.to_text(agg[name].to_numpy()), pa.nulls(n_nd, pa.string())])

    # Every view's own side is its interface's primary address (srcaddr on egress, dstaddr on ingress),
    # so only the other side needs formatting: one pass instead of two.
    cache: dict[str, pa.Array] = {}

    def sides() -> tuple[pa.Array, pa.Array, pa.Array]:
        if not cache:
            egress = agg["direction"].to_numpy() == EGRESS
            foreign = np.where(egress, agg["dst"].to_numpy(), agg["src"].to_numpy())
            cache["foreign"] = addr.to_text(foreign)
            cache["own"] = meta["_own_ip"].take(pa.array(agg["eni"].to_numpy().astype(np.int64)))
            cache["egress"] = pa.array(egress)
        return cache["egress"], cache["own"], cache["foreign"]

    def address(src_side: bool) -> pa.Array:
        egress, own, foreign = sides()
        value = pc.if_else(egress, own, foreign) if src_side else pc.if_else(egress, foreign, own)
        return pa.concat_arrays([value, pa.nulls(n_nd, pa.string())])

    def num(name: str, typ: pa.DataType) -> pa.Array:
        return pa.concat_arrays([agg[name].combine_chunks().cast(typ), pa.nulls(n_nd, typ)])

    def text(ok: pa.Array | str, nd: str | None) -> pa.Array:
        head = ok if isinstance(ok, pa.Array) else pa.repeat(pa.scalar(ok, pa.string()), n_ok)
        return pa.concat_arrays([head, pa.repeat(pa.scalar(nd, pa.string()), n_nd)])

    def traffic_path() -> pa.Array:
        tp = agg["traffic_path"].combine_chunks().cast(pa.int32())
        return pa.concat_arrays(
            [pc.if_else(pc.less(tp, 0), pa.scalar(None, pa.int32()), tp), pa.nulls(n_nd, pa.int32())]
        )

    def direction() -> pa.Array:
        egress = pc.equal(agg["direction"], EGRESS).combine_chunks()
        return text(pc.if_else(egress, "egress", "ingress").cast(pa.string()), None)

    def pad(arr: pa.Array, value: object, typ: pa.DataType) -> pa.Array:
        return pa.concat_arrays([arr.cast(typ), pa.repeat(pa.scalar(value, typ), n_nd)])

    def service(name: str) -> pa.Array:
        """The AWS service whose address range holds the packet address, as the scenario names them."""
        ips = agg[name].to_numpy().astype(np.int64)
        found = np.full(len(ips), -1, dtype=np.int64)
        for i, (_, first, size) in enumerate(services):
            found = np.where((found < 0) & (ips >= first) & (ips < first + size), i, found)
        words = pa.array([s[0] for s in services] or [""], pa.string())
        named = words.take(pa.array(np.maximum(found, 0))) if len(ips) else pa.array([], pa.string())
        named = pc.if_else(pa.array(found >= 0), named, pa.scalar(None, pa.string()))
        return pa.concat_arrays([named, pa.nulls(n_nd, pa.string())])

    builders: dict[str, Any] = {
        "pkt_src_aws_service": lambda: service("pkt_src"),
        "pkt_dst_aws_service": lambda: service("pkt_dst"),
        "version": lambda: pa.repeat(pa.scalar(version, pa.int32()), n_ok + n_nd),
        "srcaddr": lambda: address(True),
        "dstaddr": lambda: address(False),
        "pkt_srcaddr": lambda: ip("pkt_src"),
        "pkt_dstaddr": lambda: ip("pkt_dst"),
        "srcport": lambda: num("sport", pa.int32()),
        "dstport": lambda: num("dport", pa.int32()),
        "protocol": lambda: num("protocol", pa.int32()),
        "packets": lambda: num("packets", pa.int64()),
        "bytes": lambda: num("bytes", pa.int64()),
        "tcp_flags": lambda: num("tcp_flags", pa.int32()),
        "start": lambda: pa.concat_arrays(
            [agg["start"].combine_chunks().cast(pa.int64()), pa.array(window_start, pa.int64())]
        ),
        "end": lambda: pa.concat_arrays(
            [agg["end"].combine_chunks().cast(pa.int64()), pa.array(window_start + quiet_interval - 1, pa.int64())]
        ),
        "action": lambda: text(pc.if_else(reject, "REJECT", "ACCEPT").cast(pa.string()), None),
        "log_status": lambda: text("OK", "NODATA"),
        "type": lambda: text("IPv4", None),
        "flow_direction": direction,
        "traffic_path": traffic_path,
        # truth columns (not flow-log fields): which element, which packet, which filter
        "_element": lambda: pad(agg["element"].combine_chunks(), -1, pa.int32()),
        "_kind": lambda: pad(agg["kind"].combine_chunks(), 3, pa.int8()),
        "_reject": lambda: pad(reject, False, pa.bool_()),
        "_blocker": lambda: pad(
            pc.if_else(reject, agg["blocker"].combine_chunks().cast(pa.int32()), pa.scalar(-1, pa.int32())),
            -1,
            pa.int32(),
        ),
    }
    for name, arr in meta.items():
        if not name.startswith("_"):
            builders[name] = lambda arr=arr: arr.take(eni)
    return pa.table({name: build() for name, build in builders.items() if name in wanted})

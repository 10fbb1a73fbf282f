"""Explain benchmark (issues 3 and 10): ``vpcflow explain --store`` over 1 million REJECT records.

The data: a store written through vpcflow's own store writer, holding ``--rejects`` REJECT records
(plus ACCEPTs, a fifth as many, which the pairing query searches) for a three-tier VPC of ``--enis``
interfaces. The REJECTs mix what a real VPC logs: internet scanners against the web tier (SYN, each
scanner keeping its source port), requests blocked between tiers, responses dropped by a stateless ACL
(SYN-ACK to ephemeral ports), post-close FIN/RST, ICMP, and BPA. Records repeat across aggregation
windows, as they do in AWS; ``--distinct`` sets how many distinct tuples there are.

Three measurements, interleaved round by round (the order rotating), each in a fresh process: the
default view (causes, JSON to /dev/null), ``--per-tuple`` (one entry per distinct tuple), and the
baseline, DuckDB's bare GROUP BY of the same tuples over the same store, the floor of any "explain each
tuple once" design. The median wall time and CPU time (user + system, all threads) of each are reported
with the machine's load average, because wall time on a shared machine measures the neighbours too. A
first library run splits the time into the grouping SQL and the Python per tuple.

    .venv/bin/python bench/bench_explain.py --rejects 1000000 --distinct 100000 --runs 5

Every process imports vpcflow from this checkout's ``src`` (put first on PYTHONPATH), not whichever
vpcflow the virtualenv has installed, so a worktree measures its own code.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))


def _env() -> dict[str, str]:
    """The environment of every measured process: this checkout's ``src`` first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    return env


WEB_SUBNET, APP_SUBNET, DB_SUBNET = "subnet-0000000000000000a", "subnet-0000000000000000b", "subnet-0000000000000000c"
VPC = "vpc-00000000000000001"


def _acl(acl_id: str, subnet: str, inbound: list[dict[str, Any]], outbound: list[dict[str, Any]]) -> dict[str, Any]:
    entries = [dict(e, Egress=False) for e in inbound] + [dict(e, Egress=True) for e in outbound]
    entries += [
        {"RuleNumber": 32767, "Egress": eg, "Protocol": "-1", "RuleAction": "deny", "CidrBlock": "0.0.0.0/0"}
        for eg in (False, True)
    ]
    return {
        "NetworkAclId": acl_id,
        "VpcId": VPC,
        "IsDefault": False,
        "Entries": entries,
        "Associations": [{"SubnetId": subnet, "NetworkAclId": acl_id}],
    }


def make_snapshot(enis: int) -> dict[str, Any]:
    """A three-tier VPC: web (public, 443), app (8080 from web), db (5432 from app, ACL mirrored-rule mistake)."""
    per = max(1, enis // 3)
    allow_all = {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "CidrBlock": "0.0.0.0/0"}
    everyone = [{"CidrIp": "0.0.0.0/0"}]
    groups = [
        {
            "GroupId": "sg-web",
            "VpcId": VPC,
            "GroupName": "web",
            "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": everyone}],
            "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": everyone}],
        },
        {
            "GroupId": "sg-app",
            "VpcId": VPC,
            "GroupName": "app",
            "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": "sg-web"}]}
            ],
            "IpPermissionsEgress": [
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": everyone},
                {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": "sg-db"}]},
            ],
        },
        {
            "GroupId": "sg-db",
            "VpcId": VPC,
            "GroupName": "db",
            "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "UserIdGroupPairs": [{"GroupId": "sg-app"}]}
            ],
            "IpPermissionsEgress": [],
        },
    ]
    interfaces = []
    for tier, subnet, sg, net in (
        ("web", WEB_SUBNET, "sg-web", 1),
        ("app", APP_SUBNET, "sg-app", 2),
        ("db", DB_SUBNET, "sg-db", 3),
    ):
        for i in range(per):
            ip = f"10.0.{net}.{10 + i}"
            interfaces.append(
                {
                    "NetworkInterfaceId": f"eni-{tier}{i:013d}",
                    "SubnetId": subnet,
                    "VpcId": VPC,
                    "PrivateIpAddress": ip,
                    "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": ip}],
                    "Groups": [{"GroupId": sg}],
                    "InterfaceType": "interface",
                }
            )
    return {
        "Vpcs": [{"VpcId": VPC, "CidrBlock": "10.0.0.0/16"}],
        "Subnets": [
            {"SubnetId": s, "VpcId": VPC, "CidrBlock": f"10.0.{n}.0/24"}
            for s, n in ((WEB_SUBNET, 1), (APP_SUBNET, 2), (DB_SUBNET, 3))
        ],
        "NetworkInterfaces": interfaces,
        "SecurityGroups": groups,
        "NetworkAcls": [
            _acl("acl-web", WEB_SUBNET, [allow_all], [allow_all]),
            _acl("acl-app", APP_SUBNET, [allow_all], [allow_all]),
            _acl(
                "acl-db",
                DB_SUBNET,
                [
                    {
                        "RuleNumber": 100,
                        "Protocol": "6",
                        "RuleAction": "allow",
                        "CidrBlock": "10.0.2.0/24",
                        "PortRange": {"From": 5432, "To": 5432},
                    }
                ],
                [
                    {
                        "RuleNumber": 100,
                        "Protocol": "6",
                        "RuleAction": "allow",
                        "CidrBlock": "10.0.2.0/24",
                        "PortRange": {"From": 5432, "To": 5432},
                    }
                ],
            ),
        ],
    }


def make_records(rejects: int, distinct: int, enis: int, seed: int = 7) -> pa.Table:
    """``rejects`` REJECTs drawn from ``distinct`` tuples, plus ACCEPTs (a fifth as many)."""
    from vpcflow.records.schema import RECORD_SCHEMA

    rng = np.random.default_rng(seed)
    per = max(1, enis // 3)
    kinds = rng.choice(6, size=distinct, p=[0.55, 0.15, 0.12, 0.1, 0.05, 0.03])
    web = np.array([f"10.0.1.{10 + i}" for i in range(per)])
    app = np.array([f"10.0.2.{10 + i}" for i in range(per)])
    db = np.array([f"10.0.3.{10 + i}" for i in range(per)])
    web_eni = np.array([f"eni-web{i:013d}" for i in range(per)])
    app_eni = np.array([f"eni-app{i:013d}" for i in range(per)])
    db_eni = np.array([f"eni-db{i:013d}" for i in range(per)])
    scanners = np.array([f"{a}.{b}.{c}.{d}" for a, b, c, d in rng.integers(1, 223, size=(5000, 4))])
    ports = np.array([22, 23, 25, 80, 445, 1433, 3306, 3389, 5432, 5900, 6379, 8080, 8443, 9200, 27017])
    n = distinct
    iface = np.empty(n, dtype=object)
    src = np.empty(n, dtype=object)
    dst = np.empty(n, dtype=object)
    sport = rng.integers(32768, 61000, size=n).astype(np.int32)
    dport = np.zeros(n, dtype=np.int32)
    proto = np.full(n, 6, dtype=np.int32)
    flags = np.full(n, 2, dtype=np.int32)
    direction = np.full(n, "ingress", dtype=object)
    reason = np.full(n, None, dtype=object)
    w, a, d = rng.integers(0, per, size=n), rng.integers(0, per, size=n), rng.integers(0, per, size=n)
    s_ix = rng.integers(0, len(scanners), size=n)
    for k in range(6):
        m = kinds == k
        if k == 0:  # internet scanners against the web tier: SYN to closed ports, fixed source port per scanner
            iface[m], src[m], dst[m] = web_eni[w[m]], scanners[s_ix[m]], web[w[m]]
            dport[m] = rng.choice(ports, size=m.sum())
            sport[m] = (40000 + s_ix[m]).astype(np.int32)
        elif k == 1:  # app -> db on a port sg-db does not open
            iface[m], src[m], dst[m] = db_eni[d[m]], app[a[m]], db[d[m]]
            dport[m] = rng.choice(np.array([3306, 6379, 9200]), size=m.sum())
        elif k == 2:  # db's SYN-ACK dropped by acl-db outbound (the mirrored-rule mistake)
            iface[m], src[m], dst[m] = db_eni[d[m]], db[d[m]], app[a[m]]
            dport[m], sport[m] = sport[m], 5432
            flags[m], direction[m] = 18, "egress"
        elif k == 3:  # post-close RST/FIN from db to app
            iface[m], src[m], dst[m] = app_eni[a[m]], db[d[m]], app[a[m]]
            dport[m], sport[m] = sport[m], 5432
            flags[m] = rng.choice(np.array([1, 4]), size=m.sum())
        elif k == 4:  # ICMP probes from the internet
            iface[m], src[m], dst[m] = web_eni[w[m]], scanners[s_ix[m]], web[w[m]]
            proto[m], flags[m], sport[m], dport[m] = 1, 0, 0, 0
        else:  # BPA
            iface[m], src[m], dst[m] = web_eni[w[m]], scanners[s_ix[m]], web[w[m]]
            dport[m], reason[m] = 443, "BPA"
    pick = np.concatenate([np.arange(n), rng.integers(0, n, size=max(0, rejects - n))])[:rejects]
    # ACCEPTs: the app -> db requests whose responses the rejects above answer (pairing), and web traffic.
    acc = rejects // 5
    base = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    start = (base + rng.integers(0, 86400, size=rejects + acc)).astype("datetime64[s]")
    a_ix = pick[rng.integers(0, rejects, size=acc)]
    cols: dict[str, Any] = {
        "version": np.full(rejects + acc, 5, dtype=np.int32),
        "account_id": np.full(rejects + acc, "111122223333", dtype=object),
        "interface_id": np.concatenate([iface[pick], iface[a_ix]]),
        "srcaddr": np.concatenate([src[pick], dst[a_ix]]),
        "dstaddr": np.concatenate([dst[pick], src[a_ix]]),
        "srcport": np.concatenate([sport[pick], dport[a_ix]]),
        "dstport": np.concatenate([dport[pick], sport[a_ix]]),
        "protocol": np.concatenate([proto[pick], proto[a_ix]]),
        "packets": np.ones(rejects + acc, dtype=np.int64),
        "bytes": np.full(rejects + acc, 60, dtype=np.int64),
        "start": start,
        "end": start + np.timedelta64(30, "s"),
        "action": np.array(["REJECT"] * rejects + ["ACCEPT"] * acc, dtype=object),
        "log_status": np.full(rejects + acc, "OK", dtype=object),
        "tcp_flags": np.concatenate([flags[pick], np.full(acc, 2, dtype=np.int32)]),
        "flow_direction": np.concatenate(
            [direction[pick], np.where(direction[a_ix] == "ingress", "egress", "ingress").astype(object)]
        ),
        "reject_reason": np.concatenate([reason[pick], np.full(acc, None, dtype=object)]),
        "source_object": np.full(rejects + acc, "bench://explain", dtype=object),
        "source_line": np.arange(1, rejects + acc + 1, dtype=np.int64),
        "record_type": np.full(rejects + acc, "vpc", dtype=object),
    }
    arrays = []
    for f in RECORD_SCHEMA:
        if f.name in cols:
            values = cols[f.name]
            if f.name in ("start", "end"):
                arrays.append(pa.array(values).cast(f.type))
            else:
                arrays.append(pa.array(values, type=f.type))
        else:
            arrays.append(pa.nulls(rejects + acc, type=f.type))
    return pa.Table.from_arrays(arrays, schema=RECORD_SCHEMA)


def prepare(root: Path, rejects: int, distinct: int, enis: int) -> tuple[Path, Path]:
    from vpcflow.store import Store

    store = root / "store"
    snap = root / "snap.json"
    snap.write_text(json.dumps(make_snapshot(enis)))
    writer = Store(store).writer()
    table = make_records(rejects, distinct, enis)
    for batch in table.to_batches(max_chunksize=250_000):
        writer.add(pa.Table.from_batches([batch]))
    writer.commit([])
    return store, snap


# One measurement in a fresh process: the real command (causes, the default; or --per-tuple), or the
# baseline, DuckDB's bare GROUP BY of the same tuples over the same store.
CLI = r"""
import json, os, resource, sys, time, subprocess
began = time.perf_counter()
proc = subprocess.run([sys.executable, "-m", "vpcflow", "explain", "--store", {store!r}, "--snapshot", {snap!r},
                       "--format", "json", *{extra!r}], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - began
assert proc.returncode == 0, proc.stderr.decode()
child = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({{"seconds": wall, "cpu_seconds": child.ru_utime + child.ru_stime,
                  "max_rss_mb": child.ru_maxrss / 1024, "load_average_1m": os.getloadavg()[0]}}))
"""
BASELINE = r"""
import json, os, resource, time
began = time.perf_counter()
from vpcflow.store import connect
con = connect({store!r})
n = len(con.sql("SELECT interface_id, srcaddr, dstaddr, pkt_srcaddr, pkt_dstaddr, srcport, dstport, protocol, "
                "flow_direction, reject_reason, action, record_type, bit_or(tcp_flags), count(*) FROM rejects "
                "GROUP BY ALL").fetchall())
wall = time.perf_counter() - began
self = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": wall, "cpu_seconds": self.ru_utime + self.ru_stime, "tuples": n,
                  "max_rss_mb": self.ru_maxrss / 1024, "load_average_1m": os.getloadavg()[0]}}))
"""
SPLIT = r"""
import json, time
from vpcflow.explain import explain_causes, explain_relation
from vpcflow.explain.batch import group_tuples
from vpcflow.snapshot import load_snapshot
from vpcflow.store import connect
snap = load_snapshot({snap!r})
began = time.perf_counter()
report = explain_causes(connect({store!r}), snap, "rejects", "flows")
causes = time.perf_counter() - began
began = time.perf_counter()
grouped = group_tuples(connect({store!r}), "rejects", "flows")
sql = time.perf_counter() - began
run = explain_relation(connect({store!r}), snap, "rejects", "flows")
print(json.dumps({{"causes_library_seconds": causes, "grouping_sql_seconds": sql, "causes": len(report.causes),
                  "records": run.records, "distinct": run.distinct, "classes": run.classes,
                  "per_tuple_python_seconds": run.python_seconds}}))
"""
MODES = {"causes": ("cli", ()), "per_tuple": ("cli", ("--per-tuple",)), "duckdb_group_by": ("baseline", ())}


def _measure(mode: str, store: Path, snap: Path) -> dict[str, Any]:
    kind, extra = MODES[mode]
    code = (CLI if kind == "cli" else BASELINE).format(store=str(store), snap=str(snap), extra=list(extra))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env())
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rejects", type=int, default=1_000_000)
    ap.add_argument("--distinct", type=int, default=100_000)
    ap.add_argument("--enis", type=int, default=150)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="vpcflow-bench-explain-"))
    try:
        began = time.perf_counter()
        store, snap = prepare(root, args.rejects, args.distinct, args.enis)
        print(json.dumps({"prepared_seconds": round(time.perf_counter() - began, 2)}), flush=True)
        split = subprocess.run(
            [sys.executable, "-c", SPLIT.format(store=str(store), snap=str(snap))],
            capture_output=True,
            text=True,
            check=True,
            env=_env(),
        )
        first = json.loads(split.stdout.strip().splitlines()[-1])
        print(json.dumps(first), flush=True)
        results: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
        for n in range(args.runs):  # interleaved: each round runs every mode once, the order rotating
            order = list(MODES)[n % len(MODES) :] + list(MODES)[: n % len(MODES)]
            for mode in order:
                results[mode].append(_measure(mode, store, snap))
                print(json.dumps({"run": n + 1, "mode": mode, **results[mode][-1]}), flush=True)
        median = {m: statistics.median(r["seconds"] for r in rs) for m, rs in results.items()}
        base = median["duckdb_group_by"]
        summary = {
            "machine": f"{platform.processor() or platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "source": str(SRC),
            "rejects": args.rejects,
            "distinct_tuples": first["distinct"],
            "decision_classes": first["classes"],
            "causes": first["causes"],
            "runs": args.runs,
            **{f"median_{m}_seconds": round(v, 2) for m, v in median.items()},
            **{
                f"median_{m}_cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in rs), 2)
                for m, rs in results.items()
            },
            "causes_vs_group_by": round(median["causes"] / base, 1),
            "per_tuple_vs_group_by": round(median["per_tuple"] / base, 1),
            "max_rss_mb": {m: round(max(r["max_rss_mb"] for r in rs)) for m, rs in results.items()},
            "load_average_1m": [round(r["load_average_1m"], 1) for rs in results.values() for r in rs],
        }
        print(json.dumps(summary))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    main()

"""Generate the benchmark data: N default-format records of mixed ACCEPT/REJECT traffic.

Writes ``OUT/flows.log.gz`` (one gzip file with a header line) and ``OUT/s3/AWSLogs/...`` (the same
records as 5-minute delivery files named and laid out as AWS delivers them). Addresses, ports and
volumes follow a realistic mix: a few hundred interfaces in 10.0.0.0/16, internet clients and
scanners, web/app/db ports, SSH and RDP probes, ephemeral client ports, NODATA rows.

    python bench/gen_data.py --records 10000000 --out bench/data
"""

from __future__ import annotations

import argparse
import gzip
import io
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vpcflow.records.logformat import DEFAULT_LAYOUT
from vpcflow.sources.s3layout import build_key

ACCOUNT = "123456789012"
REGION = "us-east-1"
FLOW_LOG_ID = "fl-0123456789abcdef0"
DAY_START = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
CHUNK = 1_000_000


def _ip(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> pa.Array:
    parts = [pa.array(x.astype(np.int64)).cast(pa.string()) for x in (a, b, c, d)]
    return pc.binary_join_element_wise(*parts, ".")


def make_chunk(rng: np.random.Generator, n: int, t0: int, t1: int) -> pa.Table:
    """``n`` records whose start times lie in [t0, t1), sorted by start."""
    enis = 400
    eni_idx = rng.integers(0, enis, n)
    local_ip = _ip(np.full(n, 10), np.zeros(n, int), eni_idx // 250, eni_idx % 250 + 4)
    internal_peer = rng.random(n) < 0.35
    peer = pc.if_else(
        pa.array(internal_peer),
        _ip(np.full(n, 10), np.zeros(n, int), rng.integers(0, 2, n), rng.integers(4, 254, n)),
        _ip(rng.integers(1, 224, n), rng.integers(0, 256, n), rng.integers(0, 256, n), rng.integers(1, 255, n)),
    )
    ingress = rng.random(n) < 0.6
    service_ports = np.array([443, 80, 22, 3389, 5432, 3306, 8080, 53, 6379, 445, 23, 1433])
    service_weights = np.array([40, 15, 10, 6, 6, 4, 6, 5, 2, 3, 2, 1], dtype=float)
    service = rng.choice(service_ports, n, p=service_weights / service_weights.sum())
    scan = rng.random(n) < 0.1
    service = np.where(scan, rng.integers(1, 65536, n), service)
    ephemeral = rng.integers(32768, 61000, n)
    srcport = np.where(ingress, ephemeral, service)
    dstport = np.where(ingress, service, ephemeral)
    protocol = rng.choice(np.array([6, 17, 1]), n, p=[0.85, 0.12, 0.03])
    icmp = protocol == 1
    srcport = np.where(icmp, 0, srcport)
    dstport = np.where(icmp, 0, dstport)
    reject = (rng.random(n) < 0.25) | scan
    packets = np.where(reject, rng.integers(1, 4, n), rng.integers(1, 2000, n))
    bytes_ = packets * rng.integers(40, 1500, n)
    start = np.sort(rng.integers(t0, t1, n))
    end = start + rng.integers(0, 60, n)
    ingress_arr = pa.array(ingress)
    nodata = rng.random(n) < 0.002
    nodata_arr = pa.array(nodata)

    def unless_nodata(arr: pa.Array) -> pa.Array:
        return pc.if_else(nodata_arr, pa.scalar("-"), arr.cast(pa.string()))

    columns = {
        "version": pa.array(np.full(n, 2)).cast(pa.string()),
        "account_id": pa.repeat(pa.scalar(ACCOUNT), n),
        "interface_id": pc.binary_join_element_wise("eni-", pa.array(eni_idx + 10**16).cast(pa.string()), ""),
        "srcaddr": unless_nodata(pc.if_else(ingress_arr, peer, local_ip)),
        "dstaddr": unless_nodata(pc.if_else(ingress_arr, local_ip, peer)),
        "srcport": unless_nodata(pa.array(srcport)),
        "dstport": unless_nodata(pa.array(dstport)),
        "protocol": unless_nodata(pa.array(protocol)),
        "packets": unless_nodata(pa.array(packets)),
        "bytes": unless_nodata(pa.array(bytes_)),
        "start": pa.array(start).cast(pa.string()),
        "end": pa.array(end).cast(pa.string()),
        "action": unless_nodata(pa.array(np.where(reject, "REJECT", "ACCEPT"))),
        "log_status": pc.if_else(nodata_arr, pa.scalar("NODATA"), pa.scalar("OK")),
    }
    return pa.table(columns)


def to_text(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(
        table, sink, pacsv.WriteOptions(include_header=False, delimiter=" ", quoting_style="none", batch_size=1 << 16)
    )
    return sink.getvalue()


def generate(records: int, out: Path, seed: int = 7, s3: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    header = (DEFAULT_LAYOUT.header() + "\n").encode()
    chunks = max(1, (records + CHUNK - 1) // CHUNK)
    span = 86_400 // chunks
    with gzip.open(out / "flows.log.gz", "wb", compresslevel=6) as big:
        big.write(header)
        for i in range(chunks):
            n = min(CHUNK, records - i * CHUNK)
            t0 = DAY_START + i * span
            table = make_chunk(rng, n, t0, t0 + span)
            big.write(to_text(table))
            if s3:
                _write_delivery_files(table, out / "s3", header)


def _write_delivery_files(table: pa.Table, root: Path, header: bytes) -> None:
    """One gzip file per 5-minute window of ``end``, named and placed as AWS does."""
    ends = pc.cast(table.column("end"), pa.int64()).to_numpy()
    windows = ends - ends % 300
    for window in np.unique(windows):
        part = table.filter(pa.array(windows == window))
        stamp = datetime.fromtimestamp(int(window), UTC)
        key = build_key(ACCOUNT, REGION, FLOW_LOG_ID, stamp, file_hash=f"{int(window) % 99991:08x}")
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        mode = "ab" if path.exists() else "wb"
        with gzip.open(path, mode, compresslevel=6) as fh:
            if mode == "wb":
                fh.write(header)
            fh.write(to_text(part))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/data"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-s3", action="store_true", help="only the single gzip file")
    args = parser.parse_args()
    began = time.perf_counter()
    generate(args.records, args.out, args.seed, s3=not args.no_s3)
    size = (args.out / "flows.log.gz").stat().st_size
    print(f"{args.records} records, flows.log.gz {size / 1e6:.0f} MB, {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()

"""``vpcflow check``: would this traffic and its response pass? What-if before a change; exit 1 when blocked."""

from __future__ import annotations

import click

from vpcflow.cli.output import emit_json, emit_rows, format_option, resolve_format
from vpcflow.errors import InputError
from vpcflow.explain.whatif import check_flow
from vpcflow.policy import DEFAULT_EPHEMERAL, Flow
from vpcflow.snapshot import load_snapshot, protocol_number
from vpcflow.snapshot.addr import is_ip, parse_ip


def _port_range(text: str) -> tuple[int, int]:
    try:
        lo, _, hi = text.partition("-")
        rng = (int(lo), int(hi or lo))
    except ValueError as err:
        raise InputError(f"--ephemeral-ports {text!r} is not a range such as 1024-65535.") from err
    if not 0 <= rng[0] <= rng[1] <= 65535:
        raise InputError(f"--ephemeral-ports {text!r} is not a range within 0-65535.")
    return rng


@click.command("check")
@click.option(
    "--snapshot",
    "snapshot_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The VPC configuration snapshot (JSON).",
)
@click.option("--from", "src", required=True, help="Source address (the client).")
@click.option("--to", "dst", required=True, help="Destination address (the server).")
@click.option("--protocol", default="tcp", show_default=True, help="tcp, udp, icmp, icmpv6, all or a number.")
@click.option("--port", type=click.IntRange(0, 65535), help="Destination port (TCP/UDP).")
@click.option(
    "--source-port",
    type=click.IntRange(0, 65535),
    help="The client's port; without it the response is judged over --ephemeral-ports.",
)
@click.option(
    "--ephemeral-ports",
    default=f"{DEFAULT_EPHEMERAL[0]}-{DEFAULT_EPHEMERAL[1]}",
    show_default=True,
    help="Client port range for the response (Linux 32768-60999, Windows 49152-65535).",
)
@click.option("--icmp-type", type=int, default=None, help="ICMP type (default 8, echo request).")
@click.option("--icmp-code", type=int, default=None, help="ICMP code (default 0).")
@click.option("--from-interface", default=None, help="Pin the source to this ENI (NAT gateway, appliance).")
@click.option("--to-interface", default=None, help="Pin the destination to this ENI.")
@format_option(choices=("table", "json"))
@click.pass_context
def command(
    ctx: click.Context,
    snapshot_path: str,
    src: str,
    dst: str,
    protocol: str,
    port: int | None,
    source_port: int | None,
    ephemeral_ports: str,
    icmp_type: int | None,
    icmp_code: int | None,
    from_interface: str | None,
    to_interface: str | None,
    fmt: str | None,
) -> None:
    """Would traffic from --from to --to (and its response) pass every security group and network ACL?

    Exit code 0 when it passes both ways, 1 when the request or its response is blocked.
    """
    for name, value in (("--from", src), ("--to", dst)):
        if not is_ip(value):
            raise InputError(f"{name} {value!r} is not an IPv4 or IPv6 address.")
    if parse_ip(src)[0] != parse_ip(dst)[0]:
        raise InputError("--from and --to must both be IPv4 or both IPv6: AWS keeps the two families apart.")
    try:
        proto = protocol_number(protocol)
    except ValueError as err:
        raise InputError(f"--protocol {protocol!r} is not tcp, udp, icmp, icmpv6, all or a protocol number.") from err
    if proto in (6, 17) and port is None:
        raise InputError("--port is required for tcp and udp.")
    if proto in (1, 58):
        icmp_type = icmp_type if icmp_type is not None else (8 if proto == 1 else 128)
        icmp_code = icmp_code if icmp_code is not None else 0
    snap = load_snapshot(snapshot_path)
    for name, eni in (("--from-interface", from_interface), ("--to-interface", to_interface)):
        if eni and eni not in snap.enis:
            raise InputError(f"{name} {eni} is not a network interface of the snapshot.")
    flow = Flow(
        src,
        dst,
        proto,
        source_port if proto in (6, 17) else None,
        port if proto in (6, 17) else None,
        icmp_type=icmp_type if proto in (1, 58) else None,
        icmp_code=icmp_code if proto in (1, 58) else None,
        src_interface=from_interface,
        dst_interface=to_interface,
        ephemeral=_port_range(ephemeral_ports),
    )
    result = check_flow(snap, flow)
    fmt = resolve_format(fmt)
    if fmt == "json":
        emit_json(result.to_json())
    else:
        rows = [
            {
                "packet": part,
                "hop": f"{hop.side} {hop.layer} {hop.direction}",
                "resource": hop.resource_id,
                "interface": hop.interface_id or "",
                "rule": hop.rule,
                "verdict": "allow" if hop.allowed else "BLOCK",
            }
            for part, hops in (("request", result.request), ("response", result.response))
            for hop in hops
        ]
        emit_rows(rows, "table", title=result.message)
        for fix in result.fixes:
            click.echo(f"fix: {fix.summary}\n  {fix.aws_cli}")
    if not result.allowed:
        ctx.exit(1)

"""The VPC configuration snapshot: EC2 describe outputs merged into one JSON object, loaded and indexed."""

from vpcflow.snapshot.model import (
    Eni,
    GroupRef,
    NaclEntry,
    NetworkAcl,
    Route,
    RouteTable,
    SecurityGroup,
    SgPermission,
    Snapshot,
    SnapshotError,
    Subnet,
    Vpc,
    load_snapshot,
    protocol_number,
)

__all__ = [
    "Eni",
    "GroupRef",
    "NaclEntry",
    "NetworkAcl",
    "Route",
    "RouteTable",
    "SecurityGroup",
    "SgPermission",
    "Snapshot",
    "SnapshotError",
    "Subnet",
    "Vpc",
    "load_snapshot",
    "protocol_number",
]

"""The canonical record schema shared by every reader, the store and every engine.

Column names are the AWS field names with ``-`` replaced by ``_`` (the names AWS uses in Parquet
delivery), typed as AWS's Parquet delivery types them; ``start``/``end`` are naive UTC timestamps.
"""

from __future__ import annotations

import pyarrow as pa

from vpcflow.records import catalog

ARROW_TYPES: dict[str, pa.DataType] = {
    "int32": pa.int32(),
    "int64": pa.int64(),
    "string": pa.string(),
    "timestamp": pa.timestamp("ms"),
}

PROVENANCE_FIELDS: tuple[pa.Field, ...] = (
    pa.field("source_object", pa.string()),
    pa.field("source_line", pa.int64()),
    pa.field("record_type", pa.string()),
)
PARTITION_FIELDS: tuple[pa.Field, ...] = (
    pa.field("date", pa.string()),
    pa.field("hour", pa.int32()),
)

FIELD_SCHEMA = pa.schema([pa.field(f.column, ARROW_TYPES[f.type]) for f in catalog.FIELDS])
"""Every catalog field, typed."""

RECORD_SCHEMA = pa.schema([*FIELD_SCHEMA, *PROVENANCE_FIELDS])
"""What the store holds for each record (the partition columns live in the folder names)."""

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_object", pa.string()),
        pa.field("source_line", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("text", pa.string()),
    ]
)

INTEGER_COLUMNS: frozenset[str] = frozenset(f.column for f in catalog.FIELDS if f.type in ("int32", "int64"))
TIMESTAMP_COLUMNS: frozenset[str] = frozenset(f.column for f in catalog.FIELDS if f.type == "timestamp")

MILLISECOND_THRESHOLD = 10**12
"""A start/end at or above this is a 13-digit millisecond value (seen in the wild), not seconds."""

TGW_RESOURCE_TYPES = ("TransitGateway", "TransitGatewayAttachment")

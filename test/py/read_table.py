"""Independent reader for tests: reads an Iceberg table through pyiceberg (not DuckDB) and prints its
schema and rows as JSON with canonical, lossless encodings (decimals and 64-bit ints as strings,
bytes as hex, temporal values as ISO-8601)."""
import argparse
import base64
import datetime
import decimal
import json
import math
import uuid

from pyiceberg.catalog import load_catalog


def encode(value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, decimal.Decimal):
        return format(value, "f")  # plain notation, scale kept (1.000E-7 -> 0.0000001000)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc)
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return str(value)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--uri", required=True)
    p.add_argument("--table", required=True, help="namespace parts and table joined by '.' (or the table alone with --namespace)")
    p.add_argument("--namespace", help="the namespace (parts joined by '.'), when the table name itself holds dots")
    p.add_argument("--s3-endpoint")
    p.add_argument("--s3-key")
    p.add_argument("--s3-secret")
    p.add_argument("--order-by")
    p.add_argument("--snapshot-id", type=int, help="time travel: read this snapshot instead of the current one")
    p.add_argument("--inventory", action="store_true", help="also list snapshots and live data/delete files")
    args = p.parse_args()
    props = {"type": "rest", "uri": args.uri}
    if args.s3_endpoint:
        props.update({"s3.endpoint": args.s3_endpoint, "s3.access-key-id": args.s3_key,
                      "s3.secret-access-key": args.s3_secret, "s3.region": "us-east-1",
                      "s3.path-style-access": "true"})
    catalog = load_catalog("rest", **props)
    identifier = (*args.namespace.split("."), args.table) if args.namespace else tuple(args.table.split("."))
    table = catalog.load_table(identifier)
    if args.snapshot_id is not None and table.snapshot_by_id(args.snapshot_id) is None:
        raise SystemExit(f"snapshot {args.snapshot_id} does not exist in {'.'.join(identifier)} (expired?)")
    arrow = table.scan(snapshot_id=args.snapshot_id).to_arrow()
    rows = arrow.to_pylist()
    if args.order_by:
        rows.sort(key=lambda r: (r[args.order_by] is None, r[args.order_by]))
    schema = [{"name": f.name, "type": str(f.field_type), "required": f.required} for f in table.schema().fields]
    snapshot = table.current_snapshot()
    inventory = None
    if args.inventory:
        files = table.inspect.files().to_pylist()
        inventory = {
            "snapshots": [str(s.snapshot_id) for s in table.snapshots()],
            "data_files": [f["file_path"] for f in files if f["content"] == 0],
            "delete_files": [f["file_path"] for f in files if f["content"] != 0],
        }
    print(json.dumps({
        "inventory": inventory,
        "schema": schema,
        "identifier_fields": sorted(table.schema().identifier_field_names()),
        "snapshot_id": str(snapshot.snapshot_id) if snapshot else None,
        "rows": [{k: encode(v) for k, v in r.items()} for r in rows],
    }))


if __name__ == "__main__":
    main()

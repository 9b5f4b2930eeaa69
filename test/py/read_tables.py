"""Independent reader for tests, like read_table.py but for many tables in one process and for names
that contain dots: each table is given as its identifier's parts (JSON list of lists, e.g.
[["lltest", "src", "a.b"]]). Prints a JSON list, in the same order, of {schema, identifier_fields,
snapshot_id, rows} (read_table.py's encodings) or {error} when a table cannot be loaded."""
import argparse
import json

from pyiceberg.catalog import load_catalog

from read_table import encode


def read(catalog, parts):
    try:
        table = catalog.load_table(tuple(parts))
    except Exception as err:  # noqa: BLE001 - reported to the test, which names the table
        return {"error": f"{type(err).__name__}: {err}"}
    rows = table.scan().to_arrow().to_pylist()
    snapshot = table.current_snapshot()
    return {
        "schema": [{"name": f.name, "type": str(f.field_type), "required": f.required} for f in table.schema().fields],
        "identifier_fields": sorted(table.schema().identifier_field_names()),
        "snapshot_id": str(snapshot.snapshot_id) if snapshot else None,
        "rows": [{k: encode(v) for k, v in r.items()} for r in rows],
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--uri", required=True)
    p.add_argument("--tables", required=True, help="JSON list of identifiers, each a list of namespace parts and the table name")
    args = p.parse_args()
    catalog = load_catalog("rest", type="rest", uri=args.uri)
    print(json.dumps([read(catalog, parts) for parts in json.loads(args.tables)]))


if __name__ == "__main__":
    main()

"""pyiceberg helpers of bench/cdc/run.sh, run with the stack's venv (.stack/venv/bin/python, pyiceberg 0.12):

  save      --uri URI --namespace NS --out FILE   current snapshot id of every table of NS, as JSON
  rollback  --uri URI --namespace NS --saved FILE set every table of NS back to its saved snapshot (reruns the apply
                                                  phase from the same starting point without a new bulk load)
  stats     --uri URI --namespace NS --table T    what a reader of T must open: snapshots, manifests, data and
                                                  delete files, the metadata.json size
  purge     --uri URI --namespace NS              drop every table of NS with its files, then NS itself

Table maintenance is `lakeloader maintain` (Spark), not a helper.
"""
import argparse
import json
import os
import sys
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # bench/: iceberg_catalog
from iceberg_catalog import catalog, namespace_tuple, purge_namespace  # noqa: E402


def save(args):
    cat = catalog(args.uri)
    out = {}
    for ident in cat.list_tables(namespace_tuple(args.namespace)):
        snap = cat.load_table(ident).current_snapshot()
        out[ident[-1]] = snap.snapshot_id if snap else None
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f)
    print(json.dumps(out))


def rollback(args):
    cat = catalog(args.uri)
    with open(args.saved, encoding="utf-8") as f:
        saved = json.load(f)
    done = {}
    for name, snapshot_id in saved.items():
        table = cat.load_table(namespace_tuple(args.namespace) + (name,))
        current = table.current_snapshot()
        if snapshot_id is None or (current and current.snapshot_id == snapshot_id):
            continue
        table.manage_snapshots().set_current_snapshot(snapshot_id=snapshot_id).commit()
        done[name] = snapshot_id
    print(json.dumps({"rolled_back": done}))


def table_stats(table):
    files = table.inspect.files()
    content = files["content"].to_pylist()
    sizes = files["file_size_in_bytes"].to_pylist()
    records = files["record_count"].to_pylist()
    manifests = table.inspect.manifests().num_rows if table.current_snapshot() else 0
    meta = urlparse(table.metadata_location)
    meta_bytes = os.path.getsize(meta.path) if meta.scheme in ("file", "") and os.path.exists(meta.path) else None
    return {
        "snapshots": len(table.snapshots()),
        "manifests": manifests,
        "data_files": sum(1 for c in content if c == 0),
        "delete_files": sum(1 for c in content if c != 0),
        "data_bytes": sum(s for c, s in zip(content, sizes) if c == 0),
        "delete_bytes": sum(s for c, s in zip(content, sizes) if c != 0),
        "deleted_positions": sum(r for c, r in zip(content, records) if c != 0),
        "metadata_json_bytes": meta_bytes,
    }


def stats(args):
    table = catalog(args.uri).load_table(namespace_tuple(args.namespace) + (args.table,))
    print(json.dumps(table_stats(table)))


def purge(args):
    locations = [urlparse(location) for location in purge_namespace(catalog(args.uri), args.namespace)]
    # files no snapshot references any more (rolled-back runs, swapped tables) are not purged: remove the
    # namespace's directory of a local warehouse
    import shutil
    suffix = "/" + "/".join(namespace_tuple(args.namespace))
    for loc in locations:
        parent = os.path.dirname(loc.path.rstrip("/"))
        if loc.scheme == "file" and parent.endswith(suffix) and os.path.isdir(parent):
            shutil.rmtree(parent, ignore_errors=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["save", "rollback", "stats", "purge"])
    p.add_argument("--uri", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--table")
    p.add_argument("--out")
    p.add_argument("--saved")
    args = p.parse_args()
    if args.command == "stats" and not args.table:
        sys.exit("--table is required")
    {"save": save, "rollback": rollback, "stats": stats, "purge": purge}[args.command](args)


if __name__ == "__main__":
    main()

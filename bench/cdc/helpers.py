"""pyiceberg helpers of bench/cdc/run.sh, run with the stack's venv (.stack/venv/bin/python, pyiceberg 0.12):

  save      --uri URI --namespace NS --out FILE   current snapshot id of every table of NS, as JSON
  rollback  --uri URI --namespace NS --saved FILE set every table of NS back to its saved snapshot (reruns the apply
                                                  phase from the same starting point without a new bulk load)
  stats     --uri URI --namespace NS --table T    what a reader of T must open: snapshots, manifests, data and
                                                  delete files, the metadata.json size
  compact   --uri URI --namespace NS --table T    the maintenance DuckDB 1.5 cannot do: rewrite T's live rows into
                                                  fresh data files (no delete files), then expire the older snapshots
  purge     --uri URI --namespace NS              drop every table of NS with its files, then NS itself

pyiceberg 0.12 has no rewrite_data_files: `compact` is a full overwrite with the table's current rows, which
is what a compaction (Spark's rewrite_data_files with delete-file-threshold, rewrite_manifests) achieves for
a table of this size. Run it only while no consumer writes the table (optimistic concurrency: one of the
two commits would fail).
"""
import argparse
import json
import os
import sys
import time
from urllib.parse import urlparse


def catalog(uri):
    from pyiceberg.catalog import load_catalog
    return load_catalog("bench", **{"type": "rest", "uri": uri})


def ns_tuple(ns):
    return tuple(ns.split("."))


def save(args):
    cat = catalog(args.uri)
    out = {}
    for ident in cat.list_tables(ns_tuple(args.namespace)):
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
        table = cat.load_table(ns_tuple(args.namespace) + (name,))
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
    table = catalog(args.uri).load_table(ns_tuple(args.namespace) + (args.table,))
    print(json.dumps(table_stats(table)))


def compact(args):
    cat = catalog(args.uri)
    ident = ns_tuple(args.namespace) + (args.table,)
    table = cat.load_table(ident)
    before = table_stats(table)
    t0 = time.monotonic()
    rows = table.scan().to_arrow()
    table.overwrite(rows)
    rewrite_s = time.monotonic() - t0
    t1 = time.monotonic()
    table = cat.load_table(ident)
    current = table.current_snapshot().snapshot_id
    older = [s.snapshot_id for s in table.snapshots() if s.snapshot_id != current]
    if older:
        table.maintenance.expire_snapshots().by_ids(older).commit()
    expire_s = time.monotonic() - t1
    table = cat.load_table(ident)
    print(json.dumps({"table": args.table, "rows": rows.num_rows, "rewrite_seconds": round(rewrite_s, 2),
                      "expire_seconds": round(expire_s, 2), "before": before, "after": table_stats(table)}))


def purge(args):
    cat = catalog(args.uri)
    ns = ns_tuple(args.namespace)
    try:
        tables = cat.list_tables(ns)
    except Exception as err:  # NoSuchNamespaceError: nothing to purge
        if type(err).__name__ == "NoSuchNamespaceError":
            return
        raise
    for ident in tables:
        cat.purge_table(ident)
    cat.drop_namespace(ns)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["save", "rollback", "stats", "compact", "purge"])
    p.add_argument("--uri", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--table")
    p.add_argument("--out")
    p.add_argument("--saved")
    args = p.parse_args()
    if args.command in ("stats", "compact") and not args.table:
        sys.exit("--table is required")
    {"save": save, "rollback": rollback, "stats": stats, "compact": compact, "purge": purge}[args.command](args)


if __name__ == "__main__":
    main()

"""Helpers of bench/bulk/run.sh, run with the stack's venv (.stack/venv/bin/python, pyiceberg 0.12):

  purge    --uri URI --namespace NS            drop every table of NS with its files, then NS itself
  verify   --uri URI --namespace NS --rows N    check the namespace's one data table (not _cdc_status,
                                               _schema_changes) holds N rows, read by pyiceberg (not DuckDB)
  phases   --log FILE --table SCHEMA.TABLE      time the loader's phases from its JSON debug log
  record   --doc FILE --result FILE             append one result row to docs/benchmarks.md

pyiceberg is an independent reader: the row count comes from the Iceberg manifests the loader committed
(DataScan.count(), which adds up the data files' record counts and would read rows if any delete files
applied), cross-checked against the snapshot summary.
"""
import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # bench/: iceberg_catalog
from iceberg_catalog import catalog, namespace_tuple, purge_namespace  # noqa: E402

RESULTS_BEGIN = "<!-- bench-bulk:results:begin -->"
RESULTS_END = "<!-- bench-bulk:results:end -->"
COLUMNS = ["date (UTC)", "commit", "rows", "workers×chunks", "copy s", "loader s", "rows/s", "ratio",
           "peak RSS MiB", "extract s", "commit s", "other s", "load 1m", "target"]


def purge(args):
    purge_namespace(catalog(args.uri), args.namespace)


def verify(args):
    cat = catalog(args.uri)
    idents = [i for i in cat.list_tables(namespace_tuple(args.namespace)) if not i[-1].startswith("_")]
    if len(idents) != 1:
        sys.exit(f"verify: expected one data table in {args.namespace}, found {['.'.join(i) for i in idents]}")
    args.table = ".".join(idents[0])
    table = cat.load_table(idents[0])
    snap = table.current_snapshot()
    if snap is None:
        sys.exit(f"verify: {args.table} has no snapshot")
    summary = snap.summary.additional_properties if snap.summary else {}
    total = int(summary.get("total-records", -1))
    counted = table.scan().count()
    tasks = list(table.scan().plan_files())
    files = len(tasks)
    size = sum(t.file.file_size_in_bytes for t in tasks)
    print(json.dumps({"table": args.table, "rows": counted, "summary_total_records": total,
                      "data_files": files, "files_bytes": size}))
    if counted != args.rows or total != args.rows:
        sys.exit(f"verify: {args.table} holds {counted} rows (snapshot summary {total}), expected {args.rows}")


def parse_ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def phases(args):
    """Seconds from process start (first log line) to the snapshot, extraction, the Iceberg commit, exit."""
    marks = {}
    first = None
    staged = {}
    with open(args.log, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            ts = entry.get("timestamp")
            if not ts:
                continue
            t = parse_ts(ts)
            first = t if first is None else first
            msg = entry.get("message", "")
            if msg == "consistent snapshot taken":
                marks["snapshot"] = t
            elif msg == "table extracted" and entry.get("table") == args.table:
                marks["extracted"] = t
                staged = {"staged_bytes": entry.get("bytes"), "chunks": entry.get("chunks")}
            elif msg == "table loaded" and entry.get("table") == args.table:
                marks["loaded"] = t
    if not {"snapshot", "extracted", "loaded"} <= marks.keys():
        sys.exit(f"phases: log {args.log} lacks the snapshot/extracted/loaded lines (run the loader with --log-level debug --log-format json)")
    out = {
        "setup_seconds": round(marks["snapshot"] - first, 2),   # after the first log line: connect, discover, catalog
        "extract_seconds": round(marks["extracted"] - marks["snapshot"], 2),
        "commit_seconds": round(marks["loaded"] - marks["extracted"], 2),
        **staged,
    }
    print(json.dumps(out))


def record(args):
    with open(args.result, encoding="utf-8") as f:
        r = json.load(f)
    row = [r["date"], r["commit"], f'{r["rows"]:,}', f'{r["parallel_workers"]}×{r["parallel_tables"]}',
           f'{r["copy_seconds"]:.2f}', f'{r["loader_seconds"]:.2f}', f'{r["rows_per_second"]:,}', f'{r["ratio"]:.2f}',
           f'{r["peak_rss_mib"]:.0f}', f'{r["extract_seconds"]:.1f}', f'{r["commit_seconds"]:.1f}', f'{r["other_seconds"]:.1f}',
           f'{r.get("loadavg_1m_before", 0):.2f}', "met" if r["target_met"] else "missed"]
    line = "| " + " | ".join(row) + " |"
    with open(args.doc, encoding="utf-8") as f:
        text = f.read()
    if RESULTS_BEGIN not in text or RESULTS_END not in text:
        header = "| " + " | ".join(COLUMNS) + " |\n|" + "|".join("---" for _ in COLUMNS) + "|\n"
        text = text.rstrip("\n") + f"\n\n## Results log\n\nAppended by `make bench-bulk` (one row per run).\n\n{RESULTS_BEGIN}\n{header}{RESULTS_END}\n"
    head, rest = text.split(RESULTS_END, 1)
    text = f"{head.rstrip(chr(10))}\n{line}\n{RESULTS_END}{rest}"
    with open(args.doc, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("purge"); s.add_argument("--uri", required=True); s.add_argument("--namespace", required=True)
    s = sub.add_parser("verify"); s.add_argument("--uri", required=True); s.add_argument("--namespace", required=True); s.add_argument("--rows", type=int, required=True)
    s = sub.add_parser("phases"); s.add_argument("--log", required=True); s.add_argument("--table", required=True)
    s = sub.add_parser("record"); s.add_argument("--doc", required=True); s.add_argument("--result", required=True)
    args = p.parse_args()
    {"purge": purge, "verify": verify, "phases": phases, "record": record}[args.cmd](args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""lakeloader's Spark maintenance driver: Iceberg's Spark procedures on tables DuckDB writes.

Started by lib/maintenance/spark-engine.ts with the Python that has pyspark (scripts/stack/spark.sh).
It speaks JSON lines: requests on stdin, replies on file descriptor 3 (Spark and the JVM own stdout and
stderr; stderr carries the logs).

  stdin, first line: settings
    {"catalog": {"uri", "warehouse", "token"?, "credential"?, "oauth2_server_uri"?, "scope"?},
     "s3": null | {"endpoint", "region", "access_key_id", "secret_access_key", "path_style"},
     "spark": {"master", "driver_memory", "conf": {...}, "jars": [...]}}
  fd 3: {"event": "ready", "spark_version", "startup_ms"}   (or {"event": "fatal", "error"})
  stdin, then: one request per line
    {"id": 1, "warm": [{"namespace", "table"}]?, "tables": [{"namespace", "table",
                          "rewrite": null | {"target_file_size_bytes"}, "rewrite_manifests": bool,
                          "expire": null | {"older_than_ms", "retain_last"},
                          "remove_orphans": null | {"older_than_ms"}}]}
  fd 3: {"event": "result", "id", "result": {"table", "actions": {name: {count: n}}, "durations_ms", "error"?}}
        per table, then {"event": "done", "id"}
  End of stdin: the session stops and the process exits.

Why these procedures and options (measured on DuckDB-written tables: docs/architecture.md):
DuckDB writes v2 position-delete files, one per touched data file per commit, and reads every live
one at each scan; their bounds are unusable, so Iceberg counts each against every data file.
rewrite_data_files picks files with deletes only with delete-file-threshold (and then picks them all);
remove-dangling-deletes removed nothing in our tests; rewrite_position_delete_files (rewrite-all)
turns the deletes into one scoped file per data file and drops those of files that are gone.
"""
from __future__ import annotations

import atexit
import json
import os
import sys
import time
from datetime import datetime, timezone

CATALOG = "lake"
# data files below this are compacted whenever a table is rewritten; larger ones only once 30 % of their rows are deleted
SMALL_FILE_BYTES = 8 * 1024 * 1024
T0 = time.monotonic()
REPLY = os.fdopen(3, "w", buffering=1)


def log(msg: str) -> None:
    sys.stderr.write(f"[spark-maintenance +{time.monotonic() - T0:.1f}s] {msg}\n")
    sys.stderr.flush()


def reply(doc: dict) -> None:
    REPLY.write(json.dumps(doc, default=str) + "\n")
    REPLY.flush()


def ms_since(t: float) -> int:
    return int(round((time.monotonic() - t) * 1000))


def log4j_config() -> str:
    """Spark and Iceberg at WARN, on stderr (the file goes when the driver exits)."""
    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"lakeloader-spark-log4j2-{os.getpid()}.properties")
    atexit.register(lambda: os.path.exists(path) and os.remove(path))
    with open(path, "w") as f:
        f.write("\n".join([
            "rootLogger.level = warn", "rootLogger.appenderRef.stderr.ref = console",
            "appender.console.type = Console", "appender.console.name = console", "appender.console.target = SYSTEM_ERR",
            "appender.console.layout.type = PatternLayout", "appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n",
            "logger.hadoop.name = org.apache.hadoop", "logger.hadoop.level = error",
            "",
        ]))
    return path


def build_session(settings: dict):
    from pyspark.sql import SparkSession

    spark_cfg, cat, s3 = settings["spark"], settings["catalog"], settings.get("s3")
    log4j = log4j_config()
    c = f"spark.sql.catalog.{CATALOG}"
    b = (SparkSession.builder.appName("lakeloader-maintenance")
         .master(spark_cfg.get("master") or "local[2]")
         .config("spark.driver.memory", spark_cfg.get("driver_memory") or "2g")
         # C1 only: maintenance is short work on a fresh JVM, where C2's compilation costs more than it saves
         .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log4j} -XX:TieredStopAtLevel=1")
         .config("spark.default.parallelism", "2")
         .config("spark.jars", ",".join(spark_cfg["jars"]))
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.shuffle.partitions", "4")
         # Iceberg's vectorized Parquet reader misreads some DuckDB-written integer columns (BigIntVector
         # cast to IntVector); the row reader is exact, and maintenance reads little
         .config("spark.sql.iceberg.vectorization.enabled", "false")
         .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
         .config(c, "org.apache.iceberg.spark.SparkCatalog")
         .config(f"{c}.type", "rest")
         .config(f"{c}.uri", cat["uri"])
         # the CDC consumer commits all the time: never work from a cached table
         .config(f"{c}.cache-enabled", "false"))
    if cat.get("warehouse"):
        b = b.config(f"{c}.warehouse", cat["warehouse"])
    if s3:
        b = (b.config(f"{c}.io-impl", "org.apache.iceberg.aws.s3.S3FileIO")
             .config(f"{c}.client.region", s3.get("region") or "us-east-1")
             .config(f"{c}.s3.path-style-access", "true" if s3.get("path_style") else "false"))
        if s3.get("endpoint"):
            b = b.config(f"{c}.s3.endpoint", s3["endpoint"])
    for k, v in (spark_cfg.get("conf") or {}).items():
        b = b.config(k, str(v))
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    # Secrets after the JVM started, so no command line (visible in ps) holds them; catalog options
    # are read when the catalog is first used.
    secrets = {"token": cat.get("token"), "credential": cat.get("credential"), "oauth2-server-uri": cat.get("oauth2_server_uri"), "scope": cat.get("scope")}
    if s3:
        secrets.update({"s3.access-key-id": s3.get("access_key_id"), "s3.secret-access-key": s3.get("secret_access_key")})
    for k, v in secrets.items():
        if v:
            spark.conf.set(f"{c}.{k}", v)
    return spark


def q(ident: str) -> str:
    return "`" + ident.replace("`", "``") + "`"


def sql_str(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ts_literal(ms: int) -> str:
    return "TIMESTAMP " + sql_str(datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3])


def options_map(opts: dict) -> str:
    return "map(" + ", ".join(f"{sql_str(k)}, {sql_str(str(v))}" for k, v in opts.items()) + ")"


def counts(row) -> dict:
    """The numeric columns of a procedure's result row."""
    return {k: v for k, v in row.asDict().items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def maintain(spark, req: dict, on_s3: bool) -> dict:
    parts = req["namespace"].split(".") + [req["table"]]
    tref = f"{CATALOG}." + ".".join(q(p) for p in parts)
    arg = sql_str(".".join(q(p) for p in parts))  # procedures take the table as a (quoted) identifier string
    result: dict = {"table": req["table"], "actions": {}, "durations_ms": {}}
    errors: list[str] = []

    def step(name: str, fn) -> None:
        t = time.monotonic()
        try:
            result["actions"][name] = fn()
        except Exception as e:  # py4j carries the Java exception's text
            errors.append(f"{name}: {error_text(e)}")
            log(f"{req['table']}: {name} failed: {errors[-1][:300]}")
        result["durations_ms"][name] = ms_since(t)

    rw = req.get("rewrite")
    if rw:
        target = int(rw["target_file_size_bytes"])
        # DuckDB's delete files carry no usable bounds: Iceberg counts each against every data file. Where
        # every data file is small, rewriting them all is cheap and leaves no delete file. Where some are
        # large, first rewrite the deletes into one scoped file per data file, so that only the small files
        # and those with 30 %+ of their rows deleted get rewritten; a large file with few deletes keeps one
        # merged delete file.
        # "large": not worth rewriting again and again for a few deletes (a bulk-loaded file of 60 MB is
        # below Spark's own small-file bound of 0.75 x target, and would otherwise be rewritten every cycle)
        small_limit = min(int(target * 0.75), SMALL_FILE_BYTES)
        step("plan", lambda: {"large_data_files": spark.sql(
            f"SELECT count(*) AS n FROM {tref}.data_files WHERE file_size_in_bytes >= {small_limit}").collect()[0]["n"]})
        large = result["actions"].get("plan", {}).get("large_data_files", 0)
        opts = {"target-file-size-bytes": target, "delete-file-threshold": 1, "min-input-files": 2}
        if large > 0 and not errors:
            step("rewrite_position_delete_files", lambda: counts(spark.sql(
                f"CALL {CATALOG}.system.rewrite_position_delete_files(table => {arg}, options => map('rewrite-all', 'true'))").collect()[0]))
            opts = {"target-file-size-bytes": target, "min-input-files": 2, "min-file-size-bytes": small_limit}
        if not errors:
            step("rewrite_data_files", lambda: counts(spark.sql(f"CALL {CATALOG}.system.rewrite_data_files(table => {arg}, options => {options_map(opts)})").collect()[0]))

        def leftover_deletes():
            # delete files whose data files are gone (a rewrite does not always drop them)
            dangling = spark.sql(f"SELECT count(*) AS n FROM {tref}.delete_files").collect()[0]["n"]
            if dangling == 0 or large > 0 and dangling <= large:
                return {"delete_files_left": dangling}
            return counts(spark.sql(f"CALL {CATALOG}.system.rewrite_position_delete_files(table => {arg}, options => map('rewrite-all', 'true'))").collect()[0])
        if not errors:
            step("remove_dangling_deletes", leftover_deletes)
    if req.get("rewrite_manifests") and not errors:
        step("rewrite_manifests", lambda: counts(spark.sql(f"CALL {CATALOG}.system.rewrite_manifests(table => {arg})").collect()[0]))
    ex = req.get("expire")
    if ex:
        step("expire_snapshots", lambda: counts(spark.sql(
            f"CALL {CATALOG}.system.expire_snapshots(table => {arg}, older_than => {ts_literal(int(ex['older_than_ms']))}, retain_last => {int(ex['retain_last'])})").collect()[0]))
    orphans = req.get("remove_orphans")
    if orphans:
        # S3FileIO lists prefixes itself (no hadoop-aws needed); locally Hadoop's file system lists
        listing = ", prefix_listing => true" if on_s3 else ""
        step("remove_orphan_files", lambda: {"orphan_files": len(spark.sql(
            f"CALL {CATALOG}.system.remove_orphan_files(table => {arg}, older_than => {ts_literal(int(orphans['older_than_ms']))}{listing})").collect())})
    if errors:
        result["error"] = "; ".join(e.splitlines()[0] for e in errors)
    return result


def error_text(e: BaseException) -> str:
    """The Java exception's own message (py4j wraps it in "An error occurred while calling oNN.sql." and a stack)."""
    lines = [line.strip().lstrip(": ").strip() for line in str(e).strip().splitlines()]
    lines = [line for line in lines if line and not line.startswith("at ") and not line.startswith("An error occurred while calling")]
    return "\n".join(lines[:4])[:1500] or type(e).__name__


def main() -> int:
    settings = json.loads(sys.stdin.readline())
    t = time.monotonic()
    try:
        spark = build_session(settings)
        import pyspark
        reply({"event": "ready", "spark_version": pyspark.__version__, "startup_ms": ms_since(t)})
    except Exception as e:
        reply({"event": "fatal", "error": error_text(e)})
        return 1
    on_s3 = bool(settings.get("s3"))
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            request = json.loads(line)
            if request.get("warm"):
                # the first procedure on a fresh JVM pays for class loading and the catalog: pay it before the consumer pauses
                for table in request["warm"]:
                    parts = table["namespace"].split(".") + [table["table"]]
                    try:
                        spark.sql(f"SELECT count(*) FROM {CATALOG}." + ".".join(q(p) for p in parts) + ".files").collect()
                    except Exception as e:
                        log(f"warm-up of {table['table']}: {error_text(e)}")
            for table in request.get("tables", []):
                try:
                    result = maintain(spark, table, on_s3)
                except Exception as e:
                    result = {"table": table["table"], "actions": {}, "durations_ms": {}, "error": error_text(e)}
                reply({"event": "result", "id": request["id"], "result": result})
            reply({"event": "done", "id": request["id"]})
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Turns the history benchmark's figures into console lines and its BENCHMARKS.md section, each figure next to its
target (met, or missed by how much)."""

from __future__ import annotations

from bench.report import preamble

CRAWLS_PER_DAY = 5760  # at the default CRAWL_INTERVAL of 15 s
GROWTH_TARGET = 20_000  # bytes per crawl
SIZE_TARGET = 2**30  # 30 days of 1,000 servers in PostgreSQL
PAGE_TARGET = 0.300  # model page p95, seconds
API_TARGET = 0.200  # history API p95, seconds
RAW_TABLES = ("explorer_crawl", "explorer_modelstat")  # what retention rolls up or deletes after RETENTION_RAW_DAYS


def _kb(size: float) -> str:
    return f"{size / 1000:.1f} KB"


def _mb(size: float) -> str:
    return f"{size / 1e6:.1f} MB"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def verdict(value: float, target: float, unit) -> str:
    if value <= target:
        return "met"
    return f"missed by {unit(value - target)} ({value / target:.1f}x)"


def per_day(growth: dict) -> dict[str, float]:
    """Bytes per day before retention, and what stays of a day once retention has rolled it up (older than
    RETENTION_RAW_DAYS): the hourly ServerSample rows, plus 24 hourly ModelStat rows per model instead of 5760."""
    edges = 86400 / 3600
    raw = growth["bytes_per_crawl"] * CRAWLS_PER_DAY + growth["bytes_hour_edge"] * edges
    per_row = growth["tables_per_crawl"].get("explorer_modelstat", 0) / max(1, growth["models"])
    kept = growth["bytes_hour_edge"] * edges + per_row * 24 * growth["models"]
    return {"raw": raw, "after_retention": kept}


def summary(backend: str, growth: dict, history: dict) -> str:
    lines = [f"{backend}: {growth['bytes_per_crawl']:.0f} B per crawl, {growth['bytes_hour_edge']:.0f} B per hour edge, "
             f"{per_day(growth)['raw'] / 1e6:.1f} MB per day; generated in {history['generated']['total_s']:.0f} s, "
             f"database {history['database_bytes'] / 1e6:.0f} MB"]
    for request in history["requests"]:
        lines.append(f"  {request['name']}: median {_ms(request['median_s'])}, p95 {_ms(request['p95_s'])}, "
                     f"{request['bytes'] / 1000:.0f} KB")
    parse = history["snapshot_parse"]
    lines.append(f"  latest_snapshot() read and parse: median {_ms(parse['median_s'])}, p95 {_ms(parse['p95_s'])}")
    return "\n".join(lines)


def _growth_rows(results: dict) -> list[str]:
    rows = []
    for backend, result in results.items():
        growth = result["growth"]
        days = per_day(growth)
        rows.append(f"| {backend} | {growth['bytes_per_crawl']:.0f} B | "
                    f"{verdict(growth['bytes_per_crawl'], GROWTH_TARGET, _kb)} | {_kb(growth['bytes_hour_edge'])} | "
                    f"{_mb(days['raw'])} | {_mb(days['after_retention'])} | {growth['store_s_per_crawl'] * 1000:.0f} ms |")
    return rows


def _growth_tables(results: dict) -> list[str]:
    rows = []
    for backend, result in results.items():
        tables = result["growth"]["tables_per_crawl"]
        listed = ", ".join(f"{name.removeprefix('explorer_')} {size:.0f} B" for name, size in
                           sorted(tables.items(), key=lambda item: -item[1]) if abs(size) >= 1)
        rows.append(f"- {backend}, per crawl by table (indexes included): {listed or 'nothing'}")
    return rows


def _size_rows(results: dict) -> list[str]:
    rows = []
    for backend, result in results.items():
        history = result["history"]
        size = history["database_bytes"]
        target = verdict(size, SIZE_TARGET, _mb) if backend == "postgresql" else "(target is for PostgreSQL)"
        on_disk = f", file {_mb(history['file_bytes'])}" if "file_bytes" in history else ""
        biggest = sorted(history["tables"].items(), key=lambda item: -item[1])[:5]
        rows.append(f"| {backend} | {_mb(size)}{on_disk} | {target} | {history['generated']['total_s']:.0f} s | "
                    + ", ".join(f"{name.removeprefix('explorer_')} {_mb(bytes_)} ({history['rows'].get(name, 0):,} rows)"
                                for name, bytes_ in biggest) + " |")
    return rows


def _request_rows(results: dict) -> list[str]:
    rows = []
    for backend, result in results.items():
        for request in result["history"]["requests"]:
            target = PAGE_TARGET if request["name"].startswith("model page") else (
                API_TARGET if request["name"].startswith("history API") else None)
            check = verdict(request["p95_s"], target, _ms) if target else "(no target)"
            rows.append(f"| {backend} | {request['name']} | {_ms(request['median_s'])} | {_ms(request['p95_s'])} | "
                        f"{_ms(target) if target else '-'} | {check} | {request['bytes'] / 1000:.0f} KB |")
        parse = result["history"]["snapshot_parse"]
        rows.append(f"| {backend} | latest_snapshot() alone (every page pays it) | {_ms(parse['median_s'])} | "
                    f"{_ms(parse['p95_s'])} | - | (part of each page) | - |")
    return rows


def section(command: str, args, results: dict, elapsed: float) -> str:
    any_history = next(iter(results.values()))["history"]["generated"]
    rows = any_history["rows"]
    return "\n".join([
        "## History at scale",
        "",
        preamble(command, f"whole run {elapsed:.0f} s"),
        f"### Growth per crawl: {args.servers} unchanged servers over 10 models, CRAWL_INTERVAL 15 s",
        "",
        f"The same snapshot (`make_swarm({args.servers}).snapshot()`) stored by `store_crawl` {args.warmup} times, "
        f"then {args.crawls} measured crawls inside one hour, then the first crawl of the next hour (which writes "
        "one ServerSample per server). PostgreSQL: `VACUUM` before each measurement, and after each crawl on the two "
        "tables every crawl rewrites (the LatestSnapshot row, ~850 KB of JSON kept compressed in TOAST, and the models' "
        "`last_seen`), which is what autovacuum does within `autovacuum_naptime` (1 min, about 4 crawls): the old "
        "versions become free space the next crawls reuse, so the files stop growing; `pg_database_size` counts "
        "files, free space included, so what remains is real growth. SQLite: pages in use "
        "(`page_count - freelist_count`) after a WAL checkpoint; a rewritten row's old pages go to the freelist and "
        "are reused at once.",
        "",
        "| database | per crawl | target ≤ 20 KB | per hour edge (samples) | per day, before retention | per day kept after retention | store_crawl time |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *_growth_rows(results),
        "",
        *_growth_tables(results),
        "",
        "Per day = per crawl × 5760 + hour edge × 24. Retention (hourly task) rolls per-crawl ModelStat rows older "
        "than RETENTION_RAW_DAYS (7) into hourly rows and deletes Crawl rows older than that, so an older day keeps "
        "its 24 × 1,000 ServerSample rows and 24 ModelStat rows per model.",
        "",
        f"### {args.days:g} days of history for {args.servers} servers",
        "",
        "Generated by `bench/history_generator.py` in the shapes retention leaves at the default settings, ending now: "
        f"{rows['crawls']:,} Crawl rows and per-crawl ModelStat rows for the last 7 days, hourly ModelStat rows before "
        f"({rows['model_stats']:,} ModelStat rows in all), {rows['samples']:,} ServerSample rows (one per server per "
        f"hour), {rows['state_changes']:,} state changes and {rows['sessions']:,} sessions (each online server "
        "restarts every 2 days on average: gone for 1-10 minutes, then joining, 1 in 5 with another span; and is "
        "unreachable for 1-10 minutes twice a day), outages of 5-30 minutes per model, a not-runnable route probe per "
        f"model every 5 minutes ({rows['probes']:,}) and a consistency check per model per hour "
        f"({rows['consistency_checks']:,}), as with no PROBE_MODELS; then one real `store_crawl` (the latest snapshot) "
        "and one `apply_retention`, which found "
        f"{rows['last_crawl_and_retention']} rows to roll up or delete. Rows go in by COPY (PostgreSQL) or "
        "executemany (SQLite), row for row what bulk_create would write; bulk_create itself spent 90% of its time "
        "compiling SQL per value.",
        "",
        "| database | size | target ≤ 1 GB | generated in | biggest tables (indexes included) |",
        "| --- | --- | --- | --- | --- |",
        *_size_rows(results),
        "",
        f"### Pages and history API over it ({args.repeats} requests each, after one warm-up)",
        "",
        "Through Django's test Client in one process (middleware, view, template and serialisation; no HTTP server, "
        "no network); the model page of one model, the server page of an online server that restarted and flapped "
        "over the whole period.",
        "",
        "| database | request | median | p95 | target (p95) | verdict | response |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *_request_rows(results),
        "",
    ])

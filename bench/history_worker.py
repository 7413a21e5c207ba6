"""One phase of the history benchmark in a process of its own, whose environment names one fresh database: migrate,
then `growth` (store crawls of an unchanged swarm) or `history` (generate days of history, then time pages and the
API over it). Prints its figures as one JSON line. Run by bench.history_scale, not by hand."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

RESULT_PREFIX = "HISTORY-SCALE-RESULT "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("growth", "history"))
    parser.add_argument("--servers", type=int, required=True)
    parser.add_argument("--crawls", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    result: dict = {"vendor": connection.vendor}
    if args.phase == "growth":
        from bench.history_growth import measure_growth

        result.update(measure_growth(args.servers, args.crawls, args.warmup))
    else:
        from bench.history_databases import database_bytes, file_bytes, settle, table_bytes, table_rows
        from bench.history_generator import generate_history
        from bench.history_timing import time_requests, time_snapshot_parse

        result["generated"] = generated = generate_history(args.servers, args.days)
        started = time.perf_counter()
        settle()  # PostgreSQL: VACUUM, which also sets the visibility map and statistics autovacuum would
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE" if connection.vendor == "postgresql" else "PRAGMA optimize")
        result["settle_s"] = time.perf_counter() - started
        result.update(database_bytes=database_bytes(), tables=table_bytes(), rows=table_rows())
        if connection.vendor == "sqlite":
            result["file_bytes"] = file_bytes()
        result["requests"] = time_requests(generated["model"], generated["peer_id"], args.repeats)
        result["snapshot_parse"] = time_snapshot_parse(args.repeats)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

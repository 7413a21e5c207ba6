"""The databases the history benchmark measures: a fresh SQLite file or PostgreSQL database per phase, created and
dropped by the benchmark, and how much of it is in use (whole database and per table)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def fresh_database(backend: str, postgres_name: str) -> Iterator[dict[str, str]]:
    """The environment a worker process needs to use a new, empty database of `backend`; dropped afterwards."""
    var_dir = tempfile.mkdtemp(prefix="history-scale-")
    env = {"VAR_DIR": var_dir}
    try:
        if backend == "postgresql":
            _postgres(f'DROP DATABASE IF EXISTS "{postgres_name}" WITH (FORCE)', f'CREATE DATABASE "{postgres_name}"')
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{postgres_name}"
        yield env
    finally:
        if backend == "postgresql":
            _postgres(f'DROP DATABASE IF EXISTS "{postgres_name}" WITH (FORCE)')
        shutil.rmtree(var_dir, ignore_errors=True)


def _postgres(*statements: str, deadline_s: float = 120.0) -> None:
    """Runs statements on the maintenance database; waits (up to `deadline_s`) while the server has no free
    connection slot, which other programs on a shared server can use up for a while."""
    import psycopg

    give_up = time.monotonic() + deadline_s
    while True:
        try:
            admin = psycopg.connect(os.environ.get("HISTORY_SCALE_ADMIN_URL", POSTGRES_ADMIN_URL), autocommit=True)
            break
        except psycopg.OperationalError as error:
            if "too many clients" not in str(error) or time.monotonic() > give_up:
                raise
            time.sleep(1.0)
    with admin:
        for statement in statements:
            admin.execute(statement)


# Inside a worker (Django set up) -------------------------------------------------------------------------------------
def settle() -> None:
    """Makes the on-disk figures mean live data: PostgreSQL VACUUM (dead tuples become free space; the files do
    not shrink), SQLite WAL checkpoint (the log folded into the file)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def vacuum_table(table: str) -> None:
    """PostgreSQL only: VACUUM one table (what autovacuum does for a table whose rows are rewritten)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'VACUUM "{table}"')


def database_bytes() -> int:
    """PostgreSQL: pg_database_size (files on disk, free space inside them included). SQLite: pages in use
    ((page_count - freelist_count) * page_size), so pages freed by deletes and rewrites do not count."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
        values = []
        for pragma in ("page_count", "freelist_count", "page_size"):
            cursor.execute(f"PRAGMA {pragma}")
            values.append(int(cursor.fetchone()[0]))
        return (values[0] - values[1]) * values[2]


def file_bytes() -> int:
    """SQLite only: the database file's size on disk (after a checkpoint), free pages included."""
    from django.db import connection

    return os.path.getsize(connection.settings_dict["NAME"])


def table_bytes() -> dict[str, int]:
    """Bytes per explorer table, its indexes (and PostgreSQL TOAST) included."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT relname, pg_total_relation_size(oid) FROM pg_class "
                           "WHERE relkind = 'r' AND relname LIKE 'explorer\\_%'")
        else:
            cursor.execute("SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat s JOIN sqlite_master m ON s.name = m.name "
                           "WHERE m.tbl_name LIKE 'explorer\\_%' ESCAPE '\\' GROUP BY m.tbl_name")
        return {name: int(size) for name, size in cursor.fetchall()}


def table_rows() -> dict[str, int]:
    from django.apps import apps

    return {model._meta.db_table: model.objects.count() for model in apps.get_app_config("explorer").get_models()}
